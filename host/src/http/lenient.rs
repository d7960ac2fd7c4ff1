//! Reading the platform's JSON by the spec's reading rules (§5): keys match
//! ignoring case, `null` or a missing key takes the type's default (except
//! required keys), integers and booleans may come as strings, enums as
//! names (any case) or integers, unknown keys are ignored. Every error names
//! the field by its path, e.g. `Addons[0].Quantity`.

use super::json::{Json, Members};
use crate::domain::hook::{ActionType, Attribute};
use crate::domain::interworks::{
    Account, AddonItem, Address, Contact, RequestedBy, ServiceDefinition,
};
use std::collections::BTreeMap;

/// A field the body cannot give us.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A value of the wrong type: HTTP 400, Code -2.
    #[error("{path} must be {expected}, but it is {found}.")]
    Type {
        path: String,
        expected: &'static str,
        found: String,
    },
    /// A required key is absent or null: HTTP 200, Code -2.
    #[error("The request has no {path}.")]
    Missing { path: String },
}

impl FieldError {
    pub fn is_type(&self) -> bool {
        matches!(self, FieldError::Type { .. })
    }
}

type Result<T> = std::result::Result<T, FieldError>;

fn describe(v: &Json<'_>) -> String {
    match v {
        Json::Null => "null".to_string(),
        Json::Bool(b) => format!("the boolean {b}"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the text {:?}", truncate(s, 60)),
        Json::Array(_) => "a list".to_string(),
        Json::Object(_) => "an object".to_string(),
    }
}

/// A text, number or boolean as text (the spec lets scalars stand for
/// text); `None` for null, lists and objects.
fn scalar_text(v: &Json<'_>) -> Option<String> {
    match v {
        Json::String(s) => Some(s.to_string()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// A JSON object read with the spec's rules.
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    map: Option<&'a Members<'a>>,
    path: &'a str,
}

impl<'a> Obj<'a> {
    /// The top-level body; it must be an object.
    pub fn root(value: &'a Json<'a>) -> Result<Obj<'a>> {
        match value {
            Json::Object(map) => Ok(Obj {
                map: Some(map),
                path: "",
            }),
            other => Err(FieldError::Type {
                path: "The request body".into(),
                expected: "a JSON object",
                found: describe(other),
            }),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value under `key`, matched ignoring case; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Json<'a>> {
        let map = self.map?;
        let value = map.get(key).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })?;
        (!value.is_null()).then_some(value)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn type_error(&self, key: &str, expected: &'static str, found: &Json<'_>) -> FieldError {
        FieldError::Type {
            path: self.child_path(key),
            expected,
            found: describe(found),
        }
    }

    pub fn require(&self, key: &str) -> Result<()> {
        if self.has(key) {
            Ok(())
        } else {
            Err(FieldError::Missing {
                path: self.child_path(key),
            })
        }
    }

    /// Text; numbers and booleans are converted to text.
    pub fn string(&self, key: &str) -> Result<String> {
        Ok(self.opt_string(key)?.unwrap_or_default())
    }

    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar_text(v)
                .map(Some)
                .ok_or_else(|| self.type_error(key, "text", v)),
        }
    }

    /// A 32-bit integer (the spec's `int`), also written as a string.
    pub fn int(&self, key: &str) -> Result<i64> {
        let Some(v) = self.get(key) else { return Ok(0) };
        let expected = "a whole number between -2147483648 and 2147483647";
        let n = match v {
            Json::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                    .map(|f| f as i64)
            }),
            Json::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if i32::try_from(n).is_ok() => Ok(n),
            _ => Err(self.type_error(key, expected, v)),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        let Some(v) = self.get(key) else {
            return Ok(false);
        };
        match v {
            Json::Bool(b) => Ok(*b),
            Json::String(s) if s.trim().eq_ignore_ascii_case("true") || s.trim() == "1" => Ok(true),
            Json::String(s)
                if s.trim().eq_ignore_ascii_case("false")
                    || s.trim() == "0"
                    || s.trim().is_empty() =>
            {
                Ok(false)
            }
            Json::Number(n) if n.as_i64() == Some(1) => Ok(true),
            Json::Number(n) if n.as_i64() == Some(0) => Ok(false),
            other => Err(self.type_error(key, "true or false", other)),
        }
    }

    /// A nested object (absent = empty).
    pub fn object(&self, key: &str, path: &'a mut String) -> Result<Obj<'a>> {
        *path = self.child_path(key);
        match self.get(key) {
            None => Ok(Obj { map: None, path }),
            Some(Json::Object(map)) => Ok(Obj {
                map: Some(map),
                path,
            }),
            Some(other) => Err(self.type_error(key, "an object", other)),
        }
    }

    /// A `map<string,string>`: values that are numbers or booleans become text.
    pub fn map(&self, key: &str) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        match self.get(key) {
            None => {}
            Some(Json::Object(map)) => {
                for (k, v) in map.iter() {
                    let text = match v {
                        Json::Null => String::new(),
                        other => scalar_text(other).ok_or_else(|| FieldError::Type {
                            path: format!("{}.{k}", self.child_path(key)),
                            expected: "text",
                            found: describe(other),
                        })?,
                    };
                    out.insert(k.to_string(), text);
                }
            }
            Some(other) => return Err(self.type_error(key, "an object of text values", other)),
        }
        Ok(out)
    }

    fn list(&self, key: &str) -> Result<&'a [Json<'a>]> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Json::Array(items)) => Ok(items),
            Some(other) => Err(self.type_error(key, "a list", other)),
        }
    }

    /// An `ActionType` and its text as sent (spec §5.4): names in any
    /// case or their integers; any other string or integer is tolerated as
    /// `Other` (the endpoint, not the ActionType, says what a call does),
    /// with an anomaly logged. Only a non-scalar is a type error.
    pub fn action(&self, key: &str) -> Result<(Option<ActionType>, String)> {
        let Some(v) = self.get(key) else {
            return Ok((None, String::new()));
        };
        let text = match v {
            Json::String(s) => s.trim().to_string(),
            Json::Number(n) => n.to_string(),
            other => {
                return Err(self.type_error(key, "an ActionType name or integer", other));
            }
        };
        let known = ActionType::ALL
            .into_iter()
            .find(|a| a.wire_name().eq_ignore_ascii_case(&text))
            .or_else(|| {
                text.parse::<usize>()
                    .ok()
                    .and_then(|i| ActionType::ALL.get(i).copied())
            });
        let action = known.unwrap_or_else(|| {
            tracing::warn!(field = %self.child_path(key), value = %text,
                "an ActionType this server does not know; read as other");
            ActionType::Other
        });
        Ok((Some(action), text))
    }
}

