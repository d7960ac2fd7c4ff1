//! The hook contract as plain Rust data: what a plugin is given and what it
//! answers. The runtime maps these to and from the WIT types; the codec
//! module gives them their JSON form (fixtures, decision log). Field and
//! variant names follow the WIT contract (`wit/v2/plugin.wit`, a superset of
//! `wit/v1`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The three extension points. A plugin component implements exactly one.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    Precheck,
    QuantityLimits,
    Resources,
}

impl Hook {
    pub const ALL: [Hook; 3] = [Hook::Precheck, Hook::QuantityLimits, Hook::Resources];

    /// The name used in the WIT world, the CLI, the admin API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Precheck => "precheck",
            Hook::QuantityLimits => "quantity-limits",
            Hook::Resources => "resources",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown hook name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hook `{0}` (expected precheck, quantity-limits or resources)")]
pub struct UnknownHook(pub String);

impl FromStr for Hook {
    type Err = UnknownHook;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hook::ALL
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| UnknownHook(s.to_string()))
    }
}

/// What happens when a plugin fails (traps, hits a limit, answers garbage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The call is refused (Code -1) with a message naming the binding.
    Reject,
    /// The rule is skipped.
    Allow,
}

impl FailurePolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reject" => Some(FailurePolicy::Reject),
            "allow" => Some(FailurePolicy::Allow),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Reject => "reject",
            FailurePolicy::Allow => "allow",
        }
    }
}

/// The Service Manager endpoint being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    SubscriptionCreate,
    SubscriptionUpdate,
    SubscriptionCancel,
    SubscriptionSuspend,
    SubscriptionActivate,
    SubscriptionUpgradeToPaid,
    SubscriptionUpgradeDowngrade,
    AddonCreate,
    AddonUpdate,
    AddonCancel,
}

impl Operation {
    /// The canonical endpoint path (without `/api/`), as the platform calls it.
    pub fn endpoint(self) -> &'static str {
        match self {
            Operation::SubscriptionCreate => "Subscriptions/Create",
            Operation::SubscriptionUpdate => "Subscriptions/Update",
            Operation::SubscriptionCancel => "Subscriptions/Cancel",
            Operation::SubscriptionSuspend => "Subscriptions/Suspend",
            Operation::SubscriptionActivate => "Subscriptions/Activate",
            Operation::SubscriptionUpgradeToPaid => "Subscriptions/UpgradeToPaid",
            Operation::SubscriptionUpgradeDowngrade => "Subscriptions/UpgradeDowngrade",
            Operation::AddonCreate => "Addons/Create",
            Operation::AddonUpdate => "Addons/Update",
            Operation::AddonCancel => "Addons/Cancel",
        }
    }

    pub fn is_addon(self) -> bool {
        matches!(
            self,
            Operation::AddonCreate | Operation::AddonUpdate | Operation::AddonCancel
        )
    }
}

/// The interworks `ActionType` (spec §5.4), in its integer order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActionType {
    None,
    Provision,
    Cancel,
    Suspend,
    Activate,
    Upgrade,
    Downgrade,
    UpgradeToPaid,
    /// A value the contract does not name; the text is in `action_text`.
    Other,
}

impl ActionType {
    /// The named actions, in the platform's integer order (`Other` is not
    /// one of them).
    pub const ALL: [ActionType; 8] = [
        ActionType::None,
        ActionType::Provision,
        ActionType::Cancel,
        ActionType::Suspend,
        ActionType::Activate,
        ActionType::Upgrade,
        ActionType::Downgrade,
        ActionType::UpgradeToPaid,
    ];

    /// The interworks wire name (`"UpgradeToPaid"`).
    pub fn wire_name(self) -> &'static str {
        match self {
            ActionType::None => "None",
            ActionType::Provision => "Provision",
            ActionType::Cancel => "Cancel",
            ActionType::Suspend => "Suspend",
            ActionType::Activate => "Activate",
            ActionType::Upgrade => "Upgrade",
            ActionType::Downgrade => "Downgrade",
            ActionType::UpgradeToPaid => "UpgradeToPaid",
            ActionType::Other => "Other",
        }
    }
}

/// One characteristic (`AttributeList` entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attribute {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub quantity_linked: bool,
}

/// One add-on as a plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddonView {
    pub product_id: String,
    #[serde(default)]
    pub name: String,
    pub action: ActionType,
    /// The `ActionType` as the platform sent it; empty when absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action_text: String,
    pub quantity: i64,
    #[serde(default)]
    pub previous_quantity: Option<i64>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

/// The customer as a plugin sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AccountView {
    pub id: String,
    pub external_id: Option<String>,
    pub reseller_id: Option<String>,
    pub reseller_external_id: Option<String>,
    pub name: String,
    pub code: String,
    pub email: String,
    pub country_code: String,
    pub is_test: bool,
    /// `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub sync_options: Vec<(String, String)>,
}

/// The request a plugin sees: the platform's call plus what Tollgate knows
/// (previous quantities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HookRequest {
    pub operation: Operation,
    #[serde(default)]
    pub check_only: bool,
    #[serde(default)]
    pub subscription_id: String,
    #[serde(default)]
    pub platform_subscription_id: String,
    pub product_id: String,
    #[serde(default)]
    pub service_type: String,
    #[serde(default = "provision")]
    pub action: ActionType,
    /// The `ActionType` as the platform sent it; empty when absent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action_text: String,
    pub quantity: i64,
    #[serde(default)]
    pub previous_quantity: Option<i64>,
    #[serde(default)]
    pub is_trial: bool,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub addons: Vec<AddonView>,
    #[serde(default)]
    pub account: AccountView,
    #[serde(default)]
    /// `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub settings: Vec<(String, String)>,
    #[serde(default)]
    /// `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub custom_fields: Vec<(String, String)>,
}

