//! The tenant documents Tollgate publishes to the platform: the catalogue
//! (`ProductTypeCollection`, served by `Fields/ServiceDefinition`) and the
//! setup fields (`Fields/Get`) with the sync options (`Accounts/SyncOptions`).
//! Keys are the interworks spelling (spec §5.6, §4.1, §4.2). Parsing fills
//! every missing key with its default, so what Tollgate serves always has
//! every key; unknown keys are dropped; the result is deterministic.

use super::CodecError;
use crate::domain::catalog::{AddonProduct, AttributeKind, Catalog, Product, ProductType};
use crate::domain::setup::{FieldKind, SettingField, SetupFields, valid_field_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn null() -> Value {
    Value::Null
}

/// `ProductTypeCollection`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogDoc {
    #[serde(rename = "ProductTypes", default)]
    pub product_types: Vec<ProductTypeDoc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductTypeDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "PortalUrl")]
    pub portal_url: Option<String>,
    #[serde(rename = "AllowMultipleSubscriptions")]
    pub allow_multiple_subscriptions: bool,
    #[serde(rename = "EnforceCustomerRequestUpdate")]
    pub enforce_customer_request_update: bool,
    #[serde(rename = "AutoExecuteAddonCancelRequest")]
    pub auto_execute_addon_cancel_request: bool,
    #[serde(rename = "AutoExecuteSubscriptionCancelRequest")]
    pub auto_execute_subscription_cancel_request: bool,
    #[serde(rename = "AutoExecuteSubscriptionDowngradeRequest")]
    pub auto_execute_subscription_downgrade_request: bool,
    #[serde(rename = "QuantityLimit")]
    pub quantity_limit: i64,
    #[serde(rename = "QuantityLimitLocked")]
    pub quantity_limit_locked: bool,
    #[serde(rename = "Scope")]
    pub scope: i64,
    #[serde(rename = "SplitQuantity")]
    pub split_quantity: bool,
    #[serde(rename = "DefineProductState")]
    pub define_product_state: bool,
    #[serde(rename = "Derivative")]
    pub derivative: i64,
    #[serde(rename = "ServiceLinks")]
    pub service_links: Vec<Value>,
    #[serde(rename = "Restrictions")]
    pub restrictions: Vec<i64>,
    #[serde(rename = "ParentAttributeExceptions")]
    pub parent_attribute_exceptions: Vec<Value>,
    #[serde(rename = "ProductTypeDependencies")]
    pub product_type_dependencies: Vec<DependencyDoc>,
    #[serde(rename = "ExtraParameters")]
    pub extra_parameters: BTreeMap<String, String>,
    #[serde(rename = "RuleList")]
    pub rule_list: Vec<Value>,
    #[serde(rename = "Icon", default = "null")]
    pub icon: Value,
    #[serde(rename = "ExtraInfo", default = "null")]
    pub extra_info: Value,
    #[serde(rename = "CustomFieldCollection", default = "null")]
    pub custom_field_collection: Value,
    #[serde(rename = "AssemblyExtension", default = "null")]
    pub assembly_extension: Value,
    #[serde(rename = "AttributeList")]
    pub attribute_list: Vec<AttributeDefinitionDoc>,
    #[serde(rename = "ProductsCollection")]
    pub products_collection: ProductsCollectionDoc,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DependencyDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "AutoProvision")]
    pub auto_provision: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AttributeDefinitionDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SortOrder")]
    pub sort_order: i64,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Usage")]
    pub usage: String,
    #[serde(rename = "UsageSpecified")]
    pub usage_specified: bool,
    #[serde(rename = "Kind")]
    pub kind: String,
    #[serde(rename = "KindSpecified")]
    pub kind_specified: bool,
    #[serde(rename = "IsRequired")]
    pub is_required: bool,
    #[serde(rename = "IsSyncLocked")]
    pub is_sync_locked: i64,
    #[serde(rename = "LinkedToQuantity")]
    pub linked_to_quantity: bool,
    #[serde(rename = "AllowUnlimited")]
    pub allow_unlimited: bool,
    #[serde(rename = "PredefinedValues")]
    pub predefined_values: Vec<Value>,
    #[serde(rename = "ExtraParameters", default = "null")]
    pub extra_parameters: Value,
    #[serde(rename = "SliderMin")]
    pub slider_min: i64,
    #[serde(rename = "SliderMax")]
    pub slider_max: i64,
    #[serde(rename = "SliderStep")]
    pub slider_step: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductsCollectionDoc {
    #[serde(rename = "Products")]
    pub products: Vec<ProductDoc>,
    #[serde(rename = "Addons")]
    pub addons: Vec<AddonDoc>,
}