fn attributes(parent: Obj<'_>, key: &str) -> Result<Vec<Attribute>> {
    let path = parent.child_path(key);
    let item = |value: &Json<'_>, item_path: String, map_key: Option<&str>| -> Result<Attribute> {
        let Json::Object(map) = value else {
            return Err(FieldError::Type {
                path: item_path,
                expected: "an attribute object",
                found: describe(value),
            });
        };
        let o = Obj {
            map: Some(map),
            path: &item_path,
        };
        let id = match map_key {
            // The map key wins over the item's own ID (spec §5.3).
            Some(k) => k.to_string(),
            None => {
                o.require("ID")?;
                o.string("ID")?
            }
        };
        Ok(Attribute {
            id,
            name: o.string("Name")?,
            value: o.string("Value")?,
            code: o.string("Code")?,
            quantity_linked: o.bool("QuantityLinked")?,
        })
    };
    let mut out = match parent.get(key) {
        None => Vec::new(),
        Some(Json::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| item(v, format!("{path}.{k}"), Some(k)))
            .collect::<Result<Vec<_>>>()?,
        // An array of items is accepted too, keyed by each item's ID.
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_null())
            .map(|(i, v)| item(v, format!("{path}[{i}]"), None))
            .collect::<Result<Vec<_>>>()?,
        Some(other) => {
            return Err(FieldError::Type {
                path,
                expected: "an object of attributes",
                found: describe(other),
            });
        }
    };
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

