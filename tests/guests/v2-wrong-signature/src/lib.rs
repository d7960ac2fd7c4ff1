//! Exports `validate-config` (so it reads as contract v2) but a `check` of
//! the wrong shape: refused at upload, naming tollgate:plugin@2.0.0.
wit_bindgen::generate!({
    inline: "package evil:plugin;
             world wrong {
                 export check: func(quantity: u32) -> u32;
                 export validate-config: func(config: string) -> result<_, string>;
             }",
});
struct Wrong;
impl Guest for Wrong {
    fn check(quantity: u32) -> u32 {
        quantity
    }
    fn validate_config(_: String) -> Result<(), String> {
        Ok(())
    }
}
export!(Wrong);
