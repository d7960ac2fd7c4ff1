//! Setting fields (spec §4.1, §2.6): what a partner enters in BSS, sent back
//! as `X-CloudPlatform-Setting-<ID>` headers on every call.

use std::collections::BTreeMap;

/// `FieldDefinition.Kind`, in integer order 0–11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Text,
    PasswordText,
    Url,
    Integer,
    PredefinedChooseOne,
    PredefinedChooseMany,
    CustomMultipleValues,
    MultiLineTextBox,
    Checkbox,
    Hidden,
    Label,
    CertificateFile,
}

impl FieldKind {
    pub const ALL: [FieldKind; 12] = [
        FieldKind::Text,
        FieldKind::PasswordText,
        FieldKind::Url,
        FieldKind::Integer,
        FieldKind::PredefinedChooseOne,
        FieldKind::PredefinedChooseMany,
        FieldKind::CustomMultipleValues,
        FieldKind::MultiLineTextBox,
        FieldKind::Checkbox,
        FieldKind::Hidden,
        FieldKind::Label,
        FieldKind::CertificateFile,
    ];

    pub fn wire_name(self) -> &'static str {
        match self {
            FieldKind::Text => "Text",
            FieldKind::PasswordText => "PasswordText",
            FieldKind::Url => "Url",
            FieldKind::Integer => "Integer",
            FieldKind::PredefinedChooseOne => "PredefinedChooseOne",
            FieldKind::PredefinedChooseMany => "PredefinedChooseMany",
            FieldKind::CustomMultipleValues => "CustomMultipleValues",
            FieldKind::MultiLineTextBox => "MultiLineTextBox",
            FieldKind::Checkbox => "Checkbox",
            FieldKind::Hidden => "Hidden",
            FieldKind::Label => "Label",
            FieldKind::CertificateFile => "CertificateFile",
        }
    }
}

/// One setting field, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingField {
    pub id: String,
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    /// 0 = no limit.
    pub max_length: usize,
    /// code → label, for the `Predefined*` kinds.
    pub predefined: BTreeMap<String, String>,
}

/// A tenant's setting fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupFields {
    pub fields: Vec<SettingField>,
}

/// Field ids must be usable as header names: `[A-Za-z0-9_-]{1,64}`.
pub fn valid_field_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SetupFields {
    pub fn field(&self, id: &str) -> Option<&SettingField> {
        self.fields.iter().find(|f| f.id.eq_ignore_ascii_case(id))
    }

    /// `Fields/Validate` (spec §4.1): the problems with `values` (by field
    /// id), one sentence each; empty means valid.
    pub fn validate(&self, values: &BTreeMap<String, String>) -> Vec<String> {
        let mut problems = Vec::new();
        let value_of = |id: &str| {
            values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(id))
                .map(|(_, v)| v.as_str())
        };
        for field in &self.fields {
            let value = value_of(&field.id).unwrap_or("").trim();
            if value.is_empty() {
                if field.required {
                    problems.push(format!("{} could not be empty", field.name));
                }
                continue;
            }
            if field.max_length > 0 && value.chars().count() > field.max_length {
                problems.push(format!(
                    "{} must be at most {} characters long",
                    field.name, field.max_length
                ));
            }
            match field.kind {
                FieldKind::Url if !looks_like_url(value) => {
                    problems.push(format!(
                        "{} must be an absolute http:// or https:// URL",
                        field.name
                    ));
                }
                FieldKind::Integer if value.parse::<i64>().is_err() => {
                    problems.push(format!("{} must be a whole number", field.name));
                }
                FieldKind::PredefinedChooseOne if !field.predefined.contains_key(value) => {
                    problems.push(format!("{} must be one of: {}", field.name, choices(field)));
                }
                FieldKind::PredefinedChooseMany
                    if value
                        .split(',')
                        .map(str::trim)
                        .any(|v| !field.predefined.contains_key(v)) =>
                {
                    problems.push(format!(
                        "{} must be made of: {}",
                        field.name,
                        choices(field)
                    ));
                }
                _ => {}
            }
        }
        for id in values.keys() {
            if self.field(id).is_none() {
                problems.push(format!("{id} is not a setting of this service"));
            }
        }
        problems
    }

    /// The required settings missing from a call's headers (spec §2.6).
    pub fn missing_required<'a>(&'a self, sent: &[(String, String)]) -> Option<&'a SettingField> {
        self.fields.iter().find(|f| {
            f.required
                && !sent
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(&f.id) && !v.trim().is_empty())
        })
    }

    /// The settings a plugin may see: everything but password fields.
    pub fn visible_to_plugins(&self, sent: &[(String, String)]) -> Vec<(String, String)> {
        sent.iter()
            .filter(|(k, _)| {
                self.field(k)
                    .is_none_or(|f| f.kind != FieldKind::PasswordText)
            })
            .cloned()
            .collect()
    }
}

fn choices(field: &SettingField) -> String {
    field
        .predefined
        .iter()
        .map(|(code, label)| format!("{code} ({label})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn looks_like_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> SetupFields {
        let f = |id: &str, name: &str, kind, required| SettingField {
            id: id.into(),
            name: name.into(),
            kind,
            required,
            max_length: 0,
            predefined: BTreeMap::new(),
        };
        let mut region = f(
            "FieldRegion",
            "Region",
            FieldKind::PredefinedChooseOne,
            true,
        );
        region.predefined = [
            ("1".to_string(), "Data Center 1".to_string()),
            ("2".into(), "Data Center 2".into()),
        ]
        .into();
        SetupFields {
            fields: vec![
                f("FieldUsername", "Username", FieldKind::Text, true),
                f("FieldPassword", "Password", FieldKind::PasswordText, true),
                f("FieldUri", "Uri", FieldKind::Url, true),
                region,
            ],
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_spec_example_reports_the_empty_password() {
        let v = values(&[
            ("FieldUsername", "partner-ops"),
            ("FieldPassword", ""),
            ("FieldUri", "https://api.vendor.example"),
            ("FieldRegion", "1"),
        ]);
        assert_eq!(
            fields().validate(&v),
            vec!["Password could not be empty".to_string()]
        );
    }

    #[test]
    fn urls_and_choices_are_checked() {
        let v = values(&[
            ("FieldUsername", "u"),
            ("FieldPassword", "p"),
            ("FieldUri", "ftp://x"),
            ("FieldRegion", "9"),
        ]);
        let problems = fields().validate(&v);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("URL"));
        assert!(problems[1].contains("1 (Data Center 1)"));
    }

    #[test]
    fn passwords_never_reach_plugins() {
        let sent = vec![
            ("fieldpassword".to_string(), "S3cret".to_string()),
            ("FieldRegion".to_string(), "1".to_string()),
        ];
        assert_eq!(
            fields().visible_to_plugins(&sent),
            vec![("FieldRegion".to_string(), "1".to_string())]
        );
    }

    #[test]
    fn required_settings_are_looked_up_ignoring_case() {
        let sent = vec![
            ("fieldusername".to_string(), "u".to_string()),
            ("FIELDPASSWORD".to_string(), "p".to_string()),
            ("fielduri".to_string(), "https://x".to_string()),
        ];
        assert_eq!(
            fields().missing_required(&sent).map(|f| f.id.as_str()),
            Some("FieldRegion")
        );
    }
}
