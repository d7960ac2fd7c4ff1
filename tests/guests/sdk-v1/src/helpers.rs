//! Typed helpers over the generated records: attributes, add-ons, account,
//! configuration, results, host functions and time arithmetic.

use crate::wit::{
    Account, ActionType, Addon, Attribute, Context, Limits, LogLevel, QuantityTarget, Rejection,
    Request, ResourceTotal, ResourceValue, SubscriptionInfo, SubscriptionStatus, Verdict,
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

/// What went wrong inside a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The binding's configuration does not fit the plugin.
    Config,
    /// An attribute or value in the request cannot be read as expected.
    Attribute,
    /// The request cannot be served: a `resources` plugin answers the
    /// platform Code -2 with the message.
    InvalidRequest,
    /// Anything else.
    Other,
}

/// A plugin error. Returning one is a *plugin failure* (logged; the binding's
/// failure policy decides the answer), except [`Error::invalid_request`] from
/// a `resources` plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of problem it is.
    pub kind: ErrorKind,
    /// A sentence saying what went wrong.
    pub message: String,
}

impl Error {
    /// A general error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Other,
            message: message.into(),
        }
    }

    /// The request cannot be served (answered to the platform as Code -2).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::InvalidRequest,
            message: message.into(),
        }
    }

    /// The binding's configuration is unusable.
    pub fn config(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Config,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Config => "invalid binding config: ",
            ErrorKind::Attribute => "invalid attribute: ",
            ErrorKind::InvalidRequest => "invalid request: ",
            ErrorKind::Other => "",
        };
        write!(f, "{what}{}", self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::config(error.to_string())
    }
}

/// The result type of every hook function.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Verdict {
    /// Reject with a business-rule `code` (-199..=-100, see [`codes`]) and a
    /// complete sentence the platform shows to the user.
    pub fn reject(code: i32, message: impl Into<String>) -> Verdict {
        Verdict::Reject(Rejection {
            code,
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
    /// Parse the binding's configuration into your own serde type.
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
}

impl Context {
    /// Like [`Context::config`], for a type that borrows from the config
    /// text (`&str` fields and map keys): no allocation per string, which
    /// matters because the config is parsed on every call.
    pub fn config_borrowed<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T> {
        let text = if self.config.trim().is_empty() {
            "{}"
        } else {
            &self.config
        };
        serde_json::from_str(text).map_err(|e| {
            Error::config(format!(
                "binding `{}`: {e} (config: {})",
                self.binding, self.config
            ))
        })
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
