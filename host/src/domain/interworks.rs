//! The interworks.cloud Service Manager data model (spec §5), as typed Rust
//! values. The HTTP layer parses the platform's JSON into these; nothing here
//! knows JSON.

use super::hook::{AccountView, ActionType, AddonView, Attribute, HookRequest, Operation};
use std::collections::BTreeMap;

/// `AccountDefinition` (spec §5.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// The platform's account id.
    pub id: String,
    pub external_id: Option<String>,
    pub reseller_id: Option<String>,
    pub reseller_external_id: Option<String>,
    pub name: String,
    pub code: String,
    pub phone: String,
    pub fax: String,
    pub website: String,
    pub email: String,
    pub is_test: bool,
    pub description: String,
    pub extra_details: BTreeMap<String, String>,
    pub sync_options: BTreeMap<String, String>,
    pub contact: Contact,
    pub address: Address,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub fax: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub post_code: String,
    pub state_code: String,
    pub state_name: String,
    pub country_code: String,
    pub country_name: String,
}

/// One element of `Addons` (spec §5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonItem {
    pub id: String,
    pub parent_id: String,
    pub name: String,
    pub product_id: String,
    pub action: Option<ActionType>,
    /// `ActionType` as sent ("Provision", "9"…); empty when absent.
    pub action_text: String,
    pub quantity: i64,
    pub attributes: Vec<Attribute>,
    pub extra_details: BTreeMap<String, String>,
}

impl AddonItem {
    pub fn action(&self) -> ActionType {
        self.action.unwrap_or(ActionType::None)
    }
}

/// `ServiceDefinition`: the body of every Subscriptions/* and Addons/* call
/// (spec §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDefinition {
    /// Tollgate's external subscription id (`ID`); empty on create.
    pub external_id: String,
    /// The platform's subscription id (`SubscriptionID`): Create's
    /// idempotency key.
    pub platform_subscription_id: String,
    pub original_subscription_id: Option<String>,
    pub name: String,
    pub service_type: String,
    pub product_id: String,
    pub action: Option<ActionType>,
    /// `ActionType` as sent; empty when absent.
    pub action_text: String,
    pub quantity: i64,
    pub account: Account,
    /// Ordered by attribute id (the map key wins over the item's `ID`).
    pub attributes: Vec<Attribute>,
    pub addons: Vec<AddonItem>,
    pub allow_multiple_subscriptions: bool,
    pub is_trial: bool,
    pub check_only: bool,
    pub custom_field_values: BTreeMap<String, String>,
    pub extra_details: BTreeMap<String, String>,
    pub requested_by: RequestedBy,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedBy {
    pub id: i64,
    pub display_name: String,
    pub email: String,
    pub kind: String,
}

/// A request the domain refuses before any rule runs (Code -2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRequest(pub String);

/// Most add-ons one Subscriptions/* or Addons/* call may carry: far above
/// any real order, and it bounds the plugin runs one call can cause (each
/// add-on is a quantity target).
pub const MAX_ADDONS: usize = 200;

impl ServiceDefinition {
    /// Refuse a call with more than [`MAX_ADDONS`] add-ons.
    pub fn check_addon_count(&self) -> Result<(), InvalidRequest> {
        if self.addons.len() > MAX_ADDONS {
            return Err(InvalidRequest(format!(
                "The request carries {} add-ons in Addons; at most {MAX_ADDONS} are accepted in one call.",
                self.addons.len()
            )));
        }
        Ok(())
    }

    /// The checks every Subscriptions/* and Addons/* call must pass (spec
    /// §5 reading rules and §4.3/§4.4), beyond what parsing guarantees.
    pub fn validate(&self, operation: Operation) -> Result<(), InvalidRequest> {
        let invalid = |m: String| Err(InvalidRequest(m));
        if self.account.id.trim().is_empty() {
            return invalid("The request has no Account.ID: the customer is required.".into());
        }
        if self.product_id.trim().is_empty() {
            return invalid("The request has no ProductID.".into());
        }
        if operation != Operation::SubscriptionCreate && self.external_id.trim().is_empty() {
            return invalid(format!(
                "The request has no ID: {} needs the subscription id returned by Subscriptions/Create.",
                operation.endpoint()
            ));
        }
        if operation == Operation::SubscriptionCreate
            && self.platform_subscription_id.trim().is_empty()
        {
            return invalid("The request has no SubscriptionID: Subscriptions/Create needs the platform's subscription id.".into());
        }
        if self.quantity < 0 {
            return invalid(format!("Quantity {} is negative.", self.quantity));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, addon) in self.addons.iter().enumerate() {
            if addon.product_id.trim().is_empty() {
                return invalid(format!("Addons[{i}] has no ProductID."));
            }
            if addon.quantity < 0 {
                return invalid(format!(
                    "Quantity {} of add-on {} is negative.",
                    addon.quantity, addon.product_id
                ));
            }
            if !seen.insert(addon.product_id.as_str()) {
                return invalid(format!(
                    "Add-on {} appears twice in Addons.",
                    addon.product_id
                ));
            }
        }
        let expected = match operation {
            Operation::AddonCreate | Operation::AddonUpdate => Some(ActionType::Provision),
            Operation::AddonCancel => Some(ActionType::Cancel),
            _ => None,
        };
        if let Some(action) = expected
            && !self.addons.iter().any(|a| a.action() == action)
        {
            return invalid(format!(
                "{} needs at least one add-on with ActionType {} in Addons.",
                operation.endpoint(),
                action.wire_name()
            ));
        }
        Ok(())
    }

