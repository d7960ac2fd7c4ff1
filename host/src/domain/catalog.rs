//! What Tollgate's rules need from a tenant's catalogue (the
//! `ProductTypeCollection` it publishes through `Fields/ServiceDefinition`):
//! product lookup, attribute kinds and product-type limits.

use std::collections::BTreeMap;

/// `AttributeDefinition.Kind` (spec §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeKind {
    Text,
    Numeric,
    DateTime,
    Boolean,
    PredefinedChooseOne,
    PredefinedChooseMany,
    CustomMultipleValues,
    Slider,
}

impl AttributeKind {
    pub const ALL: [AttributeKind; 8] = [
        AttributeKind::Text,
        AttributeKind::Numeric,
        AttributeKind::DateTime,
        AttributeKind::Boolean,
        AttributeKind::PredefinedChooseOne,
        AttributeKind::PredefinedChooseMany,
        AttributeKind::CustomMultipleValues,
        AttributeKind::Slider,
    ];

    pub fn wire_name(self) -> &'static str {
        match self {
            AttributeKind::Text => "Text",
            AttributeKind::Numeric => "Numeric",
            AttributeKind::DateTime => "DateTime",
            AttributeKind::Boolean => "Boolean",
            AttributeKind::PredefinedChooseOne => "PredefinedChooseOne",
            AttributeKind::PredefinedChooseMany => "PredefinedChooseMany",
            AttributeKind::CustomMultipleValues => "CustomMultipleValues",
            AttributeKind::Slider => "Slider",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductType {
    pub id: String,
    pub name: String,
    pub allow_multiple_subscriptions: bool,
    /// Maximum quantity; 0 = none.
    pub quantity_limit: i64,
    pub attributes: BTreeMap<String, AttributeKind>,
    /// Product type ids that must be active for the customer first.
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub code: String,
    pub name: String,
    pub product_type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddonProduct {
    pub id: String,
    pub code: String,
    pub name: String,
    /// Product ids it attaches to.
    pub products: Vec<String>,
    pub product_type: String,
}

/// A tenant's catalogue, indexed for rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub product_types: Vec<ProductType>,
    pub products: Vec<Product>,
    pub addons: Vec<AddonProduct>,
}

impl Catalog {
    pub fn product_type(&self, id: &str) -> Option<&ProductType> {
        self.product_types.iter().find(|t| t.id == id)
    }

    /// Spec §5.1: look a `ProductID` up as a product `ID`, then as a `Code`.
    pub fn product(&self, product_id: &str) -> Option<&Product> {
        self.products
            .iter()
            .find(|p| p.id == product_id)
            .or_else(|| {
                self.products
                    .iter()
                    .find(|p| !p.code.is_empty() && p.code == product_id)
            })
    }

    pub fn addon(&self, product_id: &str) -> Option<&AddonProduct> {
        self.addons.iter().find(|a| a.id == product_id).or_else(|| {
            self.addons
                .iter()
                .find(|a| !a.code.is_empty() && a.code == product_id)
        })
    }

    /// Every identity of a `ProductID` (spec §9): as sent, and the catalogue
    /// product's (or add-on's) `ID` and `Code` it resolves to.
    pub fn identities(catalog: Option<&Catalog>, product_id: &str) -> Vec<String> {
        let mut ids = vec![product_id.to_string()];
        if let Some(catalog) = catalog {
            if let Some(p) = catalog.product(product_id) {
                ids.extend([p.id.clone(), p.code.clone()]);
            } else if let Some(a) = catalog.addon(product_id) {
                ids.extend([a.id.clone(), a.code.clone()]);
            }
        }
        ids.retain(|id| !id.is_empty());
        ids.sort();
        ids.dedup();
        ids
    }

    /// A display name for messages: "Cloud Backup Basic (cb_basic)", or the
    /// bare id when the catalogue does not know it.
    pub fn describe(&self, product_id: &str) -> String {
        let name = self
            .product(product_id)
            .map(|p| p.name.as_str())
            .or_else(|| self.addon(product_id).map(|a| a.name.as_str()))
            .filter(|n| !n.is_empty());
        match name {
            Some(name) => format!("{name} ({product_id})"),
            None => product_id.to_string(),
        }
    }

    /// The kind of attribute `id` in product type `service_type` (or in any
    /// product type when that one does not declare it).
    pub fn attribute_kind(&self, service_type: &str, id: &str) -> Option<AttributeKind> {
        self.product_type(service_type)
            .and_then(|t| t.attributes.get(id).copied())
            .or_else(|| {
                self.product_types
                    .iter()
                    .find_map(|t| t.attributes.get(id).copied())
            })
    }
}
