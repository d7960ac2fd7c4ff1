//! The Service Manager API's bodies as the interworks spec defines them
//! (keys spelled as the spec writes them). The platform's requests are read
//! by `lenient` (keys in any case, numbers and booleans also as text, nulls
//! as absent), so these request types only describe the canonical form;
//! the answers are rendered by `envelope` and `sm`, and the contract tests
//! validate every answer against these schemas.

#![allow(dead_code)]

use crate::codec::documents::{CustomFieldDefinitionDoc, FieldDefinitionDoc};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `ActionType`: a name in any case, or its integer 0–7. Other values are
/// tolerated (read as `other`).
#[derive(ToSchema)]
pub enum ActionType {
    None,
    Provision,
    Cancel,
    Suspend,
    Activate,
    Upgrade,
    Downgrade,
    UpgradeToPaid,
}

/// One characteristic (`AttributeList` entry).
#[derive(ToSchema)]
#[schema(as = AttributeItem)]
pub struct AttributeItem {
    #[schema(rename = "ID")]
    id: String,
    #[schema(rename = "Name")]
    name: Option<String>,
    /// The value as text (`"20"`, `"1"`, `"EU West"`).
    #[schema(rename = "Value")]
    value: Option<String>,
    /// A drop-down choice's code.
    #[schema(rename = "Code")]
    code: Option<String>,
    #[schema(rename = "QuantityLinked")]
    quantity_linked: Option<bool>,
    #[schema(rename = "ExtraParameters")]
    extra_parameters: Option<BTreeMap<String, String>>,
}

/// An add-on of a subscription.
#[derive(ToSchema)]
pub struct AddonItem {
    #[schema(rename = "ID")]
    id: Option<String>,
    #[schema(rename = "ParentID")]
    parent_id: Option<String>,
    #[schema(rename = "Name")]
    name: Option<String>,
    #[schema(rename = "ProductID")]
    product_id: String,
    #[schema(rename = "ActionType")]
    action_type: Option<ActionType>,
    #[schema(rename = "Quantity", minimum = 0, maximum = 2147483647)]
    quantity: i64,
    /// Keyed by attribute id (a list of attributes is read too).
    #[schema(rename = "AttributeList")]
    attribute_list: Option<BTreeMap<String, AttributeItem>>,
    #[schema(rename = "ExtraDetails")]
    extra_details: Option<BTreeMap<String, String>>,
}

#[derive(ToSchema)]
pub struct ContactDetails {
    #[schema(rename = "ID")]
    id: Option<String>,
    #[schema(rename = "FirstName")]
    first_name: Option<String>,
    #[schema(rename = "LastName")]
    last_name: Option<String>,
    #[schema(rename = "Phone")]
    phone: Option<String>,
    #[schema(rename = "Fax")]
    fax: Option<String>,
    #[schema(rename = "Email")]
    email: Option<String>,
}

#[derive(ToSchema)]
pub struct CodeName {
    #[schema(rename = "Code")]
    code: Option<String>,
    #[schema(rename = "Name")]
    name: Option<String>,
}

#[derive(ToSchema)]
pub struct Address {
    #[schema(rename = "Address1")]
    address1: Option<String>,
    #[schema(rename = "Address2")]
    address2: Option<String>,
    #[schema(rename = "City")]
    city: Option<String>,
    #[schema(rename = "PostCode")]
    post_code: Option<String>,
    #[schema(rename = "State")]
    state: Option<CodeName>,
    #[schema(rename = "Country")]
    country: Option<CodeName>,
}