/// `AccountDefinition` (spec §5.5).
pub fn account(o: Obj<'_>) -> Result<Account> {
    let mut p1 = String::new();
    let contact = o.object("ContactDetails", &mut p1)?;
    let mut p2 = String::new();
    let address = o.object("Address", &mut p2)?;
    let mut p3 = String::new();
    let state = address.object("State", &mut p3)?;
    let mut p4 = String::new();
    let country = address.object("Country", &mut p4)?;
    Ok(Account {
        id: o.string("ID")?,
        external_id: o.opt_string("ExternalID")?,
        reseller_id: o.opt_string("ResellerID")?,
        reseller_external_id: o.opt_string("ResellerExternalID")?,
        name: o.string("Name")?,
        code: o.string("Code")?,
        phone: o.string("Phone")?,
        fax: o.string("Fax")?,
        website: o.string("WebSite")?,
        email: o.string("Email")?,
        is_test: o.bool("IsTest")?,
        description: o.string("Description")?,
        extra_details: o.map("ExtraDetails")?,
        sync_options: o.map("SyncOptions")?,
        contact: Contact {
            id: contact.string("ID")?,
            first_name: contact.string("FirstName")?,
            last_name: contact.string("LastName")?,
            phone: contact.string("Phone")?,
            fax: contact.string("Fax")?,
            email: contact.string("Email")?,
        },
        address: Address {
            address1: address.string("Address1")?,
            address2: address.string("Address2")?,
            city: address.string("City")?,
            post_code: address.string("PostCode")?,
            state_code: state.string("Code")?,
            state_name: state.string("Name")?,
            country_code: country.string("Code")?,
            country_name: country.string("Name")?,
        },
    })
}

/// `ServiceDefinition` (spec §5.1) with the presence rules of §5: `Account`
/// (with its `ID`), `ProductID` and `Quantity` always; `ID` except on
/// Subscriptions/Create (`require_id`); `ProductID` and `Quantity` on each
/// add-on.
pub fn service_definition(body: &Json<'_>, require_id: bool) -> Result<ServiceDefinition> {
    let o = Obj::root(body)?;
    let mut account_path = String::new();
    let account_obj = o.object("Account", &mut account_path)?;
    // Type errors first (HTTP 400), then absences (Code -2).
    let (action, action_text) = o.action("ActionType")?;
    let def = ServiceDefinition {
        external_id: o.string("ID")?,
        platform_subscription_id: o.string("SubscriptionID")?,
        original_subscription_id: o.opt_string("OriginalSubscriptionID")?,
        name: o.string("Name")?,
        service_type: o.string("ServiceType")?,
        product_id: o.string("ProductID")?,
        action,
        action_text,
        quantity: o.int("Quantity")?,
        account: account(account_obj)?,
        attributes: attributes(o, "AttributeList")?,
        addons: o
            .list("Addons")?
            .iter()
            .enumerate()
            .map(|(i, v)| addon_item(&format!("{}[{i}]", o.child_path("Addons")), v))
            .collect::<Result<Vec<_>>>()?,
        allow_multiple_subscriptions: o.bool("AllowMultipleSubscriptions")?,
        is_trial: o.bool("IsTrial")?,
        check_only: o.bool("CheckOnly")?,
        custom_field_values: o.map("CustomFieldValues")?,
        extra_details: o.map("ExtraDetails")?,
        requested_by: {
            let mut p = String::new();
            let r = o.object("RequestedBy", &mut p)?;
            RequestedBy {
                id: r.int("ID").unwrap_or(0),
                display_name: r.string("DisplayName")?,
                email: r.string("Email")?,
                kind: r.string("Type")?,
            }
        },
    };
    o.require("Account")?;
    account_obj.require("ID")?;
    o.require("ProductID")?;
    o.require("Quantity")?;
    if require_id {
        o.require("ID")?;
    }
    Ok(def)
}

