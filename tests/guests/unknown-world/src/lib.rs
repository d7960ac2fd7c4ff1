//! A component of a world Tollgate does not know: refused at upload.
wit_bindgen::generate!({
    inline: "package evil:plugin; world elsewhere { export run: func() -> string; }",
});
struct Other;
impl Guest for Other {
    fn run() -> String {
        "hello".into()
    }
}
export!(Other);
