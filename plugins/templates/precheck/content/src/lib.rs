//! {{name}}: a `precheck` rule. Called for every Subscriptions/* and
//! Addons/* call, in check mode and again in real mode. Accept, or reject
//! with a business code in -199..=-100 and a sentence the customer reads.

use tollgate_plugin::{Context, Operation, Precheck, Request, Result, Verdict};

/// The binding's configuration (`"config"` of the binding), parsed on
/// every call: keep it small.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The largest order accepted on Subscriptions/Create.
    max_quantity: i64,
}

pub struct Rule;

impl Precheck for Rule {
    fn check(request: &Request, context: &Context) -> Result<Verdict> {
        if request.operation != Operation::SubscriptionCreate {
            return Ok(Verdict::Accept);
        }
        let config: Config = context.config()?;
        if request.quantity > config.max_quantity {
            tollgate_plugin::info!("rejecting {} seats of {}", request.quantity, request.product_id);
            return Ok(Verdict::reject(
                -150,
                format!("Orders above {} seats need a quote; please contact sales.", config.max_quantity),
            ));
        }
        Ok(Verdict::Accept)
    }
}

// `config = Config`: a binding whose config does not parse into `Config` is
// refused when it is saved, naming the JSON path of the problem.
tollgate_plugin::export_precheck!(Rule, config = Config);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::{context, request};

    #[test]
    fn large_orders_are_rejected() {
        let verdict = Rule::check(&request("cb_basic", 500), &context(0, r#"{"max_quantity": 100}"#)).unwrap();
        assert!(matches!(verdict, Verdict::Reject(r) if r.code == -150));
    }

    #[test]
    fn small_orders_pass() {
        assert!(Rule::check(&request("cb_basic", 5), &context(0, r#"{"max_quantity": 100}"#)).unwrap().is_accept());
    }
}
