//! The Service Manager API in the OpenAPI document: one annotated item per
//! path (several paths share a handler in `sm`, and the router matches
//! them in lower case). Request bodies are described by the spec's types
//! in `wire::platform`; the standard error answers (400, 401, 408, 413,
//! 500, 503 in the `ResultDefinition` envelope) and the security are added
//! to every `/api` operation by `openapi`. `every_documented_operation_is_served`
//! checks each is routed.

#![allow(dead_code)]

use super::wire::platform::*;
use crate::codec::documents::CatalogDoc;

#[utoipa::path(
    get,
    path = "/api/Fields/Get",
    tag = "Settings and catalogue",
    operation_id = "fields_get",
    summary = "Setting fields",
    description = "The partner settings this service declares (the tenant's setup fields).",
    responses((status = 200, description = "The answer.", body = FieldCollection, content_type = "application/json"))
)]
pub fn fields_get() {}

#[utoipa::path(
    post,
    path = "/api/Fields/Validate",
    tag = "Settings and catalogue",
    operation_id = "fields_validate",
    summary = "Validate settings",
    description = "Checks required fields, MaxLength, URL syntax and choices. Answers a bare array of problems; `[]` means valid.",
    request_body(content = FieldValues, content_type = "application/json"),
    responses((status = 200, description = "The answer.", body = Vec<String>, content_type = "application/json"))
)]
pub fn fields_validate() {}

#[utoipa::path(
    get,
    path = "/api/Fields/ServiceDefinition",
    tag = "Settings and catalogue",
    operation_id = "fields_service_definition",
    summary = "Catalogue",
    description = "The tenant's `ProductTypeCollection` (deterministic).",
    responses((status = 200, description = "The answer.", body = CatalogDoc, content_type = "application/json"))
)]
pub fn fields_service_definition() {}

#[utoipa::path(
    get,
    path = "/api/Fields/AdditionalInfo",
    tag = "Settings and catalogue",
    operation_id = "fields_additional_info",
    summary = "Additional info",
    description = "Always `{}`.",
    responses((status = 200, description = "The answer.", body = Object, content_type = "application/json"))
)]
pub fn fields_additional_info() {}

#[utoipa::path(
    get,
    path = "/api/Accounts/SyncOptions",
    tag = "Accounts",
    operation_id = "accounts_sync_options",
    summary = "Sync options",
    description = "Per-customer options (the tenant's setup fields' SyncOptions).",
    responses((status = 200, description = "The answer.", body = SyncOptionCollection, content_type = "application/json"))
)]
pub fn accounts_sync_options() {}

#[utoipa::path(
    post,
    path = "/api/Accounts/Synchronize",
    tag = "Accounts",
    operation_id = "accounts_synchronize",
    summary = "Create or update an account",
    description = "Idempotent per account `ID`: the same ID always answers the same external id. Check mode changes nothing.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = AccountDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = AccountResultDefinition, content_type = "application/json"))
)]
pub fn accounts_synchronize() {}

#[utoipa::path(
    post,
    path = "/api/Accounts/Exists",
    tag = "Accounts",
    operation_id = "accounts_exists",
    summary = "Does the account exist",
    description = "Code 1 with the external id in `Result` when it exists, else Code 0.",
    request_body(content = AccountDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ResultDefinition, content_type = "application/json"))
)]
pub fn accounts_exists() {}

#[utoipa::path(
    post,
    path = "/api/Accounts/Delete",
    tag = "Accounts",
    operation_id = "accounts_delete",
    summary = "Delete an account",
    description = "By `ExternalID` (or `ID`). A retried delete succeeds; an unknown account is Code -3; an account whose subscriptions are not all cancelled is Code -6 (nothing changes).",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = AccountDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ResultDefinition, content_type = "application/json"))
)]
pub fn accounts_delete() {}

