//! Typed helpers over the generated records: attributes, add-ons, account,
//! configuration, results, host functions and time arithmetic.

use crate::wit::{
    Account, ActionType, Addon, Attribute, ConfigError, Context, Limits, LogLevel, PlanOutcome,
    PluginError, QuantityTarget, Rejection, Request, ResourceTotal, ResourceValue,
    SubscriptionInfo, SubscriptionStatus, Verdict,
};
use core::fmt;

/// Business-rule codes Tollgate documents (the platform shows the message).
/// A rejection must use a code in -199..=-100.
pub mod codes {
    /// A customer may hold at most one active subscription of the service.
    pub const ONE_ACTIVE_SUBSCRIPTION: i32 = -101;
    /// A prerequisite service is not active for the customer.
    pub const PREREQUISITE_MISSING: i32 = -102;
    /// Below the minimum quantity (also used by the host for `quantity-limits`).
    pub const BELOW_MINIMUM: i32 = -105;
    /// Above the maximum quantity (also used by the host for `quantity-limits`).
    pub const ABOVE_MAXIMUM: i32 = -106;
    /// Cancellation requested outside the allowed window.
    pub const CANCELLATION_WINDOW: i32 = -107;
    /// Quantity is not a multiple of the allowed step (host, `quantity-limits`).
    pub const OFF_STEP: i32 = -108;
    /// Lowest code a rejection may use.
    pub const MIN: i32 = -199;
    /// Highest code a rejection may use.
    pub const MAX: i32 = -100;
}

/// A rejection's code, checked against the business-rule range in native
/// builds, so `cargo test` catches a wrong code before the host refuses the
/// answer (`invalid-output`).
fn business_code(code: i32) -> i32 {
    #[cfg(not(target_arch = "wasm32"))]
    assert!(
        (codes::MIN..=codes::MAX).contains(&code),
        "rejection code {code} is outside the business-rule range -199..=-100 (see tollgate_plugin::codes)"
    );
    code
}

/// What went wrong inside a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The binding's configuration does not fit the plugin (reported as
    /// `invalid-config`, with [`Error::path`]).
    Config,
    /// An attribute or value in the request cannot be read as expected.
    Attribute,
    /// Anything else.
    Other,
}

/// A plugin error. Returning one is a *plugin failure*, not a refusal: the
/// host logs it (kind `plugin-error`, or `invalid-config` for
/// [`ErrorKind::Config`]) and the binding's failure policy decides the
/// answer. To refuse an order, answer [`Verdict::reject`] or
/// [`Plan::refuse`](crate::Plan::refuse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of problem it is.
    pub kind: ErrorKind,
    /// A sentence saying what went wrong.
    pub message: String,
    /// For [`ErrorKind::Config`]: where in the configuration, as a JSON path
    /// (`$.products.cb_basic.min`; `$` for the whole document).
    pub path: String,
}

impl Error {
    /// A general error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Other,
            message: message.into(),
            path: String::new(),
        }
    }

    /// The binding's configuration is unusable as a whole.
    pub fn config(message: impl Into<String>) -> Self {
        Error::config_at("$", message)
    }

    /// The binding's configuration is unusable at `path` (a JSON path such
    /// as `$.products.cb_basic.min`).
    pub fn config_at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Config,
            message: message.into(),
            path: path.into(),
        }
    }

    /// The contract's form of this error.
    pub fn into_plugin_error(self) -> PluginError {
        match self.kind {
            ErrorKind::Config => PluginError::InvalidConfig(ConfigError {
                path: self.path,
                message: self.message,
            }),
            _ => PluginError::Failed(self.to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Config => write!(f, "invalid binding config at {}: ", self.path)?,
            ErrorKind::Attribute => f.write_str("invalid attribute: ")?,
            ErrorKind::Other => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::config_at(e.path, e.message)
    }
}

/// The result type of every hook function.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Verdict {
    /// Reject with a business-rule `code` (-199..=-100, see [`codes`]) and a
    /// complete sentence the platform shows to the user.
    ///
    /// # Panics
    /// In native builds (`cargo test`), when `code` is outside the range.
    pub fn reject(code: i32, message: impl Into<String>) -> Verdict {
        Verdict::Reject(Rejection {
            code: business_code(code),
            message: message.into(),
        })
    }

    /// True when this verdict accepts.
    pub fn is_accept(&self) -> bool {
        matches!(self, Verdict::Accept)
    }
}