fn provision() -> ActionType {
    ActionType::Provision
}

// Hash by hand so that an empty `action_text` hashes as if the field did not
// exist: seeds derived from inputs logged before it existed stay the same.
impl std::hash::Hash for AddonView {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.product_id.hash(state);
        self.name.hash(state);
        self.action.hash(state);
        if !self.action_text.is_empty() {
            self.action_text.hash(state);
        }
        self.quantity.hash(state);
        self.previous_quantity.hash(state);
        self.attributes.hash(state);
    }
}

impl std::hash::Hash for HookRequest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.operation.hash(state);
        self.check_only.hash(state);
        self.subscription_id.hash(state);
        self.platform_subscription_id.hash(state);
        self.product_id.hash(state);
        self.service_type.hash(state);
        self.action.hash(state);
        if !self.action_text.is_empty() {
            self.action_text.hash(state);
        }
        self.quantity.hash(state);
        self.previous_quantity.hash(state);
        self.is_trial.hash(state);
        self.attributes.hash(state);
        self.addons.hash(state);
        self.account.hash(state);
        self.settings.hash(state);
        self.custom_fields.hash(state);
    }
}

/// What the host supplies besides the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HookContext {
    /// Milliseconds since the Unix epoch.
    pub now: i64,
    /// The binding's configuration as JSON text.
    #[serde(default = "empty_config")]
    pub config: String,
    #[serde(default)]
    pub binding: String,
    #[serde(default)]
    pub track_id: String,
}

fn empty_config() -> String {
    "{}".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Subscription,
    Addon,
}

/// The quantity a `quantity-limits` call is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuantityTarget {
    pub kind: TargetKind,
    pub product_id: String,
    pub quantity: i64,
    #[serde(default)]
    pub previous_quantity: Option<i64>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionStatus {
    Active,
    Suspended,
    Cancelled,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Suspended => "suspended",
            SubscriptionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A subscription the customer already holds (host import answer).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionInfo {
    pub subscription_id: String,
    pub product_id: String,
    #[serde(default)]
    pub service_type: String,
    pub status: SubscriptionStatus,
    pub quantity: i64,
    #[serde(default)]
    pub is_trial: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// Allowed quantities (each bound optional).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Limits {
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rejection {
    pub code: i32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Accept,
    Reject(Rejection),
}

/// The value of one vendor resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceValue {
    /// An exact, non-negative decimal.
    Amount(Decimal),
    Feature(bool),
    Text(String),
}

/// One absolute resource total.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceTotal {
    pub id: String,
    pub value: ResourceValue,
}

/// Everything one hook invocation is given. Replaying it with the same
/// plugin gives the same output: `subscriptions` is the recorded answer of
/// the `customer-subscriptions` import and `seed` seeds the sandbox's random.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HookInput {
    pub request: HookRequest,
    /// Only for `quantity-limits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<QuantityTarget>,
    pub context: HookContext,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionInfo>,
    /// Seeds the sandbox's random generators; derived from the input when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl HookInput {
    /// The seed for the sandbox's random sources: the recorded one, or a hash
    /// of the input, so the same input always sees the same "random" bytes.
    pub fn effective_seed(&self) -> u64 {
        if let Some(seed) = self.seed {
            return seed;
        }
        use std::hash::{Hash, Hasher};
        // A word-wise multiply-rotate hash over the derived Hash: stable
        // across processes, and cheap next to a plugin call.
        let mut hasher = SeedHasher::default();
        self.request.hash(&mut hasher);
        self.target.hash(&mut hasher);
        // Not the TrackId: it names the call, it is not part of the question.
        self.context.now.hash(&mut hasher);
        self.context.config.hash(&mut hasher);
        self.context.binding.hash(&mut hasher);
        self.subscriptions.hash(&mut hasher);
        hasher.finish()
    }
}

#[derive(Default)]
struct SeedHasher(u64);

impl SeedHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl std::hash::Hasher for SeedHasher {
    fn finish(&self) -> u64 {
        // Final avalanche (splitmix64) so nearby inputs give unrelated seeds.
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.mix(i as u64);
    }
}

/// What a `resources` plugin decided.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanOutcome {
    /// The absolute totals to provision.
    Totals(Vec<ResourceTotal>),
    /// A business refusal answered to the platform with this code and
    /// message (contract v1's `err(text)` is Code -2, invalid request).
    Refuse(Rejection),
}

/// Code of contract v1's plan `err(text)`: the request is invalid.
pub const V1_PLAN_ERROR_CODE: i32 = -2;

/// What a plugin answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookOutput {
    Verdict(Verdict),
    Limits(Option<Limits>),
    Plan(PlanOutcome),
}

impl HookOutput {
    pub fn hook(&self) -> Hook {
        match self {
            HookOutput::Verdict(_) => Hook::Precheck,
            HookOutput::Limits(_) => Hook::QuantityLimits,
            HookOutput::Plan(_) => Hook::Resources,
        }
    }
}
