/**
 * Hook definitions. A plugin module's default export is one of
 * `precheck(…)`, `quantityLimits(…)` or `resources(…)`: the author's rule
 * for tests, and the contract's exports for the component.
 *
 * @module
 */
import { Context, parseConfig } from "./context.ts";
import { ConfigError, describe, isEngineLimit, toPluginError } from "./errors.ts";
import { wrapRequest, wrapTarget, type QuantityTarget, type Request } from "./model.ts";
import {
  toPlanOutcome,
  toWitLimits,
  type Limits,
  type Refusal,
  type ResourceTotal,
  type Verdict,
} from "./outcomes.ts";
import type { Parser } from "./schema.ts";
import type * as wit from "./wit.ts";

/** The hook names of the contract's worlds. */
export type Hook = "precheck" | "quantity-limits" | "resources";

/** What every hook definition has. */
interface Base<H extends Hook, E> {
  readonly hook: H;
  /**
   * Check a binding's configuration (JSON text) as `validate-config` does
   * when a binding is saved. Throws {@link ConfigError} with the JSON path.
   */
  validateConfig(configJson: string): void;
  /** The contract's exports, as the component entry exposes them. */
  readonly exports: E;
}

/** A `precheck` plugin. */
export interface PrecheckPlugin extends Base<"precheck", wit.PrecheckExports> {
  /** Run the rule (the author's `check`, config parser bound). */
  check(request: Request, context: Context): Verdict;
}

/** A `quantity-limits` plugin. */
export interface QuantityLimitsPlugin extends Base<"quantity-limits", wit.QuantityLimitsExports> {
  /** Run the rule; the answer checked and in the contract's shape. */
  limits(request: Request, target: QuantityTarget, context: Context): wit.Limits | null;
}

/** A `resources` plugin. */
export interface ResourcesPlugin extends Base<"resources", wit.ResourcesExports> {
  /** Run the rule; the plan checked (duplicate ids, refusal codes). */
  plan(request: Request, context: Context): ResourceTotal[] | Refusal;
}

/** Any plugin definition. */
export type Plugin = PrecheckPlugin | QuantityLimitsPlugin | ResourcesPlugin;

// Author errors become the contract's plugin-error, never a trap; the
// engine running out of memory or stack is left uncaught, so the call traps
// and the host reports the limit it hit (memory-limit, stack-overflow).
function guarded<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isEngineLimit(e)) throw e;
    throw toPluginError(e);
  }
}

function validator(parse: Parser<unknown> | undefined) {
  return {
    validateConfig(configJson: string): void {
      parseConfig(configJson, parse);
    },
    wire(configJson: string): void {
      try {
        parseConfig(configJson, parse);
      } catch (e) {
        const error: wit.ConfigError =
          e instanceof ConfigError ? { path: e.path, message: e.message } : { path: "$", message: describe(e) };
        throw error;
      }
    },
  };
}

/**
 * Accept or reject a Subscriptions/* or Addons/* call. Called in check
 * mode and again in real mode; several precheck bindings run in priority
 * order and the first rejection answers the platform.
 *
 * ```ts
 * const Config = schema.object({ maxQuantity: schema.integer({ min: 1 }) });
 *
 * export default precheck({
 *   config: Config, // a constant: TypeScript infers context.config() from it
 *   check(request, context) {
 *     const { maxQuantity } = context.config();
 *     return request.quantity > maxQuantity ? reject(-150, "Orders above … need a quote.") : accept();
 *   },
 * });
 * ```
 */
export function precheck<C = unknown>(rule: {
  /** Parses the binding's config; `validate-config` reports its errors. */
  config?: Parser<C>;
  check(request: Request, context: Context<C>): Verdict;
}): PrecheckPlugin {
  const config = validator(rule.config);
  return {
    hook: "precheck",
    check: (request, context) => rule.check(request, context.withParser(rule.config)),
    validateConfig: config.validateConfig,
    exports: {
      check: (request, context) =>
        guarded(() => rule.check(wrapRequest(request), new Context(context, rule.config))),
      validateConfig: config.wire,
    },
  };
}

/**
 * The allowed quantity of the subscription or of one add-on; the host
 * enforces it (below `min` -105, above `max` -106, off `step` -108).
 * Return `null` for "no limits from this plugin".
 */
export function quantityLimits<C = unknown>(rule: {
  /** Parses the binding's config; `validate-config` reports its errors. */
  config?: Parser<C>;
  limits(request: Request, target: QuantityTarget, context: Context<C>): Limits | null | undefined;
}): QuantityLimitsPlugin {
  const config = validator(rule.config);
  return {
    hook: "quantity-limits",
    limits: (request, target, context) =>
      toWitLimits(rule.limits(request, target, context.withParser(rule.config))),
    validateConfig: config.validateConfig,
    exports: {
      limits: (request, target, context) =>
        guarded(() =>
          toWitLimits(rule.limits(wrapRequest(request), wrapTarget(target), new Context(context, rule.config))),
        ),
      validateConfig: config.wire,
    },
  };
}

/**
 * The absolute total of every resource to provision for a real call
 * (`amount`, `feature`, `text`), or `refuse(code, message)`. Totals are
 * set, never added: a repeated call is harmless.
 */
export function resources<C = unknown>(rule: {
  /** Parses the binding's config; `validate-config` reports its errors. */
  config?: Parser<C>;
  plan(request: Request, context: Context<C>): ResourceTotal[] | Refusal;
}): ResourcesPlugin {
  const config = validator(rule.config);
  const checked = (plan: ResourceTotal[] | Refusal) => (toPlanOutcome(plan), plan);
  return {
    hook: "resources",
    plan: (request, context) => checked(rule.plan(request, context.withParser(rule.config))),
    validateConfig: config.validateConfig,
    exports: {
      plan: (request, context) =>
        guarded(() => toPlanOutcome(rule.plan(wrapRequest(request), new Context(context, rule.config)))),
      validateConfig: config.wire,
    },
  };
}
