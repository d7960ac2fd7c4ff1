//! `resources` plugin: the storage a subscription gets, as absolute totals.
//! Like the built-in calculation for `storage_gb` (quantity-linked values
//! multiplied, cancelled add-ons excluded), plus a free base allowance per
//! subscription, an `immutable` feature if any owner enables it, and the
//! region code of the `datacenter` drop-down.
//!
//! ```json
//! { "base_gb": 10, "default_region": "eu-west" }
//! ```

use tollgate_plugin::{Context, Error, Request, ResourceTotal, Resources, Result};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config {
    base_gb: i64,
    default_region: Option<String>,
}

pub struct StorageResources;

fn storage(attribute: Option<&tollgate_plugin::Attribute>, quantity: i64) -> Result<i64> {
    let Some(a) = attribute else { return Ok(0) };
    let value = a.as_i64().map_err(|e| Error::invalid_request(e.message))?;
    if value < 0 {
        return Err(Error::invalid_request(format!(
            "storage_gb is negative ({value})"
        )));
    }
    Ok(if a.quantity_linked {
        value * quantity
    } else {
        value
    })
}

impl Resources for StorageResources {
    fn plan(request: &Request, context: &Context) -> Result<Vec<ResourceTotal>> {
        let config: Config = context.config()?;
        let mut total =
            config.base_gb + storage(request.attribute("storage_gb"), request.quantity)?;
        let mut immutable = request.attribute_bool("immutable_backup");
        for addon in request.active_addons() {
            total += storage(addon.attribute("storage_gb"), addon.quantity)?;
            immutable |= addon
                .attribute("immutable_backup")
                .is_some_and(|a| a.as_bool());
        }
        let region = request
            .attribute_choice("datacenter")
            .map(str::to_string)
            .or(config.default_region)
            .unwrap_or_default();
        Ok(vec![
            ResourceTotal::amount("storage_gb", total),
            ResourceTotal::feature("immutable_backup", immutable),
            ResourceTotal::text("region", region),
        ])
    }
}

tollgate_plugin::export_resources!(StorageResources);

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin::testing::*;
    use tollgate_plugin::{ActionType, Addon, ResourceValue};

    #[test]
    fn base_plus_linked_storage_and_addons() {
        let mut r = request("cb_basic", 12);
        r.attributes = vec![
            attribute("storage_gb", "20", true),
            attribute("immutable_backup", "0", false),
        ];
        r.addons = vec![Addon {
            product_id: "vault".into(),
            name: String::new(),
            action: ActionType::Provision,
            quantity: 3,
            previous_quantity: None,
            attributes: vec![
                attribute("storage_gb", "40", true),
                attribute("immutable_backup", "1", false),
            ],
        }];
        let plan = StorageResources::plan(&r, &context(0, r#"{"base_gb": 10}"#)).unwrap();
        assert_eq!(plan[0].value, ResourceValue::Amount("370".into()));
        assert_eq!(plan[1].value, ResourceValue::Feature(true));
    }

    #[test]
    fn garbage_is_an_invalid_request() {
        let mut r = request("cb_basic", 1);
        r.attributes = vec![attribute("storage_gb", "lots", true)];
        let err = StorageResources::plan(&r, &context(0, "{}")).unwrap_err();
        assert_eq!(err.kind, tollgate_plugin::ErrorKind::InvalidRequest);
    }
}