/// A product: the keys Tollgate reads are typed; the rest (billing options,
/// prices, related products…) are kept as given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Attributes")]
    pub attributes: Vec<Value>,
    #[serde(rename = "ChargeType")]
    pub charge_type: i64,
    #[serde(rename = "UnitType")]
    pub unit_type: String,
    #[serde(rename = "ExternalBilling")]
    pub external_billing: bool,
    #[serde(rename = "ExternalBillingType")]
    pub external_billing_type: i64,
    #[serde(rename = "UnitBillingCycles")]
    pub unit_billing_cycles: Vec<i64>,
    #[serde(rename = "UpdateOptions")]
    pub update_options: Vec<i64>,
    #[serde(rename = "Derivative")]
    pub derivative: i64,
    #[serde(rename = "IsActivated")]
    pub is_activated: bool,
    #[serde(rename = "EnableCancellation")]
    pub enable_cancellation: bool,
    #[serde(rename = "BillingOptionRecurringChargePrepaid", default = "null")]
    pub billing_option_recurring_charge_prepaid: Value,
    #[serde(rename = "BillingOptionRecurringChargePayPerUse", default = "null")]
    pub billing_option_recurring_charge_pay_per_use: Value,
    #[serde(rename = "TrialEnabled")]
    pub trial_enabled: bool,
    #[serde(rename = "TrialDuration")]
    pub trial_duration: i64,
    #[serde(rename = "TrialDurationType")]
    pub trial_duration_type: i64,
    #[serde(rename = "Prices")]
    pub prices: Vec<Value>,
    #[serde(rename = "RelatedProducts")]
    pub related_products: Vec<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AddonDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Products")]
    pub products: Vec<String>,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Attributes")]
    pub attributes: Vec<Value>,
    #[serde(rename = "ChargeType")]
    pub charge_type: i64,
    #[serde(rename = "UnitType")]
    pub unit_type: String,
    #[serde(rename = "UnitBillingCycles")]
    pub unit_billing_cycles: Vec<i64>,
    #[serde(rename = "UpdateOptions")]
    pub update_options: Vec<i64>,
    #[serde(rename = "UsageType")]
    pub usage_type: String,
    #[serde(rename = "ChargeRule")]
    pub charge_rule: String,
    #[serde(rename = "Prices")]
    pub prices: Vec<Value>,
}

fn kind_of(name: &str) -> Option<AttributeKind> {
    AttributeKind::ALL
        .into_iter()
        .find(|k| k.wire_name().eq_ignore_ascii_case(name))
}

impl CatalogDoc {
    /// Parse and check a catalogue upload; returns the document normalized
    /// (every key present, names of enums in their canonical spelling).
    pub fn parse(text: &str) -> Result<CatalogDoc, CodecError> {
        let mut doc: CatalogDoc = serde_json::from_str(text).map_err(|e| {
            CodecError(format!(
                "the catalogue is not a valid ProductTypeCollection: {e}"
            ))
        })?;
        let mut type_ids = BTreeSet::new();
        for (i, t) in doc.product_types.iter_mut().enumerate() {
            if t.id.trim().is_empty() {
                return Err(CodecError(format!("ProductTypes[{i}] has no ID")));
            }
            if !type_ids.insert(t.id.clone()) {
                return Err(CodecError(format!("product type {} appears twice", t.id)));
            }
            for a in &mut t.attribute_list {
                if a.id.trim().is_empty() {
                    return Err(CodecError(format!(
                        "an attribute of product type {} has no ID",
                        t.id
                    )));
                }
                if a.kind.is_empty() {
                    a.kind = "Text".into();
                }
                let kind = kind_of(&a.kind).ok_or_else(|| {
                    CodecError(format!(
                        "attribute {} of product type {} has Kind {:?}; expected one of {}",
                        a.id,
                        t.id,
                        a.kind,
                        AttributeKind::ALL.map(|k| k.wire_name()).join(", ")
                    ))
                })?;
                a.kind = kind.wire_name().into();
                a.kind_specified = true;
                if a.usage.is_empty() {
                    a.usage = "ProductCharacteristic".into();
                }
                a.usage_specified = true;
            }
            let mut ids = BTreeSet::new();
            for p in &t.products_collection.products {
                if p.id.trim().is_empty() {
                    return Err(CodecError(format!(
                        "a product of product type {} has no ID",
                        t.id
                    )));
                }
                if !ids.insert(p.id.clone()) {
                    return Err(CodecError(format!("product {} appears twice", p.id)));
                }
            }
            for a in &t.products_collection.addons {
                if a.id.trim().is_empty() {
                    return Err(CodecError(format!(
                        "an add-on of product type {} has no ID",
                        t.id
                    )));
                }
            }
        }
        Ok(doc)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"ProductTypes\":[]}".into())
    }

    /// The index the rules use.
    pub fn index(&self) -> Catalog {
        let mut catalog = Catalog::default();
        for t in &self.product_types {
            catalog.product_types.push(ProductType {
                id: t.id.clone(),
                name: t.name.clone(),
                allow_multiple_subscriptions: t.allow_multiple_subscriptions,
                quantity_limit: t.quantity_limit,
                attributes: t
                    .attribute_list
                    .iter()
                    .filter_map(|a| Some((a.id.clone(), kind_of(&a.kind)?)))
                    .collect(),
                dependencies: t
                    .product_type_dependencies
                    .iter()
                    .map(|d| d.id.clone())
                    .collect(),
            });
            for p in &t.products_collection.products {
                catalog.products.push(Product {
                    id: p.id.clone(),
                    code: p.code.clone(),
                    name: p.name.clone(),
                    product_type: t.id.clone(),
                });
            }
            for a in &t.products_collection.addons {
                catalog.addons.push(AddonProduct {
                    id: a.id.clone(),
                    code: a.code.clone(),
                    name: a.name.clone(),
                    products: a.products.clone(),
                    product_type: t.id.clone(),
                });
            }
        }
        catalog
    }
}

