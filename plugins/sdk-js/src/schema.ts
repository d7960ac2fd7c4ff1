/**
 * Small config schemas: each one parses an untrusted JSON value into a typed
 * one, or throws a {@link ConfigError} naming the JSON path of the problem.
 * `validate-config` reports that path when a binding is saved.
 *
 * ```ts
 * const Range = schema.object({
 *   min: schema.optional(schema.integer()),
 *   max: schema.optional(schema.integer()),
 * });
 * const Config = schema.object({ products: schema.optional(schema.record(Range), {}) });
 * type Config = schema.Infer<typeof Config>;   // { products: Record<string, {min?: number, max?: number}> }
 * ```
 *
 * Objects are strict: an unknown key is an error, so a typo in a binding's
 * config is caught when it is saved.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/**
 * Parses an untrusted JSON value; throws {@link ConfigError} with path `$`
 * (the value itself) or a path below it. Containers prefix the path of a
 * problem inside them with where it is, so paths cost nothing until
 * something is wrong (the config is parsed on every call).
 */
export type Parser<T> = (value: unknown) => T;

/** The type a parser produces. */
export type Infer<P> = P extends Parser<infer T> ? T : never;

// Marks parsers that accept an absent value; in the type, only those
// without a fallback make their key optional.
const OPTIONAL = Symbol("optional");
type Optional<T> = Parser<T | undefined> & { [OPTIONAL]: true };

/** A problem found at `key` of a container, its path moved under `key`. */
function under(key: string | number, e: unknown): unknown {
  // The same error, not a new one: QuickJS records a stack for every Error.
  if (e instanceof ConfigError) e.path = child(e.path, key);
  return e;
}

// `$.rest` with `key` inserted after the `$`.
function child(path: string, key: string | number): string {
  const step =
    typeof key === "number" ? `[${key}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return `$${step}${path.slice(1)}`;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function bounded(value: number, bounds: { min?: number; max?: number }): number {
  if (bounds.min !== undefined && value < bounds.min) {
    throw new ConfigError("$", `must be at least ${bounds.min}, not ${value}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw new ConfigError("$", `must be at most ${bounds.max}, not ${value}`);
  }
  return value;
}

/** A whole number (within ±2^53), optionally bounded. */
export function integer(bounds: { min?: number; max?: number } = {}): Parser<number> {
  return (value) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      throw new ConfigError("$", `expected an integer, found ${kind(value)}`);
    }
    return bounded(value, bounds);
  };
}

/** Any finite number, optionally bounded. */
export function number(bounds: { min?: number; max?: number } = {}): Parser<number> {
  return (value) => {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ConfigError("$", `expected a number, found ${kind(value)}`);
    }
    return bounded(value, bounds);
  };
}

/** A string. */
export function string(): Parser<string> {
  return (value) => {
    if (typeof value !== "string") throw new ConfigError("$", `expected a string, found ${kind(value)}`);
    return value;
  };
}

/** `true` or `false`. */
export function boolean(): Parser<boolean> {
  return (value) => {
    if (typeof value !== "boolean") throw new ConfigError("$", `expected true or false, found ${kind(value)}`);
    return value;
  };
}

/** One of the given strings. */
export function oneOf<const T extends string>(...choices: T[]): Parser<T> {
  return (value) => {
    if (typeof value !== "string" || !(choices as string[]).includes(value)) {
      const list = choices.map((c) => JSON.stringify(c)).join(", ");
      throw new ConfigError("$", `expected one of ${list}, found ${kind(value)}`);
    }
    return value as T;
  };
}

/** An array whose items all fit `item`. */
export function array<T>(item: Parser<T>): Parser<T[]> {
  return (value) => {
    if (!Array.isArray(value)) throw new ConfigError("$", `expected an array, found ${kind(value)}`);
    const out: T[] = [];
    let i = 0;
    try {
      for (; i < value.length; i++) out.push(item(value[i]));
    } catch (e) {
      throw under(i, e);
    }
    return out;
  };
}

/** An object used as a map: any keys, every value fits `item`. */
export function record<T>(item: Parser<T>): Parser<Record<string, T>> {
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError("$", `expected an object, found ${kind(value)}`);
    }
    const out: Record<string, T> = Object.create(null);
    let key = "";
    try {
      for (key in value) out[key] = item((value as Record<string, unknown>)[key]);
    } catch (e) {
      throw under(key, e);
    }
    return out;
  };
}

/**
 * A field that may be absent (or `null`): then `fallback`, when given, else
 * `undefined`.
 */
export function optional<T>(item: Parser<T>): Optional<T>;
export function optional<T>(item: Parser<T>, fallback: T): Parser<T>;
export function optional<T>(item: Parser<T>, fallback?: T): Parser<T | undefined> {
  const parse = (value: unknown) => (value === undefined || value === null ? fallback : item(value));
  return Object.assign(parse, { [OPTIONAL]: true as const });
}

type Shape = Record<string, Parser<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { [OPTIONAL]: true } ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** The object type a shape describes: optional fields become `key?:`. */
export type ObjectOf<S extends Shape> = Simplify<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
    [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
  }
>;

/** An object with exactly these fields (unknown keys are an error). */
export function object<S extends Shape>(shape: S): Parser<ObjectOf<S>> {
  const known = Object.keys(shape);
  const fields = known.map((key) => ({ key, parse: shape[key]!, optional: OPTIONAL in shape[key]! }));
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError("$", `expected an object, found ${kind(value)}`);
    }
    const input = value as Record<string, unknown>;
    for (const key in input) {
      if (!Object.hasOwn(shape, key)) {
        const expected = known.length ? `; expected ${known.map((k) => `\`${k}\``).join(", ")}` : "";
        throw new ConfigError(child("$", key), `unknown field \`${key}\`${expected}`);
      }
    }
    for (const field of fields) {
      if (!field.optional && input[field.key] === undefined) {
        throw new ConfigError("$", `missing field \`${field.key}\``);
      }
    }
    const out: Record<string, unknown> = {};
    let key = "";
    try {
      for (const field of fields) {
        key = field.key;
        const parsed = field.parse(input[key]);
        if (parsed !== undefined) out[key] = parsed;
      }
    } catch (e) {
      throw under(key, e);
    }
    return out as ObjectOf<S>;
  };
}
