//! Exports `check` with the wrong signature: refused at upload.
wit_bindgen::generate!({
    inline: "package evil:plugin; world wrong { export check: func(quantity: u32) -> u32; }",
});
struct Wrong;
impl Guest for Wrong {
    fn check(quantity: u32) -> u32 {
        quantity
    }
}
export!(Wrong);
