/**
 * The hook inputs as classes: the generated WIT records plus the helpers of
 * the Rust SDK. The records the host hands over get these prototypes in
 * place (no copy), so every field of the contract is there as generated.
 *
 * @module
 */
import type * as wit from "./wit.ts";

/** One characteristic of a product or add-on. */
export interface Attribute extends wit.Attribute {}
export class Attribute {
  /** The value as an integer (`""` counts as 0); throws when it is not one. */
  asInt(): number {
    const text = this.value.trim();
    if (text === "") return 0;
    const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new Error(`attribute \`${this.id}\` is ${JSON.stringify(this.value)}, not an integer`);
    }
    return n;
  }

  /** The value as a feature: `"1"` or `"true"` (any case) is on, anything else off. */
  asBool(): boolean {
    const text = this.value.trim();
    return text === "1" || text.toLowerCase() === "true";
  }

  /** The drop-down choice: `code`, or `value` when `code` is empty. */
  choice(): string {
    return this.code === "" ? this.value : this.code;
  }
}

function find(attributes: Attribute[], id: string): Attribute | undefined {
  return attributes.find((a) => a.id === id);
}

function lookup(pairs: [string, string][], key: string, ignoreCase: boolean): string | undefined {
  const want = ignoreCase ? key.toLowerCase() : key;
  return pairs.find(([k]) => (ignoreCase ? k.toLowerCase() : k) === want)?.[1];
}

/** One add-on of the subscription (every call carries all of them). */
export interface Addon extends wit.Addon {
  attributes: Attribute[];
}
export class Addon {
  /** This add-on's attribute `id`. */
  attribute(id: string): Attribute | undefined {
    return find(this.attributes, id);
  }

  /** True unless this add-on is being cancelled by the call. */
  isActive(): boolean {
    return this.action !== "cancel";
  }
}

/** The customer the call is about. */
export interface Account extends wit.Account {}
export class Account {
  /** A sync option value (e.g. `"username"`). */
  syncOption(id: string): string | undefined {
    return lookup(this.syncOptions, id, false);
  }

  /** True when the account belongs to a reseller. */
  hasReseller(): boolean {
    return !!this.resellerId;
  }
}

/** What the platform asked for: the typed request plus helpers. */
export interface Request extends wit.Request {
  attributes: Attribute[];
  addons: Addon[];
  account: Account;
}
export class Request {
  /** The subscription's attribute `id`. */
  attribute(id: string): Attribute | undefined {
    return find(this.attributes, id);
  }

  /** The subscription's attribute `id` as an integer; `undefined` when absent. */
  attributeInt(id: string): number | undefined {
    return this.attribute(id)?.asInt();
  }

  /** The subscription's feature attribute `id` (absent = off). */
  attributeBool(id: string): boolean {
    return this.attribute(id)?.asBool() ?? false;
  }

  /** The subscription's drop-down attribute `id` (its code). */
  attributeChoice(id: string): string | undefined {
    return this.attribute(id)?.choice();
  }

  /** Add-ons that stay or are being provisioned: all but the one being cancelled. */
  activeAddons(): Addon[] {
    return this.addons.filter((a) => a.action !== "cancel");
  }

  /** Add-ons with the given action (`"provision"`: created or changed by this call). */
  addonsWith(action: wit.ActionType): Addon[] {
    return this.addons.filter((a) => a.action === action);
  }

  /** The add-on with product id `productId`. */
  addon(productId: string): Addon | undefined {
    return this.addons.find((a) => a.productId === productId);
  }

  /** A partner setting (`X-CloudPlatform-Setting-<id>`), ignoring case as HTTP headers do. */
  setting(id: string): string | undefined {
    return lookup(this.settings, id, true);
  }

  /** A `CustomFieldValues` entry. */
  customField(id: string): string | undefined {
    return lookup(this.customFields, id, false);
  }

  /** New total minus the stored total; the whole quantity when nothing was stored. */
  quantityDelta(): number {
    return this.quantity - (this.previousQuantity ?? 0);
  }
}

/** The quantity a `quantity-limits` call is about. */
export interface QuantityTarget extends wit.QuantityTarget {
  attributes: Attribute[];
}
export class QuantityTarget {
  /** This target's attribute `id`. */
  attribute(id: string): Attribute | undefined {
    return find(this.attributes, id);
  }
}

/** A subscription the customer already holds with this tenant. */
export interface SubscriptionInfo extends wit.SubscriptionInfo {}
export class SubscriptionInfo {
  /** True while the subscription counts as held: active or suspended. */
  isHeld(): boolean {
    return this.status !== "cancelled";
  }
}

function adopt<T extends object>(raw: object, proto: T): T {
  return Object.setPrototypeOf(raw, proto) as T;
}

function attributes(list: wit.Attribute[]): Attribute[] {
  for (const a of list) adopt(a, Attribute.prototype);
  return list as Attribute[];
}

/** Give a request record from the host its helpers. */
export function wrapRequest(raw: wit.Request): Request {
  attributes(raw.attributes);
  for (const addon of raw.addons) {
    attributes(addon.attributes);
    adopt(addon, Addon.prototype);
  }
  adopt(raw.account, Account.prototype);
  return adopt(raw, Request.prototype);
}

/** Give a target record from the host its helpers. */
export function wrapTarget(raw: wit.QuantityTarget): QuantityTarget {
  attributes(raw.attributes);
  return adopt(raw, QuantityTarget.prototype);
}

/** Give subscription records from the host their helpers. */
export function wrapSubscriptions(list: wit.SubscriptionInfo[]): SubscriptionInfo[] {
  for (const s of list) adopt(s, SubscriptionInfo.prototype);
  return list as SubscriptionInfo[];
}
