/**
 * # Writing a Tollgate plugin in TypeScript or JavaScript
 *
 * A plugin module implements one hook and default-exports its definition:
 *
 * ```ts
 * import { accept, precheck, reject } from "@tollgate/plugin";
 *
 * export default precheck({
 *   check(request) {
 *     return request.account.isTest ? reject(-120, "Test accounts cannot buy this service.") : accept();
 *   },
 * });
 * ```
 *
 * | hook | definition | answers |
 * |---|---|---|
 * | `precheck` | {@link precheck} | `accept()`, or `reject(code, message)` with a code in -199..-100 |
 * | `quantity-limits` | {@link quantityLimits} | `{ min, max, step }` (each optional) or `null`; the host enforces it |
 * | `resources` | {@link resources} | `[amount(…), feature(…), text(…)]`, or `refuse(code, message)` |
 *
 * A thrown error is a *plugin failure* (the contract's `plugin-error`; the
 * binding's failure policy applies), never a rejection: a {@link ConfigError}
 * becomes `invalid-config` with its JSON path, anything else `failed`.
 * Every hook also answers `validate-config` with its `config` parser.
 *
 * `tollgate-plugin build` turns the module into a WebAssembly component;
 * `@tollgate/plugin/testing` runs it natively under `node --test`.
 *
 * @module
 */
export { Context, parseConfig } from "./context.ts";
export { ConfigError } from "./errors.ts";
export {
  precheck,
  quantityLimits,
  resources,
  type Hook,
  type Plugin,
  type PrecheckPlugin,
  type QuantityLimitsPlugin,
  type ResourcesPlugin,
} from "./hooks.ts";
export { customerSubscriptions, log, type LogLine } from "./host.ts";
export { Account, Addon, Attribute, QuantityTarget, Request, SubscriptionInfo } from "./model.ts";
export {
  accept,
  amount,
  codes,
  feature,
  refuse,
  reject,
  text,
  type Limits,
  type Refusal,
  type Rejection,
  type ResourceTotal,
  type Verdict,
} from "./outcomes.ts";
export * as schema from "./schema.ts";
export { addDays, daysBetween, MILLIS_PER_DAY, startOfDayUtc } from "./time.ts";
export {
  CONTRACT,
  type ActionType,
  type LogLevel,
  type Operation,
  type SubscriptionStatus,
  type TargetKind,
} from "./wit.ts";
