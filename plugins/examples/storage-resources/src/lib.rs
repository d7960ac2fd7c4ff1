//! `resources` plugin: the storage a subscription gets, as absolute totals.
//! Like the built-in calculation for `storage_gb` (quantity-linked values
//! multiplied, cancelled add-ons excluded), plus a free base allowance per
//! subscription, an `immutable` feature if any owner enables it, and the
//! region code of the `datacenter` drop-down.
//!
//! ```json
//! { "base_gb": 10, "default_region": "eu-west" }
//! ```

use tollgate_plugin::{Context, Plan, Request, ResourceTotal, Resources, Result};

/// The refusal for a storage value that cannot be provisioned.
const BAD_STORAGE: i32 = -110;

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config {
    base_gb: i64,
    default_region: Option<String>,
}

pub struct StorageResources;

/// The storage an owner contributes, or the refusal's message.
fn storage(
    attribute: Option<&tollgate_plugin::Attribute>,
    quantity: i64,
) -> core::result::Result<i64, String> {
    let Some(a) = attribute else { return Ok(0) };
    let value = a.as_i64().map_err(|e| e.message)?;
    if value < 0 {
        return Err(format!("storage_gb is negative ({value})."));
    }
    Ok(if a.quantity_linked {
        value * quantity
    } else {
        value
    })
}

impl Resources for StorageResources {
    fn plan(request: &Request, context: &Context) -> Result<Plan> {
        let config: Config = context.config()?;
        let mut total = config.base_gb;
        let mut immutable = request.attribute_bool("immutable_backup");
        let owners = std::iter::once((request.attribute("storage_gb"), request.quantity)).chain(
            request
                .active_addons()
                .map(|a| (a.attribute("storage_gb"), a.quantity)),
        );
        for (attribute, quantity) in owners {
            match storage(attribute, quantity) {
                Ok(gb) => total += gb,
                Err(message) => return Ok(Plan::refuse(BAD_STORAGE, message)),
            }
        }
        for addon in request.active_addons() {
            immutable |= addon
                .attribute("immutable_backup")
                .is_some_and(|a| a.as_bool());
        }
        let region = request
            .attribute_choice("datacenter")
            .map(str::to_string)
            .or(config.default_region)
            .unwrap_or_default();
        Ok(Plan::totals(vec![
            ResourceTotal::amount("storage_gb", total),
            ResourceTotal::feature("immutable_backup", immutable),
            ResourceTotal::text("region", region),
        ]))
    }
}

tollgate_plugin::export_resources!(StorageResources, config = Config);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::*;
    use tollgate_plugin::{ActionType, ResourceValue};

    #[test]
    fn base_plus_linked_storage_and_addons() {
        let mut r = request("cb_basic", 12);
        r.attributes = vec![
            attribute("storage_gb", "20", true),
            attribute("immutable_backup", "0", false),
        ];
        let mut vault = addon("vault", ActionType::Provision, 3);
        vault.attributes = vec![
            attribute("storage_gb", "40", true),
            attribute("immutable_backup", "1", false),
        ];
        r.addons = vec![vault];
        let plan = StorageResources::plan(&r, &context(0, r#"{"base_gb": 10}"#)).unwrap();
        let plan = plan.as_totals().unwrap();
        assert_eq!(plan[0].value, ResourceValue::Amount("370".into()));
        assert_eq!(plan[1].value, ResourceValue::Feature(true));
    }

    #[test]
    fn garbage_is_refused() {
        let mut r = request("cb_basic", 1);
        r.attributes = vec![attribute("storage_gb", "lots", true)];
        let plan = StorageResources::plan(&r, &context(0, "{}")).unwrap();
        assert!(
            matches!(&plan, Plan::Refuse(r) if r.code == BAD_STORAGE && r.message.contains("storage_gb")),
            "{plan:?}"
        );
    }
}