    /// The add-ons this call acts on (spec §4.4): `Provision` for
    /// Addons/Create and Update, `Cancel` for Addons/Cancel.
    pub fn acted_addons(&self, operation: Operation) -> impl Iterator<Item = &AddonItem> {
        let action = match operation {
            Operation::AddonCancel => Some(ActionType::Cancel),
            Operation::AddonCreate | Operation::AddonUpdate => Some(ActionType::Provision),
            _ => None,
        };
        self.addons
            .iter()
            .filter(move |a| Some(a.action()) == action)
    }

    /// The plugin's view of this call. `previous` gives Tollgate's stored
    /// quantities: the subscription's and each add-on's by product id.
    pub fn hook_request(
        &self,
        operation: Operation,
        check_only: bool,
        external_id: &str,
        previous_quantity: Option<i64>,
        previous_addon_quantity: &dyn Fn(&str) -> Option<i64>,
        settings: Vec<(String, String)>,
    ) -> HookRequest {
        let a = &self.account;
        HookRequest {
            operation,
            check_only,
            subscription_id: external_id.to_string(),
            platform_subscription_id: self.platform_subscription_id.clone(),
            product_id: self.product_id.clone(),
            service_type: self.service_type.clone(),
            action: self.action.unwrap_or(ActionType::None),
            action_text: self.action_text.clone(),
            quantity: self.quantity,
            previous_quantity,
            is_trial: self.is_trial,
            attributes: self.attributes.clone(),
            addons: self
                .addons
                .iter()
                .map(|x| AddonView {
                    product_id: x.product_id.clone(),
                    name: x.name.clone(),
                    action: x.action(),
                    action_text: x.action_text.clone(),
                    quantity: x.quantity,
                    previous_quantity: previous_addon_quantity(&x.product_id),
                    attributes: x.attributes.clone(),
                })
                .collect(),
            account: AccountView {
                id: a.id.clone(),
                external_id: a.external_id.clone().filter(|s| !s.is_empty()),
                reseller_id: a.reseller_id.clone().filter(|s| !s.is_empty()),
                reseller_external_id: a.reseller_external_id.clone().filter(|s| !s.is_empty()),
                name: a.name.clone(),
                code: a.code.clone(),
                email: a.email.clone(),
                country_code: a.address.country_code.clone(),
                is_test: a.is_test,
                sync_options: a
                    .sync_options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            settings,
            custom_fields: self
                .custom_field_values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ServiceDefinition {
        ServiceDefinition {
            platform_subscription_id: "p1".into(),
            product_id: "cb_basic".into(),
            quantity: 5,
            account: Account {
                id: "20417".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn create_needs_account_product_and_platform_id() {
        assert!(def().validate(Operation::SubscriptionCreate).is_ok());
        let mut d = def();
        d.account.id.clear();
        assert!(
            d.validate(Operation::SubscriptionCreate)
                .unwrap_err()
                .0
                .contains("Account.ID")
        );
        let mut d = def();
        d.platform_subscription_id.clear();
        assert!(
            d.validate(Operation::SubscriptionCreate)
                .unwrap_err()
                .0
                .contains("SubscriptionID")
        );
    }

    #[test]
    fn other_calls_need_the_external_id() {
        let err = def().validate(Operation::SubscriptionUpdate).unwrap_err();
        assert!(err.0.contains("no ID"), "{err}");
    }

    #[test]
    fn negative_quantities_are_refused() {
        let mut d = def();
        d.quantity = -1;
        assert!(
            d.validate(Operation::SubscriptionCreate)
                .unwrap_err()
                .0
                .contains("negative")
        );
    }

    #[test]
    fn addon_calls_need_an_addon_with_the_right_action() {
        let mut d = def();
        d.external_id = "S".into();
        d.addons.push(AddonItem {
            product_id: "vault".into(),
            action: Some(ActionType::None),
            quantity: 1,
            ..Default::default()
        });
        assert!(
            d.validate(Operation::AddonCreate)
                .unwrap_err()
                .0
                .contains("ActionType Provision")
        );
        d.addons[0].action = Some(ActionType::Provision);
        assert!(d.validate(Operation::AddonCreate).is_ok());
        assert!(d.validate(Operation::AddonCancel).is_err());
    }
}