/// One entry of `Addons` at `path`, with its own presence rules
/// (`ProductID`, `Quantity`).
fn addon_item(path: &str, v: &Json<'_>) -> Result<AddonItem> {
    let Json::Object(map) = v else {
        return Err(FieldError::Type {
            path: path.to_string(),
            expected: "an add-on object",
            found: describe(v),
        });
    };
    let a = Obj {
        map: Some(map),
        path,
    };
    let (action, action_text) = a.action("ActionType")?;
    let item = AddonItem {
        id: a.string("ID")?,
        parent_id: a.string("ParentID")?,
        name: a.string("Name")?,
        product_id: a.string("ProductID")?,
        action,
        action_text,
        quantity: a.int("Quantity")?,
        attributes: attributes(a, "AttributeList")?,
        extra_details: a.map("ExtraDetails")?,
    };
    a.require("ProductID")?;
    a.require("Quantity")?;
    Ok(item)
}

/// `Fields/Validate`: `{"Fields": [{"ID", "Value"}]}` → values by id.
/// Values may be text, numbers, booleans or lists of text (joined with
/// commas).
pub fn field_values(body: &Json<'_>) -> Result<BTreeMap<String, String>> {
    let o = Obj::root(body)?;
    let mut out = BTreeMap::new();
    for (i, v) in o.list("Fields")?.iter().enumerate() {
        let path = format!("Fields[{i}]");
        let Json::Object(map) = v else {
            return Err(FieldError::Type {
                path,
                expected: "a field object",
                found: describe(v),
            });
        };
        let f = Obj {
            map: Some(map),
            path: &path,
        };
        f.require("ID")?;
        let id = f.string("ID")?;
        let value = match f.get("Value") {
            Some(Json::Array(items)) => items
                .iter()
                .map(|x| {
                    scalar_text(x).ok_or_else(|| FieldError::Type {
                        path: format!("{path}.Value"),
                        expected: "text values",
                        found: describe(x),
                    })
                })
                .collect::<Result<Vec<_>>>()?
                .join(","),
            _ => f.string("Value")?,
        };
        out.insert(id, value);
    }
    Ok(out)
}

