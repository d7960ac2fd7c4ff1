//! `precheck` plugin — example rule 5: no cancellation more than N days
//! after the initial purchase. Checked on Subscriptions/Cancel, using the
//! creation time Tollgate stored and the decision's time (`context.now`);
//! answers Code -107.
//!
//! ```json
//! { "max_days": 30 }
//! ```

use tollgate_plugin::{
    Context, Operation, Precheck, Request, Result, Verdict, codes, days_between,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    max_days: i64,
}

pub struct CancellationWindow;

impl Precheck for CancellationWindow {
    fn check(request: &Request, context: &Context) -> Result<Verdict> {
        if request.operation != Operation::SubscriptionCancel {
            return Ok(Verdict::Accept);
        }
        let config: Config = context.config()?;
        let Some(bought) = tollgate_plugin::customer_subscriptions()
            .into_iter()
            .find(|s| s.subscription_id == request.subscription_id)
        else {
            // Not ours to judge: the host answers unknown subscriptions.
            return Ok(Verdict::Accept);
        };
        let days = days_between(bought.created_at, context.now);
        Ok(if days > config.max_days {
            Verdict::reject(
                codes::CANCELLATION_WINDOW,
                format!(
                    "Subscription {} can only be cancelled within {} days of purchase; it was bought {days} days ago.",
                    request.subscription_id, config.max_days
                ),
            )
        } else {
            Verdict::Accept
        })
    }
}

tollgate_plugin::export_precheck!(CancellationWindow, config = Config);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::*;
    use tollgate_plugin::{MILLIS_PER_DAY, SubscriptionStatus};

    fn cancel() -> Request {
        let mut r = request("cb", 5);
        r.operation = Operation::SubscriptionCancel;
        r.subscription_id = "SUB-cb-0".into();
        r
    }

    #[test]
    fn inside_and_outside_the_window() {
        set_customer_subscriptions(vec![subscription(
            "cb",
            "cloudbackup",
            SubscriptionStatus::Active,
            0,
        )]);
        let cfg = r#"{"max_days": 30}"#;
        assert!(
            CancellationWindow::check(&cancel(), &context(30 * MILLIS_PER_DAY, cfg))
                .unwrap()
                .is_accept()
        );
        let v = CancellationWindow::check(&cancel(), &context(31 * MILLIS_PER_DAY, cfg)).unwrap();
        assert!(
            matches!(v, Verdict::Reject(r) if r.code == -107 && r.message.contains("31 days ago"))
        );
    }

    #[test]
    fn a_missing_max_days_is_a_config_error() {
        set_customer_subscriptions(vec![]);
        let err = CancellationWindow::check(&cancel(), &context(0, "{}")).unwrap_err();
        assert!(
            err.to_string().contains("missing field `max_days`"),
            "{err}"
        );
    }
}