impl Limits {
    /// Only a minimum.
    pub fn min(min: i64) -> Limits {
        Limits {
            min: Some(min),
            max: None,
            step: None,
        }
    }

    /// Only a maximum.
    pub fn max(max: i64) -> Limits {
        Limits {
            min: None,
            max: Some(max),
            step: None,
        }
    }

    /// A closed range.
    pub fn range(min: i64, max: i64) -> Limits {
        Limits {
            min: Some(min),
            max: Some(max),
            step: None,
        }
    }

    /// The same limits with a step.
    pub fn with_step(mut self, step: i64) -> Limits {
        self.step = Some(step);
        self
    }
}

impl PlanOutcome {
    /// Provision these absolute totals.
    pub fn totals(totals: Vec<ResourceTotal>) -> PlanOutcome {
        PlanOutcome::Totals(totals)
    }

    /// Refuse the call with a business-rule `code` (-199..=-100) and a
    /// sentence the platform shows to the user; nothing is provisioned.
    ///
    /// # Panics
    /// In native builds (`cargo test`), when `code` is outside the range.
    pub fn refuse(code: i32, message: impl Into<String>) -> PlanOutcome {
        PlanOutcome::Refuse(Rejection {
            code: business_code(code),
            message: message.into(),
        })
    }

    /// The totals, or `None` for a refusal.
    pub fn as_totals(&self) -> Option<&[ResourceTotal]> {
        match self {
            PlanOutcome::Totals(list) => Some(list),
            PlanOutcome::Refuse(_) => None,
        }
    }
}

impl From<Vec<ResourceTotal>> for PlanOutcome {
    fn from(totals: Vec<ResourceTotal>) -> Self {
        PlanOutcome::Totals(totals)
    }
}

impl ResourceTotal {
    /// A numeric total (exact; written as a decimal string).
    pub fn amount(id: impl Into<String>, value: impl fmt::Display) -> ResourceTotal {
        ResourceTotal {
            id: id.into(),
            value: ResourceValue::Amount(value.to_string()),
        }
    }

    /// An on/off feature.
    pub fn feature(id: impl Into<String>, on: bool) -> ResourceTotal {
        ResourceTotal {
            id: id.into(),
            value: ResourceValue::Feature(on),
        }
    }

    /// A text value (e.g. a region code).
    pub fn text(id: impl Into<String>, value: impl Into<String>) -> ResourceTotal {
        ResourceTotal {
            id: id.into(),
            value: ResourceValue::Text(value.into()),
        }
    }
}

impl Attribute {
    /// The value as an integer (`""` counts as 0).
    pub fn as_i64(&self) -> Result<i64> {
        let text = self.value.trim();
        if text.is_empty() {
            return Ok(0);
        }
        text.parse().map_err(|_| Error {
            kind: ErrorKind::Attribute,
            message: format!(
                "attribute `{}` is {:?}, not an integer",
                self.id, self.value
            ),
            path: String::new(),
        })
    }

    /// The value as a boolean feature: `"1"` or `"true"` (any case) is on,
    /// anything else off.
    pub fn as_bool(&self) -> bool {
        let text = self.value.trim();
        text == "1" || text.eq_ignore_ascii_case("true")
    }

    /// The drop-down choice: `code`, or `value` when `code` is empty.
    pub fn choice(&self) -> &str {
        if self.code.is_empty() {
            &self.value
        } else {
            &self.code
        }
    }
}

fn find<'a>(attributes: &'a [Attribute], id: &str) -> Option<&'a Attribute> {
    attributes.iter().find(|a| a.id == id)
}

impl Request {
    /// The subscription's attribute `id`.
    pub fn attribute(&self, id: &str) -> Option<&Attribute> {
        find(&self.attributes, id)
    }

    /// The subscription's attribute `id` as an integer; `None` when absent.
    pub fn attribute_i64(&self, id: &str) -> Result<Option<i64>> {
        self.attribute(id).map(Attribute::as_i64).transpose()
    }

    /// The subscription's boolean attribute `id` (absent = off).
    pub fn attribute_bool(&self, id: &str) -> bool {
        self.attribute(id).is_some_and(Attribute::as_bool)
    }

    /// The subscription's drop-down attribute `id` (its code).
    pub fn attribute_choice(&self, id: &str) -> Option<&str> {
        self.attribute(id).map(Attribute::choice)
    }