/// The setup-fields document of the admin API:
/// `{"Fields": [FieldDefinition…], "SyncOptions": [CustomFieldDefinition…]}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SetupDoc {
    #[serde(rename = "Fields")]
    pub fields: Vec<FieldDefinitionDoc>,
    #[serde(rename = "SyncOptions")]
    pub sync_options: Vec<CustomFieldDefinitionDoc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FieldDefinitionDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SortOrder")]
    pub sort_order: i64,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "Kind")]
    pub kind: String,
    #[serde(rename = "MaxLength")]
    pub max_length: i64,
    #[serde(rename = "IsRequired")]
    pub is_required: bool,
    #[serde(rename = "PredefinedValues")]
    pub predefined_values: BTreeMap<String, String>,
    #[serde(rename = "IsAdditionalField")]
    pub is_additional_field: bool,
    #[serde(rename = "IncludeVerification")]
    pub include_verification: bool,
    #[serde(rename = "IsDistributorOption")]
    pub is_distributor_option: bool,
    #[serde(rename = "IsPartnerOption")]
    pub is_partner_option: bool,
    #[serde(rename = "InitialValue")]
    pub initial_value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CustomFieldDefinitionDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SortOrder")]
    pub sort_order: i64,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "Kind")]
    pub kind: String,
    #[serde(rename = "DataType")]
    pub data_type: String,
    #[serde(rename = "IsRequired")]
    pub is_required: bool,
    #[serde(rename = "PredefinedValues")]
    pub predefined_values: Vec<PredefinedValueDoc>,
    #[serde(rename = "IsReadOnly")]
    pub is_read_only: bool,
    #[serde(rename = "AvailableToStorefront")]
    pub available_to_storefront: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PredefinedValueDoc {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "SortOrder")]
    pub sort_order: i64,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "IsDefault")]
    pub is_default: bool,
}

const SYNC_OPTION_KINDS: [&str; 10] = [
    "SimpleValue",
    "List",
    "TextArea",
    "ListMultiSelect",
    "Boolean",
    "Link",
    "Mask",
    "MOD11CheckDigit",
    "Unknown",
    "File",
];
const DATA_TYPES: [&str; 5] = ["Text", "Number", "Currency", "Date", "Unknown"];

fn canonical(
    value: &str,
    allowed: &[&'static str],
    what: &str,
) -> Result<&'static str, CodecError> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value))
        .copied()
        .ok_or_else(|| {
            CodecError(format!(
                "{what} is {value:?}; expected one of {}",
                allowed.join(", ")
            ))
        })
}

