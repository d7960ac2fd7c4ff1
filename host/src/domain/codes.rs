//! The `Code` values Tollgate answers (spec §3.2, plus Tollgate's own
//! state-rule codes). The README's code table is generated from the same
//! list in `TABLE`, and a test keeps them in step.

pub const SUCCESS: i32 = 0;
/// Generic failure: unauthorized, unsupported endpoint, unknown path, a
/// failed plugin under the `reject` policy, an internal error.
pub const FAILURE: i32 = -1;
/// Accounts/Exists only: the account exists.
pub const EXISTS: i32 = 1;
/// The request parsed but is invalid (missing or ill-typed field, negative
/// quantity, missing required setting, unparseable attribute value).
pub const INVALID: i32 = -2;
/// A referenced object is unknown (subscription, add-on, account).
pub const UNKNOWN: i32 = -3;
/// Temporarily unavailable (a plugin queue bound, the answer deadline, a
/// subscription changed by many calls at once, the database file locked by
/// another process): retrying later may
/// succeed. A server shutting down accepts no new connection instead.
pub const UNAVAILABLE: i32 = -4;
/// The subscription is cancelled and cannot be changed any more.
pub const CANCELLED: i32 = -5;
/// Accounts/Delete refused: the account still has subscriptions that are
/// not cancelled.
pub const ACCOUNT_IN_USE: i32 = -6;
/// One active subscription per customer (example rule 1).
pub const ONE_ACTIVE_SUBSCRIPTION: i32 = -101;
/// Prerequisite service missing (example rule 2).
pub const PREREQUISITE_MISSING: i32 = -102;
/// Quantity below the minimum.
pub const BELOW_MINIMUM: i32 = -105;
/// Quantity above the maximum.
pub const ABOVE_MAXIMUM: i32 = -106;
/// Cancellation outside the allowed window (example rule 5).
pub const CANCELLATION_WINDOW: i32 = -107;
/// Quantity not on the allowed step.
pub const OFF_STEP: i32 = -108;

/// Every code with its meaning, for documentation.
pub const TABLE: &[(i32, &str)] = &[
    (SUCCESS, "Success."),
    (
        EXISTS,
        "Accounts/Exists only: the account exists; `Result` holds its id.",
    ),
    (
        FAILURE,
        "Generic failure: unauthorized (HTTP 401), unknown path (404), unsupported endpoint (Users, Assets, Pay-per-use), a plugin failure under the `reject` policy (a fixed sentence naming the rule, what went wrong in general terms and the TrackId; the details stay in the tenant's decision log), an internal error (500).",
    ),
    (
        INVALID,
        "The request is invalid: malformed JSON or a wrong type (HTTP 400), a missing required field, a negative quantity, a missing required setting, an unparseable attribute value. The message names the field.",
    ),
    (
        UNKNOWN,
        "A referenced subscription, add-on or account is unknown to this installation (or the account was deleted: synchronize it again).",
    ),
    (
        UNAVAILABLE,
        "Temporarily unavailable (HTTP 503 with Retry-After): overloaded — a plugin queue bound, the answer deadline (8 s), a subscription changed by many calls at once, or the database file locked by another process. Nothing was written; retry later.",
    ),
    (
        CANCELLED,
        "The subscription is cancelled: it cannot be updated, suspended, activated, upgraded or given add-ons.",
    ),
    (
        ACCOUNT_IN_USE,
        "Accounts/Delete refused: the account still has subscriptions that are not cancelled (the message says how many). Cancel them first; nothing was changed.",
    ),
    (
        ONE_ACTIVE_SUBSCRIPTION,
        "Business rule: the customer already holds an active subscription of this service.",
    ),
    (
        PREREQUISITE_MISSING,
        "Business rule: a prerequisite service is not active for the customer.",
    ),
    (
        BELOW_MINIMUM,
        "Business rule: the quantity is below the minimum (quantity-limits).",
    ),
    (
        ABOVE_MAXIMUM,
        "Business rule: the quantity is above the maximum (quantity-limits, or the catalogue's QuantityLimit).",
    ),
    (
        CANCELLATION_WINDOW,
        "Business rule: cancellation is outside the allowed window.",
    ),
    (
        OFF_STEP,
        "Business rule: the quantity is not on the allowed step (quantity-limits).",
    ),
    (
        -199,
        "…-100: the whole range is for business rules; a `precheck` plugin picks its code in it.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's code table lists every code with the same meaning.
    #[test]
    fn the_readme_documents_every_code() {
        let readme = include_str!("../../../README.md");
        for (code, meaning) in TABLE {
            let row = format!("| {code} | {meaning} |");
            assert!(readme.contains(&row), "README.md lacks the row:\n{row}");
        }
    }
}