    /// Add-ons that stay or are being provisioned: every add-on except the
    /// one being cancelled.
    pub fn active_addons(&self) -> impl Iterator<Item = &Addon> {
        self.addons
            .iter()
            .filter(|a| a.action != ActionType::Cancel)
    }

    /// Add-ons with the given action (e.g. [`ActionType::Provision`] for the
    /// ones being created or changed by this call).
    pub fn addons_with(&self, action: ActionType) -> impl Iterator<Item = &Addon> {
        self.addons.iter().filter(move |a| a.action == action)
    }

    /// The add-on with product id `product_id`.
    pub fn addon(&self, product_id: &str) -> Option<&Addon> {
        self.addons.iter().find(|a| a.product_id == product_id)
    }

    /// A partner setting value (`X-CloudPlatform-Setting-<id>`), matched
    /// ignoring case as HTTP headers are.
    pub fn setting(&self, id: &str) -> Option<&str> {
        lookup(&self.settings, id, true)
    }

    /// A `CustomFieldValues` entry.
    pub fn custom_field(&self, id: &str) -> Option<&str> {
        lookup(&self.custom_fields, id, false)
    }

    /// The change in the subscription's quantity (new total minus stored
    /// total); the whole quantity when nothing was stored.
    pub fn quantity_delta(&self) -> i64 {
        self.quantity
            .saturating_sub(self.previous_quantity.unwrap_or(0))
    }
}

impl Addon {
    /// This add-on's attribute `id`.
    pub fn attribute(&self, id: &str) -> Option<&Attribute> {
        find(&self.attributes, id)
    }

    /// True unless this add-on is being cancelled by the call.
    pub fn is_active(&self) -> bool {
        self.action != ActionType::Cancel
    }
}

impl QuantityTarget {
    /// This target's attribute `id`.
    pub fn attribute(&self, id: &str) -> Option<&Attribute> {
        find(&self.attributes, id)
    }
}

impl Account {
    /// A sync option value (e.g. `"username"`).
    pub fn sync_option(&self, id: &str) -> Option<&str> {
        lookup(&self.sync_options, id, false)
    }

    /// True when the account belongs to a reseller.
    pub fn has_reseller(&self) -> bool {
        self.reseller_id.as_deref().is_some_and(|r| !r.is_empty())
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str, ignore_case: bool) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| {
            if ignore_case {
                k.eq_ignore_ascii_case(key)
            } else {
                k == key
            }
        })
        .map(|(_, v)| v.as_str())
}

/// Milliseconds in a day, for [`days_between`].
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// Whole days from `earlier` to `later` (both milliseconds since the Unix
/// epoch), rounded down; negative when `later` is before `earlier`.
pub fn days_between(earlier: i64, later: i64) -> i64 {
    later.saturating_sub(earlier).div_euclid(MILLIS_PER_DAY)
}

impl Context {
    /// Parse the binding's configuration into your own serde type. An error
    /// is [`ErrorKind::Config`] with the JSON path of the problem; returned
    /// with `?` it reaches the host as `invalid-config`.
    ///
    /// ```no_run
    /// # use tollgate_plugin::{Context, Result};
    /// #[derive(serde::Deserialize)]
    /// struct Config { max_days: i64 }
    /// # fn f(context: &Context) -> Result<()> {
    /// let config: Config = context.config()?; // a readable error if it does not fit
    /// # Ok(()) }
    /// ```
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        self.config_borrowed()
    }

    /// Like [`Context::config`], for a type that borrows from the config
    /// text (`&str` fields and map keys): no allocation per string, which
    /// matters because the config is parsed on every call.
    pub fn config_borrowed<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T> {
        parse_config(&self.config).map_err(Error::from)
    }
}

/// Parse a configuration (JSON text; empty means `{}`) into `T`, or say
/// where and why it does not fit.
pub fn parse_config<'a, T: serde::Deserialize<'a>>(
    text: &'a str,
) -> core::result::Result<T, ConfigError> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    // The config is parsed on every call and almost always fits: parse it
    // plainly, and only a config that does not fit again with its path
    // tracked (tracking allocates every key it passes: 0.55 µs of a 6.2 µs
    // min/max decision, ARCHITECTURE.md §Performance).
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| ConfigError {
        path: json_path(e.path()),
        message: without_position(&e.inner().to_string()),
    })?;
    de.end().map_err(|e| ConfigError {
        path: "$".into(),
        message: without_position(&e.to_string()),
    })?;
    Ok(value)
}

