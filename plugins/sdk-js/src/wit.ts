// Generated from wit/plugin.wit (tollgate:plugin@2.0.0) by tools/gen-types.mjs.
// Do not edit: run `npm run gen-types` after a contract change.

/** The contract these types come from. */
export const CONTRACT = "tollgate:plugin@2.0.0";

// interface types

/** The Service Manager endpoint being served. */
export type Operation =
  | "subscription-create"
  | "subscription-update"
  | "subscription-cancel"
  | "subscription-suspend"
  | "subscription-activate"
  | "subscription-upgrade-to-paid"
  | "subscription-upgrade-downgrade"
  | "addon-create"
  | "addon-update"
  | "addon-cancel";
/** Every case of {@link Operation}, in WIT order. */
export const operationCases: readonly Operation[] = ["subscription-create", "subscription-update", "subscription-cancel", "subscription-suspend", "subscription-activate", "subscription-upgrade-to-paid", "subscription-upgrade-downgrade", "addon-create", "addon-update", "addon-cancel"];

/**
 * The interworks `ActionType` of the subscription or of an add-on.
 * The endpoint, not this value, says what a call does.
 */
export type ActionType =
  | "none"
  | "provision"
  | "cancel"
  | "suspend"
  | "activate"
  | "upgrade"
  | "downgrade"
  | "upgrade-to-paid"
  /** A value this contract does not name (see `action-text`). */
  | "other";
/** Every case of {@link ActionType}, in WIT order. */
export const actionTypeCases: readonly ActionType[] = ["none", "provision", "cancel", "suspend", "activate", "upgrade", "downgrade", "upgrade-to-paid", "other"];

/** One characteristic of a product or add-on (an `AttributeList` entry). */
export interface Attribute {
  id: string;
  name: string;
  /** The value as text: "100", "1"/"0" for booleans, a label for drop-downs. */
  value: string;
  /** For drop-downs, the machine code of the chosen entry; empty otherwise. */
  code: string;
  /** The value counts once per unit of its owner's quantity. */
  quantityLinked: boolean;
}

/** One add-on of the subscription. Every call carries all of them. */
export interface Addon {
  productId: string;
  name: string;
  /**
   * `provision` for the add-on being created or changed, `cancel` for
   * the one being removed, `none` for the rest.
   */
  action: ActionType;
  /**
   * The `ActionType` as the platform sent it ("Provision", "9"…);
   * empty when absent.
   */
  actionText: string;
  /** The new total quantity of this add-on. */
  quantity: number;
  /**
   * The quantity Tollgate had stored before this call; none if the
   * add-on is new.
   */
  previousQuantity: number | null;
  attributes: Attribute[];
}

/** The customer the call is about. */
export interface Account {
  /** The platform's account id. */
  id: string;
  /** The id Tollgate returned from `Accounts/Synchronize`, if any. */
  externalId: string | null;
  resellerId: string | null;
  resellerExternalId: string | null;
  name: string;
  code: string;
  email: string;
  /** Two-letter country code of the postal address; may be empty. */
  countryCode: string;
  isTest: boolean;
  /** Values of the sync options, keyed by option id. */
  syncOptions: [string, string][];
}

/** What the platform asked for, as a typed view of the request body. */
export interface Request {
  operation: Operation;
  /** True in pre-check mode: nothing will be provisioned by this call. */
  checkOnly: boolean;
  /** Tollgate's external subscription id (`ID`); empty on create. */
  subscriptionId: string;
  /** The platform's own subscription id (`SubscriptionID`). */
  platformSubscriptionId: string;
  productId: string;
  /** The product type id (`ServiceType`). */
  serviceType: string;
  action: ActionType;
  /** The `ActionType` as the platform sent it; empty when absent. */
  actionText: string;
  /** The new total quantity of the subscription. */
  quantity: number;
  /** The quantity Tollgate had stored before this call; none on create. */
  previousQuantity: number | null;
  isTrial: boolean;
  attributes: Attribute[];
  addons: Addon[];
  account: Account;
  /**
   * The partner's setting values (`X-CloudPlatform-Setting-*`),
   * keyed by field id. Password fields are never passed to plugins.
   */
  settings: [string, string][];
  /** `CustomFieldValues` of the request. */
  customFields: [string, string][];
}

/** What the host supplies besides the request. */
export interface Context {
  /**
   * The decision's time in milliseconds since the Unix epoch (UTC).
   * This is the only clock a plugin has; the WASI clocks read it too.
   */
  now: number;
  /** The binding's configuration as JSON text (`{}` when none). */
  config: string;
  /** The name of the binding being evaluated. */
  binding: string;
  /** The platform's `X-CloudPlatform-TrackId` of the call. */
  trackId: string;
}

export type SubscriptionStatus =
  | "active"
  | "suspended"
  | "cancelled";
/** Every case of {@link SubscriptionStatus}, in WIT order. */
export const subscriptionStatusCases: readonly SubscriptionStatus[] = ["active", "suspended", "cancelled"];

