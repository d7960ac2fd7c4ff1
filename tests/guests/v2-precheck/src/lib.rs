//! A contract v2 precheck probe: accepts up to `max` seats and rejects
//! above; an `other` action is rejected naming the platform's text;
//! `fail_bytes` answers `plugin-error::failed` with a message that long
//! (two-byte characters, to test cutting on a character boundary). A
//! config that does not parse is `invalid-config`, at call and at bind time.
use tollgate_plugin::{ActionType, Context, Error, Precheck, Request, Result, Verdict};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    max: i64,
    #[serde(default)]
    fail_bytes: usize,
}

struct Probe;

impl Precheck for Probe {
    fn check(request: &Request, context: &Context) -> Result<Verdict> {
        let config: Config = context.config()?;
        if config.fail_bytes > 0 {
            return Err(Error::new("é".repeat(config.fail_bytes / 2)));
        }
        if request.action == ActionType::Other {
            return Ok(Verdict::reject(
                -151,
                format!("Action {} is not handled.", request.action_text),
            ));
        }
        if request.quantity > config.max {
            return Ok(Verdict::reject(
                -150,
                format!("At most {} seats.", config.max),
            ));
        }
        Ok(Verdict::Accept)
    }
}

tollgate_plugin::export_precheck!(Probe, config = Config);
