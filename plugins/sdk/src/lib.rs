//! # Writing a Tollgate plugin
//!
//! A Tollgate plugin is a small Rust library compiled to a WebAssembly
//! component (`cargo build --target wasm32-wasip2 --release`). It implements
//! exactly one **hook**; the tenant uploads it and binds it, and from the next
//! platform call on Tollgate runs it in a sandbox for every decision.
//!
//! | hook | trait | export macro | answers |
//! |---|---|---|---|
//! | `precheck` | [`Precheck`] | [`export_precheck!`] | accept, or reject with a code in -199..=-100 and a message |
//! | `quantity-limits` | [`QuantityLimits`] | [`export_quantity_limits!`] | `{min, max, step}` for the quantity being set; the host enforces it |
//! | `resources` | [`Resources`] | [`export_resources!`] | the absolute resource totals to provision, or a refusal |
//!
//! The SDK implements contract `tollgate:plugin@2.0.0` ([`CONTRACT_VERSION`]).
//! Implement the trait on a unit struct and export it:
//!
//! ```no_run
//! use tollgate_plugin::{Context, Precheck, Request, Result, Verdict};
//!
//! struct NoTestAccounts;
//!
//! impl Precheck for NoTestAccounts {
//!     fn check(request: &Request, _context: &Context) -> Result<Verdict> {
//!         if request.account.is_test {
//!             return Ok(Verdict::reject(-120, "Test accounts cannot buy this service."));
//!         }
//!         Ok(Verdict::Accept)
//!     }
//! }
//!
//! tollgate_plugin::export_precheck!(NoTestAccounts);
//! ```
//!
//! ## What a plugin sees
//!
//! * [`Request`]: the platform's call as typed data: operation, check-only flag,
//!   product, service type, quantity (and the stored previous quantity),
//!   attributes, every add-on with its action, the account, the partner's
//!   setting values.
//! * [`Context`]: the decision's time ([`Context::now`], milliseconds since the
//!   Unix epoch; the WASI clocks read it too), the binding's configuration
//!   ([`Context::config`] parses it into your own serde type), the binding name
//!   and the platform's TrackId.
//! * [`customer_subscriptions`]: the subscriptions the customer already holds
//!   with this tenant (read-only).
//! * [`log`] and the [`info!`]/[`warn!`]/[`error!`] macros: lines kept in the
//!   decision log (4 KiB per call by default, then truncated with a marker).
//!
//! ## What a plugin cannot do
//!
//! No real clock, randomness, files, environment variables or network reach a
//! plugin: the same input always gives the same output, so every decision can
//! be replayed. `SystemTime::now()` returns the decision's time, random
//! numbers are seeded from the input, and sleeping returns at once.
//!
//! Each call runs under limits (defaults: 10,000,000 fuel, 100 ms, 16 MiB
//! memory, 512 KiB wasm stack, 64 KiB output). A plugin that exceeds one, or
//! panics, or returns an [`Error`], is a *plugin failure*: the binding's
//! failure policy decides whether the call is rejected (default) or the rule
//! skipped. An [`Error`] is reported as a value (kind `plugin-error`, or
//! `invalid-config` with the JSON path for [`Context::config`] errors), not
//! a crash.
//!
//! ## Configuration
//!
//! Name your config type in the export macro
//! (`export_precheck!(Rule, config = Config)`): when a tenant saves a
//! binding, Tollgate asks the plugin, and a configuration that does not
//! parse into `Config` is refused there, with its JSON path
//! (`$.products.cb_basic.min`), instead of failing every call.
//!
//! ## Testing
//!
//! The rule is plain Rust, so `cargo test` runs it natively; host functions
//! have test stand-ins there (see [`testing`]). `tollgate plugin test FILE.wasm
//! fixtures/` runs the compiled component on fixture files under the
//! production engine and limits.

#![warn(missing_docs)]

mod helpers;

pub use helpers::*;

/// Generated bindings of the `precheck` world; also the home of the shared
/// types and host imports. Not part of the stable API: use the re-exports.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod precheck_world {
    wit_bindgen::generate!({
        path: "wit",
        world: "precheck",
        additional_derives: [PartialEq, Eq],
        pub_export_macro: true,
        export_macro_name: "__export_precheck_world",
        default_bindings_module: "tollgate_plugin::precheck_world",
    });
}