/// What the SDK's `validate-config` export answers for config type `T`:
/// the configuration parses into `T`, or where and why it does not.
pub fn validate_config<'a, T: serde::Deserialize<'a>>(
    text: &'a str,
) -> core::result::Result<(), ConfigError> {
    parse_config::<T>(text).map(drop)
}

/// `$.products.cb_basic.min`, `$.tiers[2]`, `$["a key"]`; `$` for the root.
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push('.');
                    out.push_str(key);
                } else {
                    out.push_str(&format!("[{key:?}]"));
                }
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// serde_json's message without its " at line 1 column 23": the path says
/// where.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

impl SubscriptionInfo {
    /// True while the subscription counts as held: active or suspended.
    pub fn is_held(&self) -> bool {
        self.status != SubscriptionStatus::Cancelled
    }
}

/// Write a line to this call's plugin log (kept with the decision).
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::precheck_world::tollgate::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    testing::record_log(level, message);
}

/// The subscriptions the calling customer holds with this tenant (any
/// status), newest first; at most 1000. The subscription the call is about
/// is among them (a create's is not stored yet).
pub fn customer_subscriptions() -> Vec<SubscriptionInfo> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::precheck_world::tollgate::plugin::host::customer_subscriptions()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::subscriptions()
    }
}

/// Log at `info` level with `format!` syntax.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Info, &format!($($arg)*)) };
}

/// Log at `warn` level with `format!` syntax.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Warn, &format!($($arg)*)) };
}

/// Log at `error` level with `format!` syntax.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Error, &format!($($arg)*)) };
}

