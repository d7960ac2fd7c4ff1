/**
 * What hooks answer: verdicts, quantity limits, resource totals and
 * refusals, checked here so a mistake fails in a native test instead of as
 * the host's `invalid-output`.
 *
 * @module
 */
import type * as wit from "./wit.ts";

/** Business-rule codes Tollgate documents (the platform shows the message). */
export const codes = {
  /** A customer may hold at most one active subscription of the service. */
  ONE_ACTIVE_SUBSCRIPTION: -101,
  /** A prerequisite service is not active for the customer. */
  PREREQUISITE_MISSING: -102,
  /** Below the minimum quantity (also used by the host for `quantity-limits`). */
  BELOW_MINIMUM: -105,
  /** Above the maximum quantity (also used by the host for `quantity-limits`). */
  ABOVE_MAXIMUM: -106,
  /** Cancellation requested outside the allowed window. */
  CANCELLATION_WINDOW: -107,
  /** Quantity is not a multiple of the allowed step (host, `quantity-limits`). */
  OFF_STEP: -108,
  /** Lowest code a rejection may use. */
  MIN: -199,
  /** Highest code a rejection may use. */
  MAX: -100,
} as const;

/** Accept, or reject with a code and a message: see {@link accept}, {@link reject}. */
export type Verdict = wit.Verdict;

/** A business refusal: its code and the sentence the platform shows. */
export type Rejection = wit.Rejection;

function rejection(code: number, message: string): Rejection {
  if (!Number.isInteger(code) || code < codes.MIN || code > codes.MAX) {
    throw new RangeError(`rejection code ${code} is outside ${codes.MIN}..${codes.MAX}`);
  }
  if (typeof message !== "string" || message.trim() === "") {
    throw new RangeError(`rejection ${code} needs a message the customer can read`);
  }
  return { code, message };
}

/** Let the call go on. */
export function accept(): Verdict {
  return { tag: "accept" };
}

/**
 * Refuse the call with a business `code` in -199..-100 (see {@link codes})
 * and a complete sentence the platform shows to the user. Throws
 * `RangeError` for a code outside the range or an empty message.
 */
export function reject(code: number, message: string): Verdict {
  return { tag: "reject", val: rejection(code, message) };
}

/**
 * Allowed quantities for a `quantity-limits` answer: `min <= q <= max`,
 * `(q - min) % step == 0`. Absent bounds do not constrain.
 */
export interface Limits {
  min?: number | null;
  max?: number | null;
  step?: number | null;
}

function bound(name: string, value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value)) throw new RangeError(`limit ${name} must be an integer, not ${value}`);
  return value;
}

/** Check limits and put them in the contract's shape. */
export function toWitLimits(limits: Limits | null | undefined): wit.Limits | null {
  if (limits === null || limits === undefined) return null;
  const out = { min: bound("min", limits.min), max: bound("max", limits.max), step: bound("step", limits.step) };
  if (out.min !== null && out.max !== null && out.min > out.max) {
    throw new RangeError(`limit min ${out.min} is above max ${out.max}`);
  }
  if (out.step !== null && out.step <= 0) throw new RangeError(`limit step must be positive, not ${out.step}`);
  return out;
}

/** One absolute total to set at the vendor. */
export type ResourceTotal = wit.ResourceTotal;

/** A `resources` refusal, from {@link refuse}. */
export type Refusal = Extract<wit.PlanOutcome, { tag: "refuse" }>;

/**
 * A numeric total, written as an exact decimal: a non-negative integer
 * (number or bigint), a finite non-negative number, or a decimal string
 * such as `"12.5"`.
 */
export function amount(id: string, value: number | bigint | string): ResourceTotal {
  let text: string;
  if (typeof value === "bigint") text = value.toString();
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`amount ${id} is ${value}`);
    // Integers print without an exponent even when large.
    text = Number.isInteger(value) ? BigInt(value).toString() : String(value);
  } else text = value;
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new RangeError(`amount ${id} must be a non-negative decimal number, not ${JSON.stringify(text)}`);
  }
  return { id, value: { tag: "amount", val: text } };
}

/** An on/off feature. */
export function feature(id: string, on: boolean): ResourceTotal {
  return { id, value: { tag: "feature", val: on } };
}

/** A text value, e.g. a region code. */
export function text(id: string, value: string): ResourceTotal {
  return { id, value: { tag: "text", val: value } };
}

/**
 * Refuse a `resources` call with a business code in -199..-100 and a
 * sentence for the user: nothing is provisioned.
 */
export function refuse(code: number, message: string): Refusal {
  return { tag: "refuse", val: rejection(code, message) };
}

/** Check a plan and put it in the contract's shape. */
export function toPlanOutcome(plan: ResourceTotal[] | Refusal): wit.PlanOutcome {
  if (!Array.isArray(plan)) {
    if (plan?.tag === "refuse") return plan;
    throw new TypeError("plan() must return an array of resource totals or refuse(code, message)");
  }
  const seen = new Set<string>();
  for (const total of plan) {
    if (seen.has(total.id)) throw new RangeError(`resource ${total.id} appears twice in the plan`);
    seen.add(total.id);
  }
  return { tag: "totals", val: plan };
}
