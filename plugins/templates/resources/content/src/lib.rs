//! {{name}}: a `resources` rule. Called on real (not check-only) calls that
//! change a subscription; returns the absolute total of every resource to
//! provision. Totals are set, never added: a repeated call is harmless.

use tollgate_plugin::{Context, Plan, Request, ResourceTotal, Resources, Result};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config {
    /// Mailboxes granted per seat.
    mailboxes_per_seat: i64,
}

pub struct Rule;

impl Resources for Rule {
    fn plan(request: &Request, context: &Context) -> Result<Plan> {
        let config: Config = context.config()?;
        let per_seat = config.mailboxes_per_seat.max(1);
        // An add-on "extra_mailboxes" adds its quantity, unless it is being
        // cancelled by this call.
        let extra: i64 = request
            .active_addons()
            .filter(|a| a.product_id == "extra_mailboxes")
            .map(|a| a.quantity)
            .sum();
        if request.quantity > 100_000 {
            // A refusal: the platform shows the message; nothing is provisioned.
            return Ok(Plan::refuse(-110, "More than 100000 seats cannot be provisioned."));
        }
        Ok(Plan::totals(vec![
            ResourceTotal::amount("mailboxes", request.quantity * per_seat + extra),
            ResourceTotal::feature("archiving", request.attribute_bool("archiving")),
        ]))
    }
}

// `config = Config`: a binding whose config does not parse into `Config` is
// refused when it is saved, naming the JSON path of the problem.
tollgate_plugin::export_resources!(Rule, config = Config);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::{attribute, context, request};
    use tollgate_plugin::ResourceValue;

    #[test]
    fn mailboxes_per_seat() {
        let mut r = request("mail_pro", 10);
        r.attributes = vec![attribute("archiving", "1", false)];
        let plan = Rule::plan(&r, &context(0, r#"{"mailboxes_per_seat": 2}"#)).unwrap();
        let plan = plan.as_totals().unwrap();
        assert_eq!(plan[0].value, ResourceValue::Amount("20".into()));
        assert_eq!(plan[1].value, ResourceValue::Feature(true));
    }
}