/// The customer (`AccountDefinition`). `ID` is required by
/// Accounts/Synchronize; Exists, Delete and IsReseller find the account by
/// `ExternalID` or `ID`.
#[derive(ToSchema)]
#[schema(example = json!({"ID": "20417", "ExternalID": null, "Name": "Northwind Dental Ltd", "Code": "ACC-20417", "Email": "it@northwind-dental.example", "IsTest": false, "SyncOptions": {"username": "it@northwind-dental.example"}, "Address": {"City": "Piraeus", "Country": {"Code": "GR", "Name": "Greece"}}}))]
pub struct AccountDefinition {
    #[schema(rename = "ID")]
    id: Option<String>,
    #[schema(rename = "ExternalID")]
    external_id: Option<String>,
    #[schema(rename = "ResellerID")]
    reseller_id: Option<String>,
    #[schema(rename = "ResellerExternalID")]
    reseller_external_id: Option<String>,
    #[schema(rename = "Name")]
    name: Option<String>,
    #[schema(rename = "Code")]
    code: Option<String>,
    #[schema(rename = "Phone")]
    phone: Option<String>,
    #[schema(rename = "Fax")]
    fax: Option<String>,
    #[schema(rename = "WebSite")]
    web_site: Option<String>,
    #[schema(rename = "Email")]
    email: Option<String>,
    #[schema(rename = "IsTest")]
    is_test: Option<bool>,
    #[schema(rename = "Description")]
    description: Option<String>,
    #[schema(rename = "ExtraDetails")]
    extra_details: Option<BTreeMap<String, String>>,
    #[schema(rename = "SyncOptions")]
    sync_options: Option<BTreeMap<String, String>>,
    #[schema(rename = "ContactDetails")]
    contact_details: Option<ContactDetails>,
    #[schema(rename = "Address")]
    address: Option<Address>,
    /// Check mode (Synchronize, Delete): change nothing.
    #[schema(rename = "CheckOnly")]
    check_only: Option<bool>,
}

#[derive(ToSchema)]
pub struct RequestedBy {
    #[schema(rename = "ID")]
    id: Option<i64>,
    #[schema(rename = "FirstName")]
    first_name: Option<String>,
    #[schema(rename = "LastName")]
    last_name: Option<String>,
    #[schema(rename = "DisplayName")]
    display_name: Option<String>,
    #[schema(rename = "Email")]
    email: Option<String>,
    #[schema(rename = "Type")]
    kind: Option<String>,
}

/// A subscription call's body (`ServiceDefinition`). `ID` (the external
/// subscription id) is required except on Subscriptions/Create; a missing
/// required key answers Code -2 naming it. Unknown keys are ignored.
#[derive(ToSchema)]
pub struct ServiceDefinition {
    /// The external subscription id (Tollgate's); empty on Create.
    #[schema(rename = "ID")]
    id: Option<String>,
    /// The platform's subscription id (Create is idempotent per it).
    #[schema(rename = "SubscriptionID")]
    subscription_id: Option<String>,
    #[schema(rename = "OriginalSubscriptionID")]
    original_subscription_id: Option<String>,
    #[schema(rename = "Name")]
    name: Option<String>,
    #[schema(rename = "ServiceType")]
    service_type: Option<String>,
    #[schema(rename = "ProductID")]
    product_id: String,
    #[schema(rename = "ActionType")]
    action_type: Option<ActionType>,
    #[schema(rename = "Quantity", minimum = 0, maximum = 2147483647)]
    quantity: i64,
    #[schema(rename = "Account")]
    account: AccountDefinition,
    /// Keyed by attribute id (a list of attributes is read too).
    #[schema(rename = "AttributeList")]
    attribute_list: Option<BTreeMap<String, AttributeItem>>,
    /// At most 200.
    #[schema(rename = "Addons", max_items = 200)]
    addons: Option<Vec<AddonItem>>,
    #[schema(rename = "AllowMultipleSubscriptions")]
    allow_multiple_subscriptions: Option<bool>,
    #[schema(rename = "IsFromOrder")]
    is_from_order: Option<bool>,
    #[schema(rename = "IsTrial")]
    is_trial: Option<bool>,
    /// Check mode: decide, answer, change nothing.
    #[schema(rename = "CheckOnly")]
    check_only: Option<bool>,
    #[schema(rename = "CustomFieldValues")]
    custom_field_values: Option<BTreeMap<String, String>>,
    #[schema(rename = "ExtraDetails")]
    extra_details: Option<BTreeMap<String, String>>,
    #[schema(rename = "RequestedBy")]
    requested_by: Option<RequestedBy>,
}

/// `ResultDefinition`: every answer's envelope. `Code` 0 is success (see
/// the Code table); `Message` is a sentence for the user.
#[derive(ToSchema)]
pub struct ResultDefinition {
    #[schema(rename = "Code")]
    code: i32,
    #[schema(rename = "Message")]
    message: Option<String>,
    #[schema(rename = "Result")]
    result: Option<String>,
}

