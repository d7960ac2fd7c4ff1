/**
 * Native test helpers (`node --test`, no WebAssembly): build requests,
 * targets and contexts, set what `customerSubscriptions()` answers, read
 * the log lines a rule wrote.
 *
 * ```ts
 * import { context, request, setCustomerSubscriptions, subscription } from "@tollgate/plugin/testing";
 * setCustomerSubscriptions([subscription({ serviceType: "cloudbackup" })]);
 * const verdict = rule.check(request({ serviceType: "cloudbackup" }), context());
 * ```
 *
 * @module
 */
import { Context } from "./context.ts";
import { standIn, type LogLine } from "./host.ts";
import { Attribute, wrapRequest, wrapTarget, type QuantityTarget, type Request } from "./model.ts";
import type * as wit from "./wit.ts";

export type { LogLine } from "./host.ts";

/** Fields of a test request; the account may be partial. */
export type RequestFields = Partial<Omit<wit.Request, "account">> & { account?: Partial<wit.Account> };

/**
 * A request for tests: a check-mode Subscriptions/Create of one seat of
 * `"product"` for account "1", with `fields` changed.
 */
export function request(fields: RequestFields = {}): Request {
  const { account, ...rest } = fields;
  const raw: wit.Request = {
    operation: "subscription-create",
    checkOnly: true,
    subscriptionId: "",
    platformSubscriptionId: "00000000-0000-0000-0000-000000000001",
    productId: "product",
    serviceType: "",
    action: "provision",
    actionText: "",
    quantity: 1,
    previousQuantity: null,
    isTrial: false,
    attributes: [],
    addons: [],
    settings: [],
    customFields: [],
    ...structuredClone(rest),
    account: {
      id: "1",
      externalId: null,
      resellerId: null,
      resellerExternalId: null,
      name: "",
      code: "",
      email: "",
      countryCode: "",
      isTest: false,
      syncOptions: [],
      ...structuredClone(account),
    },
  };
  return wrapRequest(raw);
}

/** The quantity target of a `quantity-limits` test: the subscription's, by default. */
export function target(fields: Partial<wit.QuantityTarget> = {}): QuantityTarget {
  return wrapTarget({
    kind: "subscription",
    productId: "product",
    quantity: 1,
    previousQuantity: null,
    attributes: [],
    ...structuredClone(fields),
  });
}

/** An attribute (named as its id, not a drop-down, not quantity-linked unless said). */
export function attribute(id: string, value: string, fields: Partial<wit.Attribute> = {}): Attribute {
  return Object.assign(new Attribute(), { id, name: id, value, code: "", quantityLinked: false, ...fields });
}

/** An add-on of a test request: one unit, action `none` unless said. */
export function addon(productId: string, fields: Partial<wit.Addon> = {}): wit.Addon {
  return {
    productId,
    name: productId,
    action: "none",
    actionText: "",
    quantity: 1,
    previousQuantity: null,
    attributes: [],
    ...fields,
  };
}

/**
 * A context: time `now` (ms since the epoch, default 0) and `config` (an
 * object, or JSON text; default `{}`).
 */
export function context(fields: { now?: number; config?: object | string; binding?: string; trackId?: string } = {}): Context {
  const config = fields.config ?? {};
  return new Context({
    now: fields.now ?? 0,
    config: typeof config === "string" ? config : JSON.stringify(config),
    binding: fields.binding ?? "test",
    trackId: fields.trackId ?? "",
  });
}

/**
 * A subscription the customer holds, for {@link setCustomerSubscriptions}:
 * active, one seat, created at 0, id `SUB-<product>-<createdAt>` unless said.
 */
export function subscription(fields: Partial<wit.SubscriptionInfo> = {}): wit.SubscriptionInfo {
  const productId = fields.productId ?? "product";
  const createdAt = fields.createdAt ?? 0;
  return {
    subscriptionId: `SUB-${productId}-${createdAt}`,
    productId,
    serviceType: "",
    status: "active",
    quantity: 1,
    isTrial: false,
    createdAt,
    ...fields,
  };
}

/** What `customerSubscriptions()` answers in native tests from now on. */
export function setCustomerSubscriptions(subscriptions: wit.SubscriptionInfo[]): void {
  standIn.subscriptions = structuredClone(subscriptions);
}

/** The log lines written so far (`log.*`; not `console.*`, which prints natively), then forgets them. */
export function takeLog(): LogLine[] {
  return standIn.log.splice(0);
}