impl SetupDoc {
    pub fn parse(text: &str) -> Result<SetupDoc, CodecError> {
        let mut doc: SetupDoc = serde_json::from_str(text)
            .map_err(|e| CodecError(format!("the setup fields are not valid: {e}")))?;
        let mut seen = BTreeSet::new();
        for f in &mut doc.fields {
            if !valid_field_id(&f.id) {
                return Err(CodecError(format!(
                    "setting field id {:?} must match [A-Za-z0-9_-]{{1,64}} (it becomes a header name)",
                    f.id
                )));
            }
            if !seen.insert(f.id.to_ascii_lowercase()) {
                return Err(CodecError(format!(
                    "setting field id {} is not unique (ignoring case)",
                    f.id
                )));
            }
            if f.kind.is_empty() {
                f.kind = "Text".into();
            }
            let kinds = FieldKind::ALL.map(|k| k.wire_name());
            f.kind = canonical(
                &f.kind,
                &kinds,
                &format!("the Kind of setting field {}", f.id),
            )?
            .into();
            if f.kind == "PredefinedChooseMany" {
                return Err(CodecError(format!(
                    "setting field {} is PredefinedChooseMany: multi-value settings are not supported (their header encoding is undocumented)",
                    f.id
                )));
            }
            if f.max_length < 0 {
                return Err(CodecError(format!(
                    "setting field {} has a negative MaxLength",
                    f.id
                )));
            }
            if f.name.is_empty() {
                f.name = f.id.clone();
            }
        }
        let mut seen = BTreeSet::new();
        for o in &mut doc.sync_options {
            if o.id.trim().is_empty() {
                return Err(CodecError("a sync option has no ID".into()));
            }
            if !seen.insert(o.id.clone()) {
                return Err(CodecError(format!("sync option {} appears twice", o.id)));
            }
            if o.kind.is_empty() {
                o.kind = "SimpleValue".into();
            }
            if o.data_type.is_empty() {
                o.data_type = "Text".into();
            }
            o.kind = canonical(
                &o.kind,
                &SYNC_OPTION_KINDS,
                &format!("the Kind of sync option {}", o.id),
            )?
            .into();
            o.data_type = canonical(
                &o.data_type,
                &DATA_TYPES,
                &format!("the DataType of sync option {}", o.id),
            )?
            .into();
        }
        Ok(doc)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn index(&self) -> SetupFields {
        SetupFields {
            fields: self
                .fields
                .iter()
                .map(|f| SettingField {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    kind: FieldKind::ALL
                        .into_iter()
                        .find(|k| k.wire_name() == f.kind)
                        .unwrap_or(FieldKind::Text),
                    required: f.is_required,
                    max_length: usize::try_from(f.max_length).unwrap_or(0),
                    predefined: f.predefined_values.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_fills_missing_keys_and_checks_kinds() {
        let doc = CatalogDoc::parse(
            r#"{"ProductTypes": [{"ID": "cloudbackup", "AttributeList": [{"ID": "storage_gb", "Kind": "numeric", "LinkedToQuantity": true}],
                "ProductsCollection": {"Products": [{"ID": "cb_basic", "Name": "Cloud Backup Basic"}]}}]}"#,
        )
        .unwrap();
        let json: Value = serde_json::from_str(&doc.to_json()).unwrap();
        let t = &json["ProductTypes"][0];
        assert_eq!(t["AttributeList"][0]["Kind"], "Numeric");
        assert_eq!(t["QuantityLimit"], 0);
        assert_eq!(t["Icon"], Value::Null);
        assert_eq!(
            t["ProductsCollection"]["Products"][0]["EnableCancellation"],
            false
        );
        let catalog = doc.index();
        assert_eq!(
            catalog.attribute_kind("cloudbackup", "storage_gb"),
            Some(AttributeKind::Numeric)
        );
        assert_eq!(
            catalog.describe("cb_basic"),
            "Cloud Backup Basic (cb_basic)"
        );

        let err = CatalogDoc::parse(
            r#"{"ProductTypes": [{"ID": "x", "AttributeList": [{"ID": "a", "Kind": "Colour"}]}]}"#,
        )
        .unwrap_err();
        assert!(
            err.0.contains("Colour") && err.0.contains("Numeric"),
            "{err}"
        );
    }

    #[test]
    fn setup_fields_need_header_safe_unique_ids() {
        assert!(
            SetupDoc::parse(r#"{"Fields": [{"ID": "Field Region"}]}"#)
                .unwrap_err()
                .0
                .contains("[A-Za-z0-9_-]")
        );
        assert!(
            SetupDoc::parse(r#"{"Fields": [{"ID": "A"}, {"ID": "a"}]}"#)
                .unwrap_err()
                .0
                .contains("not unique")
        );
        let doc = SetupDoc::parse(
            r#"{"Fields": [{"ID": "FieldUri", "Kind": "url", "IsRequired": true}]}"#,
        )
        .unwrap();
        assert_eq!(doc.fields[0].kind, "Url");
        assert_eq!(doc.index().fields[0].kind, FieldKind::Url);
    }
}