/// Generated bindings of the `quantity-limits` world.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod quantity_limits_world {
    wit_bindgen::generate!({
        path: "wit",
        world: "quantity-limits",
        with: {
            "tollgate:plugin/types@2.0.0": crate::precheck_world::tollgate::plugin::types,
            "tollgate:plugin/host@2.0.0": crate::precheck_world::tollgate::plugin::host,
        },
        pub_export_macro: true,
        export_macro_name: "__export_quantity_limits_world",
        default_bindings_module: "tollgate_plugin::quantity_limits_world",
    });
}

/// Generated bindings of the `resources` world.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod resources_world {
    wit_bindgen::generate!({
        path: "wit",
        world: "resources",
        with: {
            "tollgate:plugin/types@2.0.0": crate::precheck_world::tollgate::plugin::types,
            "tollgate:plugin/host@2.0.0": crate::precheck_world::tollgate::plugin::host,
        },
        pub_export_macro: true,
        export_macro_name: "__export_resources_world",
        default_bindings_module: "tollgate_plugin::resources_world",
    });
}

use precheck_world::tollgate::plugin::types as wit;

pub use wit::{
    Account, ActionType, Addon, Attribute, ConfigError, Context, Limits, LogLevel, Operation,
    PlanOutcome, PluginError, QuantityTarget, Rejection, Request, ResourceTotal, ResourceValue,
    SubscriptionInfo, SubscriptionStatus, TargetKind, Verdict,
};

/// What a [`Resources`] rule answers: the totals to provision, or a
/// refusal ([`Plan::refuse`]).
pub type Plan = PlanOutcome;

/// The contract version this SDK implements (the WIT package version).
pub const CONTRACT_VERSION: &str = "2.0.0";

/// The configuration type of a plugin that declares none: any JSON object.
pub type AnyConfig = serde_json::Map<String, serde_json::Value>;

/// A `precheck` rule: accept or reject a Subscriptions/* or Addons/* call.
///
/// Called in check mode and again in real mode (state may have changed in
/// between). Several precheck bindings run in priority order; the first
/// rejection answers the platform.
///
/// ```no_run
/// use tollgate_plugin::{codes, Context, Operation, Precheck, Request, Result, Verdict};
///
/// #[derive(serde::Deserialize)]
/// struct Config { max: i64 }
///
/// struct OnlyCreate;
/// impl Precheck for OnlyCreate {
///     fn check(request: &Request, context: &Context) -> Result<Verdict> {
///         if request.operation != Operation::SubscriptionCreate {
///             return Ok(Verdict::Accept);
///         }
///         let config: Config = context.config()?;
///         if request.quantity > config.max {
///             return Ok(Verdict::reject(codes::ABOVE_MAXIMUM, "This order needs a quote."));
///         }
///         Ok(Verdict::Accept)
///     }
/// }
/// tollgate_plugin::export_precheck!(OnlyCreate, config = Config);
/// ```
pub trait Precheck {
    /// Decide. `Err` is a plugin failure (a bug or bad configuration), not a
    /// rejection: use [`Verdict::reject`] to refuse the order.
    fn check(request: &Request, context: &Context) -> Result<Verdict>;
}

/// A `quantity-limits` rule: the allowed quantity for the subscription or for
/// one add-on. The host enforces what you return, with its own messages:
/// below `min` is Code -105, above `max` -106, off `step` -108.
///
/// Called once per quantity being set: the subscription's on
/// Subscriptions/Create, Update, UpgradeToPaid and UpgradeDowngrade, and each
/// add-on with action `provision` on Addons/Create and Addons/Update.
///
/// ```no_run
/// use tollgate_plugin::{Context, Limits, QuantityLimits, QuantityTarget, Request, Result};
///
/// struct AtLeastThree;
/// impl QuantityLimits for AtLeastThree {
///     fn limits(_: &Request, target: &QuantityTarget, _: &Context) -> Result<Option<Limits>> {
///         Ok(match target.product_id.as_str() {
///             "cb_basic" => Some(Limits::min(3)),
///             _ => None,
///         })
///     }
/// }
/// tollgate_plugin::export_quantity_limits!(AtLeastThree);
/// ```
pub trait QuantityLimits {
    /// Return the limits for `target`, or `None` for "no opinion".
    fn limits(
        request: &Request,
        target: &QuantityTarget,
        context: &Context,
    ) -> Result<Option<Limits>>;
}