/// `ServiceResultDefinition`: the envelope of Subscriptions/*, Addons/*
/// and Assets/*.
#[derive(ToSchema)]
pub struct ServiceResultDefinition {
    #[schema(rename = "Code")]
    code: i32,
    #[schema(rename = "Message")]
    message: Option<String>,
    /// Subscriptions/Create: the new external subscription id; add-on
    /// calls: the parent's; other calls: the subscription's. Null in check
    /// mode and on refusals.
    #[schema(rename = "Result")]
    result: Option<String>,
    #[schema(rename = "AccountExtraInfo")]
    account_extra_info: BTreeMap<String, String>,
    #[schema(rename = "CustomFieldValues")]
    custom_field_values: BTreeMap<String, String>,
    #[schema(rename = "SendNotification")]
    send_notification: bool,
    #[schema(rename = "ExtraInfo")]
    extra_info: BTreeMap<String, String>,
}

/// `AccountResultDefinition`: the envelope of Accounts/Synchronize.
#[derive(ToSchema)]
pub struct AccountResultDefinition {
    #[schema(rename = "Code")]
    code: i32,
    #[schema(rename = "Message")]
    message: Option<String>,
    /// The external account id.
    #[schema(rename = "Result")]
    result: Option<String>,
    #[schema(rename = "AccountExtraInfo")]
    account_extra_info: BTreeMap<String, String>,
    #[schema(rename = "GeneratedPassword")]
    generated_password: Option<String>,
}

/// Pay-per-use totals (always zero: not supported).
#[derive(ToSchema)]
pub struct PpuTotals {
    #[schema(rename = "Items")]
    items: i64,
    #[schema(rename = "CostPrice")]
    cost_price: f64,
    #[schema(rename = "SellPrice")]
    sell_price: f64,
}

/// The pay-per-use answer: Code -1, not supported.
#[derive(ToSchema)]
pub struct PpuResult {
    #[schema(rename = "Code")]
    code: i32,
    #[schema(rename = "Message")]
    message: Option<String>,
    #[schema(rename = "Result")]
    result: Option<String>,
    #[schema(rename = "Currency")]
    currency: String,
    #[schema(rename = "LastUpdateAt")]
    last_update_at: Option<String>,
    #[schema(rename = "Usages")]
    usages: Vec<serde_json::Value>,
    #[schema(rename = "Items")]
    items: Vec<serde_json::Value>,
    #[schema(rename = "Totals")]
    totals: PpuTotals,
}

/// One setting field with its definition (Fields/Get).
#[derive(ToSchema)]
pub struct FieldItem {
    #[schema(rename = "ID")]
    id: String,
    /// Always null: values travel in the `X-CloudPlatform-Setting-*` headers.
    #[schema(rename = "Value")]
    value: Option<String>,
    #[schema(rename = "Definition")]
    definition: FieldDefinitionDoc,
}

/// `FieldCollection` (Fields/Get).
#[derive(ToSchema)]
pub struct FieldCollection {
    #[schema(rename = "Fields")]
    fields: Vec<FieldItem>,
}

/// One sync option with its definition (Accounts/SyncOptions).
#[derive(ToSchema)]
pub struct SyncOptionItem {
    #[schema(rename = "ID")]
    id: String,
    #[schema(rename = "Definition")]
    definition: CustomFieldDefinitionDoc,
}

/// `CustomFieldCollection` (Accounts/SyncOptions).
#[derive(ToSchema)]
pub struct SyncOptionCollection {
    #[schema(rename = "Fields")]
    fields: Vec<SyncOptionItem>,
}

/// A setting's submitted value: text, or a list of texts.
#[derive(ToSchema)]
#[schema(as = FieldValue)]
pub struct FieldValue {
    #[schema(rename = "ID")]
    id: String,
    #[schema(rename = "Value")]
    value: Option<String>,
}

/// The settings to validate (Fields/Validate).
#[derive(ToSchema)]
pub struct FieldValues {
    #[schema(rename = "Fields")]
    fields: Vec<FieldValue>,
}