/** A subscription the customer already holds with this tenant. */
export interface SubscriptionInfo {
  /** Tollgate's external subscription id. */
  subscriptionId: string;
  productId: string;
  serviceType: string;
  status: SubscriptionStatus;
  quantity: number;
  isTrial: boolean;
  /** Creation time in milliseconds since the Unix epoch (UTC). */
  createdAt: number;
}

export type LogLevel =
  | "trace"
  | "debug"
  | "info"
  | "warn"
  | "error";
/** Every case of {@link LogLevel}, in WIT order. */
export const logLevelCases: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error"];

/** A business refusal answered to the platform. */
export interface Rejection {
  /**
   * A business-rule code in -199..=-100 (e.g. -101 one active
   * subscription, -102 prerequisite missing, -107 cancellation window).
   */
  code: number;
  /** A complete sentence the platform shows to the user verbatim. */
  message: string;
}

export type Verdict =
  | { tag: "accept" }
  | { tag: "reject"; val: Rejection };

/** Which quantity a `quantity-limits` call is about. */
export type TargetKind =
  | "subscription"
  | "addon";
/** Every case of {@link TargetKind}, in WIT order. */
export const targetKindCases: readonly TargetKind[] = ["subscription", "addon"];

/** The quantity being set: the subscription's, or one add-on's. */
export interface QuantityTarget {
  kind: TargetKind;
  productId: string;
  /** The requested new total. */
  quantity: number;
  /** The stored total before this call; none when new. */
  previousQuantity: number | null;
  attributes: Attribute[];
}

/**
 * Allowed quantities: `min <= q <= max` and `(q - min) % step == 0`
 * (`min` defaults to 0 for the step). Absent bounds do not constrain.
 */
export interface Limits {
  min: number | null;
  max: number | null;
  step: number | null;
}

/** The value of one vendor resource. */
export type ResourceValue =
  /** An exact decimal number as text, e.g. "360" or "12.5"; never negative. */
  | { tag: "amount"; val: string }
  /** An on/off feature. */
  | { tag: "feature"; val: boolean }
  /** A text value, e.g. a region code. */
  | { tag: "text"; val: string };

/** One absolute total to set at the vendor. */
export interface ResourceTotal {
  id: string;
  value: ResourceValue;
}

/** What a `resources` plugin decides for a real call. */
export type PlanOutcome =
  /** The absolute totals to provision. */
  | { tag: "totals"; val: ResourceTotal[] }
  /**
   * A business refusal: the call is answered with this code and
   * message and nothing is provisioned.
   */
  | { tag: "refuse"; val: Rejection };

/** Where a binding's configuration is wrong. */
export interface ConfigError {
  /**
   * A JSON path into the config, e.g. `$.products.cb_basic.min`
   * (`$` for the whole document).
   */
  path: string;
  /** What is wrong, for the tenant's administrator. */
  message: string;
}

/**
 * The plugin could not decide. Never shown to the platform's user: the
 * host answers a fixed sentence and keeps this in the decision log.
 */
export type PluginError =
  /** The binding's configuration cannot be used. */
  | { tag: "invalid-config"; val: ConfigError }
  /** Anything else, in the plugin's own words. */
  | { tag: "failed"; val: string };

// interface host

/** What the host offers every plugin. Read-only and tenant-scoped. */
export interface HostImports {
  /**
   * Append a line to this call's plugin log (kept in the decision log;
   * truncated with a marker past the per-call log limit).
   */
  log(level: LogLevel, message: string): void;
  /**
   * The subscriptions the calling customer (same account, same tenant)
   * holds, any status, newest first, at most 1000; the subscription the
   * call is about is among them (a create's is not stored yet).
   */
  customerSubscriptions(): SubscriptionInfo[];
}

// world precheck

/** Accept or reject a Subscriptions/* or Addons/* call. */
export interface PrecheckExports {
  /** @throws {PluginError} the error case of the WIT result */
  check(request: Request, context: Context): Verdict;
  /**
   * Called when a binding is saved, with its configuration as JSON text.
   * @throws {ConfigError} the error case of the WIT result
   */
  validateConfig(config: string): void;
}

// world quantity-limits

/**
 * Return the allowed quantity range for the subscription or an add-on; the
 * host enforces it (-105 below the minimum, -106 above the maximum, -108
 * off-step). `none` means no limits from this plugin.
 */
export interface QuantityLimitsExports {
  /** @throws {PluginError} the error case of the WIT result */
  limits(request: Request, target: QuantityTarget, context: Context): Limits | null;
  /**
   * Called when a binding is saved, with its configuration as JSON text.
   * @throws {ConfigError} the error case of the WIT result
   */
  validateConfig(config: string): void;
}

// world resources

/**
 * Compute the absolute resource totals to provision for a real call, or
 * refuse it.
 */
export interface ResourcesExports {
  /** @throws {PluginError} the error case of the WIT result */
  plan(request: Request, context: Context): PlanOutcome;
  /**
   * Called when a binding is saved, with its configuration as JSON text.
   * @throws {ConfigError} the error case of the WIT result
   */
  validateConfig(config: string): void;
}