/// A `resources` rule: compute the absolute totals to provision for a real
/// (not check-only) call, or refuse it. Totals are absolute, never
/// increments: Tollgate sets them, so a repeated call is harmless.
///
/// ```no_run
/// use tollgate_plugin::{Context, Plan, Request, Resources, ResourceTotal, Result};
///
/// struct Seats;
/// impl Resources for Seats {
///     fn plan(request: &Request, _: &Context) -> Result<Plan> {
///         if request.quantity > 1000 {
///             return Ok(Plan::refuse(-110, "More than 1000 seats need a dedicated cluster."));
///         }
///         Ok(Plan::totals(vec![ResourceTotal::amount("seats", request.quantity)]))
///     }
/// }
/// tollgate_plugin::export_resources!(Seats);
/// ```
pub trait Resources {
    /// Return every resource total ([`Plan::totals`]) or a business refusal
    /// ([`Plan::refuse`], answered to the platform with your code and
    /// message). `Err` is a plugin failure.
    fn plan(request: &Request, context: &Context) -> Result<Plan>;
}

/// Export a [`Precheck`] implementation as this component's `precheck` hook.
///
/// `export_precheck!(Rule, config = Config)` also checks bindings'
/// configurations when they are saved: one that does not parse into
/// `Config` (a serde type) is refused, naming its JSON path. Without
/// `config = …` any JSON object is accepted.
#[macro_export]
macro_rules! export_precheck {
    ($rule:ty) => {
        $crate::export_precheck!($rule, config = $crate::AnyConfig);
    };
    ($rule:ty, config = $config:ty) => {
        const _: () = {
            struct __TollgateExport;
            impl $crate::precheck_world::Guest for __TollgateExport {
                fn check(
                    request: $crate::Request,
                    context: $crate::Context,
                ) -> ::core::result::Result<$crate::Verdict, $crate::PluginError> {
                    let answer = <$rule as $crate::Precheck>::check(&request, &context);
                    $crate::__private::finish(answer, (request, context))
                }
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::ConfigError> {
                    $crate::validate_config::<$config>(&config)
                }
            }
            $crate::precheck_world::__export_precheck_world!(
                __TollgateExport with_types_in $crate::precheck_world
            );
        };
    };
}

/// Export a [`QuantityLimits`] implementation as this component's
/// `quantity-limits` hook; `config = Config` as for [`export_precheck!`].
#[macro_export]
macro_rules! export_quantity_limits {
    ($rule:ty) => {
        $crate::export_quantity_limits!($rule, config = $crate::AnyConfig);
    };
    ($rule:ty, config = $config:ty) => {
        const _: () = {
            struct __TollgateExport;
            impl $crate::quantity_limits_world::Guest for __TollgateExport {
                fn limits(
                    request: $crate::Request,
                    target: $crate::QuantityTarget,
                    context: $crate::Context,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::Limits>,
                    $crate::PluginError,
                > {
                    let answer =
                        <$rule as $crate::QuantityLimits>::limits(&request, &target, &context);
                    $crate::__private::finish(answer, (request, target, context))
                }
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::ConfigError> {
                    $crate::validate_config::<$config>(&config)
                }
            }
            $crate::quantity_limits_world::__export_quantity_limits_world!(
                __TollgateExport with_types_in $crate::quantity_limits_world
            );
        };
    };
}

/// Export a [`Resources`] implementation as this component's `resources`
/// hook; `config = Config` as for [`export_precheck!`].
#[macro_export]
macro_rules! export_resources {
    ($rule:ty) => {
        $crate::export_resources!($rule, config = $crate::AnyConfig);
    };
    ($rule:ty, config = $config:ty) => {
        const _: () = {
            struct __TollgateExport;
            impl $crate::resources_world::Guest for __TollgateExport {
                fn plan(
                    request: $crate::Request,
                    context: $crate::Context,
                ) -> ::core::result::Result<$crate::Plan, $crate::PluginError> {
                    let answer = <$rule as $crate::Resources>::plan(&request, &context);
                    $crate::__private::finish(answer, (request, context))
                }
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::ConfigError> {
                    $crate::validate_config::<$config>(&config)
                }
            }
            $crate::resources_world::__export_resources_world!(
                __TollgateExport with_types_in $crate::resources_world
            );
        };
    };
}

#[doc(hidden)]
pub mod __private {
    use super::{PluginError, Result};

    /// An author's `Err` becomes the contract's `plugin-error`: reported as
    /// a value (the host logs it and applies the failure policy), never a
    /// trap.
    ///
    /// The call's `input` is left unfreed: the host runs every call in a
    /// fresh instance and discards it after the answer, so freeing the
    /// request's strings and lists one by one would only cost time (≈ 0.2 µs
    /// of a 5.7 µs min/max decision, ARCHITECTURE.md §Performance).
    pub fn finish<T, I>(result: Result<T>, input: I) -> core::result::Result<T, PluginError> {
        core::mem::forget(input);
        result.map_err(|error| error.into_plugin_error())
    }
}