#[utoipa::path(
    post,
    path = "/api/Accounts/IsReseller",
    tag = "Accounts",
    operation_id = "accounts_is_reseller",
    summary = "Is the account a reseller",
    description = "Bare `true`/`false`: whether any account names it as its reseller.",
    request_body(content = AccountDefinition, content_type = "application/json"),
    responses((status = 200, description = "The answer.", body = bool, content_type = "application/json"))
)]
pub fn accounts_is_reseller() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/Create",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_create",
    summary = "Create a subscription",
    description = "Idempotent per `SubscriptionID`. Quantity limits, pre-check rules, then (real mode) the resource plan and one transaction.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_create() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/Update",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_update",
    summary = "Change quantity or attributes",
    description = "Sets the new absolute totals.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_update() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/Cancel",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_cancel",
    summary = "Cancel a subscription",
    description = "Cancels it and every add-on; releases all resources. A retried cancel succeeds.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_cancel() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/Suspend",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_suspend",
    summary = "Suspend a subscription",
    description = "Keeps the totals.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_suspend() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/Activate",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_activate",
    summary = "Lift a suspension",
    description = "Keeps the totals.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_activate() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/UpgradeToPaid",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_upgrade_to_paid",
    summary = "Turn a trial into a paid subscription",
    description = "Keeps the external id.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_upgrade_to_paid() {}

#[utoipa::path(
    post,
    path = "/api/Subscriptions/UpgradeDowngrade",
    tag = "Subscriptions and add-ons",
    operation_id = "subscriptions_upgrade_downgrade",
    summary = "Switch product",
    description = "To the `ProductID` of the body.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn subscriptions_upgrade_downgrade() {}

#[utoipa::path(
    post,
    path = "/api/Addons/Create",
    tag = "Subscriptions and add-ons",
    operation_id = "addons_create",
    summary = "Add an add-on",
    description = "Add-ons with ActionType Provision are created (or converge when they exist). `Result`: the parent's id. Alias: `/api/Addon/Create`.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn addons_create() {}

#[utoipa::path(
    post,
    path = "/api/Addons/Update",
    tag = "Subscriptions and add-ons",
    operation_id = "addons_update",
    summary = "Change an add-on",
    description = "Add-ons with ActionType Provision must exist. Alias: `/api/Addon/Update`.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn addons_update() {}

#[utoipa::path(
    post,
    path = "/api/Addons/Cancel",
    tag = "Subscriptions and add-ons",
    operation_id = "addons_cancel",
    summary = "Remove an add-on",
    description = "Add-ons with ActionType Cancel are cancelled and excluded from the totals. Alias: `/api/Addon/Cancel`.",
    params(
        ("checkonly" = Option<bool>, Query, description = "Check mode, as an alternative to the body's `CheckOnly` (either one true means check mode).")
    ),
    request_body(content = ServiceDefinition, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn addons_cancel() {}

#[utoipa::path(
    post,
    path = "/api/Ppu/usages",
    tag = "Not supported",
    operation_id = "ppu_usages",
    summary = "Pay-per-use usages",
    description = "Not supported: Code -1 in the PPU answer's shape.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "The answer.", body = PpuResult, content_type = "application/json"))
)]
pub fn ppu_usages() {}

#[utoipa::path(
    post,
    path = "/api/Ppu/billingitems",
    tag = "Not supported",
    operation_id = "ppu_billing_items",
    summary = "Pay-per-use billing items",
    description = "Not supported: Code -1 in the PPU answer's shape.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "The answer.", body = PpuResult, content_type = "application/json"))
)]
pub fn ppu_billing_items() {}

#[utoipa::path(
    post,
    path = "/api/Users/{action}",
    tag = "Not supported",
    operation_id = "users",
    summary = "Users management",
    description = "Not supported: Code -1 (any action).",
    params(
        ("action" = String, Path, description = "Any action.")
    ),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ResultDefinition, content_type = "application/json"))
)]
pub fn users() {}

#[utoipa::path(
    post,
    path = "/api/Assets/Create",
    tag = "Not supported",
    operation_id = "assets_create",
    summary = "Create assets",
    description = "Not supported: Code -1.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn assets_create() {}

#[utoipa::path(
    post,
    path = "/api/Assets/Update",
    tag = "Not supported",
    operation_id = "assets_update",
    summary = "Update assets",
    description = "Not supported: Code -1.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn assets_update() {}

#[utoipa::path(
    post,
    path = "/api/Assets/Cancel",
    tag = "Not supported",
    operation_id = "assets_cancel",
    summary = "Cancel assets",
    description = "Not supported: Code -1.",
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "Every business outcome, success or refusal (see the Code table).", body = ServiceResultDefinition, content_type = "application/json"))
)]
pub fn assets_cancel() {}