/// Stand-ins for the host functions when a plugin's tests run natively
/// (`cargo test`): set the customer's subscriptions, read the log lines.
pub mod testing {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static SUBSCRIPTIONS: RefCell<Vec<SubscriptionInfo>> = const { RefCell::new(Vec::new()) };
        static LOG: RefCell<Vec<(LogLevel, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// What [`customer_subscriptions`](crate::customer_subscriptions) returns
    /// in native tests on this thread.
    pub fn set_customer_subscriptions(subscriptions: Vec<SubscriptionInfo>) {
        SUBSCRIPTIONS.with(|s| *s.borrow_mut() = subscriptions);
    }

    /// Take the lines logged so far on this thread.
    pub fn take_log() -> Vec<(LogLevel, String)> {
        LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
    }

    #[allow(dead_code)]
    pub(crate) fn subscriptions() -> Vec<SubscriptionInfo> {
        SUBSCRIPTIONS.with(|s| s.borrow().clone())
    }

    #[allow(dead_code)]
    pub(crate) fn record_log(level: LogLevel, message: &str) {
        LOG.with(|l| l.borrow_mut().push((level, message.to_string())));
    }

    /// A minimal request for tests: a Subscriptions/Create of `product_id`
    /// with `quantity` for account "1"; change fields as needed.
    pub fn request(product_id: &str, quantity: i64) -> Request {
        Request {
            operation: crate::Operation::SubscriptionCreate,
            check_only: true,
            subscription_id: String::new(),
            platform_subscription_id: "00000000-0000-0000-0000-000000000001".into(),
            product_id: product_id.into(),
            service_type: String::new(),
            action: ActionType::Provision,
            action_text: "Provision".into(),
            quantity,
            previous_quantity: None,
            is_trial: false,
            attributes: Vec::new(),
            addons: Vec::new(),
            account: Account {
                id: "1".into(),
                external_id: None,
                reseller_id: None,
                reseller_external_id: None,
                name: String::new(),
                code: String::new(),
                email: String::new(),
                country_code: String::new(),
                is_test: false,
                sync_options: Vec::new(),
            },
            settings: Vec::new(),
            custom_fields: Vec::new(),
        }
    }

    /// A context at time `now` (ms since the epoch) with `config` JSON.
    pub fn context(now: i64, config: &str) -> Context {
        Context {
            now,
            config: config.into(),
            binding: "test".into(),
            track_id: String::new(),
        }
    }

    /// An attribute for tests.
    pub fn attribute(id: &str, value: &str, quantity_linked: bool) -> Attribute {
        Attribute {
            id: id.into(),
            name: id.into(),
            value: value.into(),
            code: String::new(),
            quantity_linked,
        }
    }

    /// A subscription the customer holds, for [`set_customer_subscriptions`].
    pub fn subscription(
        product_id: &str,
        service_type: &str,
        status: SubscriptionStatus,
        created_at: i64,
    ) -> SubscriptionInfo {
        SubscriptionInfo {
            subscription_id: format!("SUB-{product_id}-{created_at}"),
            product_id: product_id.into(),
            service_type: service_type.into(),
            status,
            quantity: 1,
            is_trial: false,
            created_at,
        }
    }

    /// An add-on for tests: `quantity` of `product_id` with `action`.
    pub fn addon(product_id: &str, action: ActionType, quantity: i64) -> Addon {
        Addon {
            product_id: product_id.into(),
            name: product_id.into(),
            action,
            action_text: String::new(),
            quantity,
            previous_quantity: None,
            attributes: Vec::new(),
        }
    }

    /// A target for `quantity-limits` tests.
    pub fn target(product_id: &str, quantity: i64) -> QuantityTarget {
        QuantityTarget {
            kind: crate::TargetKind::Subscription,
            product_id: product_id.into(),
            quantity,
            previous_quantity: None,
            attributes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Range {
        min: Option<i64>,
        max: Option<i64>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        #[serde(default)]
        products: std::collections::BTreeMap<String, Range>,
        #[serde(default)]
        tiers: Vec<i64>,
    }

    #[test]
    fn config_errors_name_their_json_path() {
        let e = validate_config::<Config>(r#"{"products": {"cb_basic": {"min": "three"}}}"#)
            .unwrap_err();
        assert_eq!(e.path, "$.products.cb_basic.min");
        assert!(
            e.message.starts_with("invalid type: string"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("line"), "{}", e.message);
        let e = validate_config::<Config>(r#"{"tiers": [1, "x"]}"#).unwrap_err();
        assert_eq!(e.path, "$.tiers[1]");
        let e = validate_config::<Config>(r#"{"produts": {}}"#).unwrap_err();
        assert_eq!(e.path, "$.produts", "an unknown key names itself");
        assert!(
            e.message.contains("unknown field `produts`"),
            "{}",
            e.message
        );
        let e = validate_config::<Config>(r#"{"products": {"a b": {"max": true}}}"#).unwrap_err();
        assert_eq!(e.path, r#"$.products["a b"].max"#);
        assert!(validate_config::<Config>(r#"{"products": {"x": {"min": 1}}}"#).is_ok());
        assert!(validate_config::<Config>("").is_ok(), "no config is {{}}");
        assert!(validate_config::<Config>("{} x").is_err(), "trailing text");
    }

    #[test]
    fn any_config_is_any_object() {
        assert!(validate_config::<crate::AnyConfig>(r#"{"whatever": [1, 2]}"#).is_ok());
        assert!(validate_config::<crate::AnyConfig>("[1]").is_err());
        assert!(validate_config::<crate::AnyConfig>("not json").is_err());
    }

    #[test]
    fn errors_become_the_contracts_plugin_error() {
        let context = testing::context(0, r#"{"tiers": "x"}"#);
        let e = context.config::<Config>().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert_eq!(
            e.clone().into_plugin_error(),
            PluginError::InvalidConfig(ConfigError {
                path: "$.tiers".into(),
                message: e.message.clone()
            })
        );
        assert_eq!(
            Error::new("no price list").into_plugin_error(),
            PluginError::Failed("no price list".into())
        );
    }

    #[test]
    #[should_panic(expected = "outside the business-rule range")]
    fn a_rejection_code_outside_the_range_fails_native_tests() {
        let _ = Verdict::reject(-50, "No.");
    }

    #[test]
    #[should_panic(expected = "outside the business-rule range")]
    fn a_refusal_code_outside_the_range_fails_native_tests() {
        let _ = PlanOutcome::refuse(-2, "No.");
    }

    #[test]
    fn refusals_and_totals() {
        assert_eq!(
            PlanOutcome::refuse(-110, "No."),
            PlanOutcome::Refuse(Rejection {
                code: -110,
                message: "No.".into()
            })
        );
        let plan: PlanOutcome = vec![ResourceTotal::amount("seats", 3)].into();
        assert_eq!(plan.as_totals().map(<[_]>::len), Some(1));
    }
}
