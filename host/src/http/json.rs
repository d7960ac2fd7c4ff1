//! The platform's JSON bodies as a tree borrowed from the request bytes.
//!
//! `lenient` reads a body field by field (keys ignoring case, loose
//! types), so it needs a tree, not a typed struct. `serde_json::Value`
//! copies every string and builds a B-tree per object: ≈ 10 % of an unbound
//! pre-check's CPU. Here strings without escapes borrow from the body and an
//! object is one sorted vector: the example pre-check body reads in 3.8 µs
//! instead of 5.4 (`cargo bench --bench body_parse`; serde_json's parse
//! alone 0.9 µs).
//! It reads
//! exactly as `Value` does: the same parser and limits (serde_json's), the
//! same numbers (`serde_json::Number`), and objects keep serde_json's `Map`
//! order and rule for a repeated key (sorted by key, the last one sent wins).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::borrow::Cow;
use std::fmt;

/// A JSON value of a request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Members<'a>),
}

/// An object's members, sorted by key, one per key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Members<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Json<'a> {
    /// Parse `body` (serde_json's errors, recursion limit included).
    pub fn parse(body: &'a [u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(body)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

impl<'a> Members<'a> {
    /// The member named exactly `key`.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The members in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
        // As `Value` does (JSON text has no NaN or infinity anyway).
        Ok(Number::from_f64(f).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        // serde_json's `Map`: sorted by key, a repeated key's last value.
        // Reversed, a stable sort puts the last one sent first among equal
        // keys, and `dedup_by` keeps the first of each run.
        members.reverse();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        members.dedup_by(|later, kept| later.0 == kept.0);
        Ok(Json::Object(Members(members)))
    }
}

/// A member's key, borrowed when it has no escapes (serde's own
/// `Cow<str>` always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The same tree as `Value` parses, compared through `Value`.
    fn as_value(json: &Json<'_>) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(as_value).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), as_value(v)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn reads_every_body_as_serde_json_value_does() {
        let bodies = [
            r#"{"b": 1, "a": [true, null, -2, 3.5, 1e300, 18446744073709551615, 18446744073709551616], "c": {}}"#,
            r#"{"k": 1, "K": 2, "k": 3, "\u006b": 4, "esc\"aped": "t\u00e9xt\n", "é": "x"}"#,
            r#"[{"Quantity": "5"}, [], "", 0, -0, 1.0]"#,
            r#""just text""#,
        ];
        for body in bodies {
            let ours = Json::parse(body.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(body).unwrap();
            assert_eq!(as_value(&ours), theirs, "{body}");
            if let (Json::Object(members), Value::Object(map)) = (&ours, &theirs) {
                let keys: Vec<&str> = members.iter().map(|(k, _)| k).collect();
                let expected: Vec<&str> = map.keys().map(String::as_str).collect();
                assert_eq!(keys, expected, "{body}: key order");
                for key in map.keys() {
                    assert_eq!(members.get(key).map(as_value).as_ref(), map.get(key));
                }
                assert!(members.get("absent").is_none());
            }
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let Json::Object(members) = Json::parse(br#"{"a": 1, "b": 2, "a": 3}"#).unwrap() else {
            panic!("an object");
        };
        assert_eq!(members.get("a"), Some(&Json::Number(3.into())));
        assert_eq!(members.iter().count(), 2);
    }

    #[test]
    fn strings_without_escapes_borrow_from_the_body() {
        let body = br#"{"Name": "plain", "Escaped": "a\tb"}"#;
        let Json::Object(members) = Json::parse(body).unwrap() else {
            panic!("an object");
        };
        assert!(matches!(
            members.get("Name"),
            Some(Json::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(members.get("Escaped"), Some(Json::String(Cow::Owned(s))) if s == "a\tb"));
    }

    #[test]
    fn bad_json_fails_as_serde_json_does() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        for body in [
            "{",
            "{\"a\" 1}",
            "nul",
            "[1,]",
            "[1e400]",
            deep.as_str(),
            "{\"a\": 1} x",
        ] {
            let ours = Json::parse(body.as_bytes())
                .map(|_| ())
                .map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<Value>(body)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{body}");
            assert!(ours.is_err(), "{body}");
        }
    }
}