/// An `AccountDefinition` body (Accounts/*). `ID` is required on
/// Synchronize.
pub fn account_body(body: &Json<'_>, require_id: bool) -> Result<(Account, bool)> {
    let o = Obj::root(body)?;
    let account = account(o)?;
    let check_only = o.bool("CheckOnly")?;
    if require_id {
        o.require("ID")?;
    }
    Ok((account, check_only))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// `v` read as the server reads a body: from its bytes.
    fn read<T>(v: &Value, f: impl FnOnce(&Json<'_>) -> Result<T>) -> Result<T> {
        let bytes = serde_json::to_vec(v).unwrap();
        f(&Json::parse(&bytes).unwrap())
    }

    fn def(v: Value) -> Result<ServiceDefinition> {
        read(&v, |body| service_definition(body, false))
    }

    fn minimal() -> Value {
        json!({"ProductID": "cb_basic", "Quantity": 2, "Account": {"ID": "20417"}})
    }

    #[test]
    fn keys_ignore_case_and_strings_spell_numbers() {
        let d = def(
            json!({"productid": "P", "QUANTITY": "5", "account": {"id": 7}, "checkOnly": "true"}),
        )
        .unwrap();
        assert_eq!(
            (
                d.product_id.as_str(),
                d.quantity,
                d.account.id.as_str(),
                d.check_only
            ),
            ("P", 5, "7", true)
        );
    }

    #[test]
    fn enums_by_name_or_integer() {
        let mut v = minimal();
        v["ActionType"] = json!("upgradetopaid");
        assert_eq!(
            def(v.clone()).unwrap().action,
            Some(ActionType::UpgradeToPaid)
        );
        v["ActionType"] = json!(2);
        assert_eq!(def(v.clone()).unwrap().action, Some(ActionType::Cancel));
        v["ActionType"] = json!("Migrate");
        let read = def(v.clone()).unwrap();
        assert_eq!(read.action, Some(ActionType::Other));
        assert_eq!(read.action_text, "Migrate");
        v["ActionType"] = json!(9);
        let read = def(v.clone()).unwrap();
        assert_eq!(
            (read.action, read.action_text.as_str()),
            (Some(ActionType::Other), "9")
        );
        v["ActionType"] = json!({"x": 1});
        let err = def(v).unwrap_err();
        assert!(
            err.is_type()
                && err
                    .to_string()
                    .starts_with("ActionType must be an ActionType"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let mut v = minimal();
        v["Addons"] = json!([{"ProductID": "x", "Quantity": "lots"}]);
        let err = def(v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Addons[0].Quantity must be a whole number between -2147483648 and 2147483647, but it is the text \"lots\"."
        );
        let mut v = minimal();
        v["Quantity"] = json!(99999999999999999999u128 as f64);
        assert!(def(v).unwrap_err().is_type());
        let mut v = minimal();
        v["Quantity"] = json!(2.5);
        assert!(def(v).unwrap_err().is_type());
    }

    #[test]
    fn missing_required_keys() {
        let err = def(json!({"ProductID": "P", "Account": {"ID": "1"}})).unwrap_err();
        assert_eq!(
            err,
            FieldError::Missing {
                path: "Quantity".into()
            }
        );
        let err = def(json!({"ProductID": "P", "Quantity": 1, "Account": {}})).unwrap_err();
        assert_eq!(
            err,
            FieldError::Missing {
                path: "Account.ID".into()
            }
        );
        let err = read(&minimal(), |body| service_definition(body, true)).unwrap_err();
        assert_eq!(err, FieldError::Missing { path: "ID".into() });
        let mut v = minimal();
        v["Addons"] = json!([{"ProductID": "x"}]);
        assert_eq!(
            def(v).unwrap_err(),
            FieldError::Missing {
                path: "Addons[0].Quantity".into()
            }
        );
    }

    #[test]
    fn attribute_list_as_object_or_array_and_unquoted_values() {
        let mut v = minimal();
        v["AttributeList"] = json!({"storage_gb": {"ID": "other", "Value": 20, "QuantityLinked": true}, "sso": {"Value": true}});
        let d = def(v).unwrap();
        assert_eq!(d.attributes[1].id, "storage_gb");
        assert_eq!(d.attributes[1].value, "20");
        assert_eq!(d.attributes[0].value, "true");
        let mut v = minimal();
        v["AttributeList"] = json!([{"ID": "storage_gb", "Value": "20"}]);
        assert_eq!(def(v).unwrap().attributes[0].id, "storage_gb");
    }

    #[test]
    fn unknown_keys_and_nulls_are_ignored() {
        let mut v = minimal();
        v["Surprise"] = json!({"deep": [1, 2, 3]});
        v["Name"] = Value::Null;
        v["CustomFieldValues"] = json!({"a": 1, "b": null});
        let d = def(v).unwrap();
        assert_eq!(d.name, "");
        assert_eq!(d.custom_field_values["a"], "1");
    }

    #[test]
    fn validate_body_accepts_numbers_and_lists() {
        let body = json!({"Fields": [{"ID": "A", "Value": 3}, {"ID": "B", "Value": ["x", "y"]}, {"ID": "C"}]});
        let values = read(&body, field_values).unwrap();
        assert_eq!(values["A"], "3");
        assert_eq!(values["B"], "x,y");
        assert_eq!(values["C"], "");
    }
}
