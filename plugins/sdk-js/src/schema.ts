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

/** Parses `value` found at JSON path `path`; throws {@link ConfigError}. */
export type Parser<T> = (value: unknown, path: string) => T;

/** The type a parser produces. */
export type Infer<P> = P extends Parser<infer T> ? T : never;

// Marks parsers that accept an absent value; in the type, only those
// without a fallback make their key optional.
const OPTIONAL = Symbol("optional");
type Optional<T> = Parser<T | undefined> & { [OPTIONAL]: true };

/** The JSON path of `key` inside the value at `path`. */
export function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function bounded(value: number, path: string, bounds: { min?: number; max?: number }): number {
  if (bounds.min !== undefined && value < bounds.min) {
    throw new ConfigError(path, `must be at least ${bounds.min}, not ${value}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw new ConfigError(path, `must be at most ${bounds.max}, not ${value}`);
  }
  return value;
}

/** A whole number (within ±2^53), optionally bounded. */
export function integer(bounds: { min?: number; max?: number } = {}): Parser<number> {
  return (value, path) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      throw new ConfigError(path, `expected an integer, found ${kind(value)}`);
    }
    return bounded(value, path, bounds);
  };
}

/** Any finite number, optionally bounded. */
export function number(bounds: { min?: number; max?: number } = {}): Parser<number> {
  return (value, path) => {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ConfigError(path, `expected a number, found ${kind(value)}`);
    }
    return bounded(value, path, bounds);
  };
}

/** A string. */
export function string(): Parser<string> {
  return (value, path) => {
    if (typeof value !== "string") throw new ConfigError(path, `expected a string, found ${kind(value)}`);
    return value;
  };
}

/** `true` or `false`. */
export function boolean(): Parser<boolean> {
  return (value, path) => {
    if (typeof value !== "boolean") throw new ConfigError(path, `expected true or false, found ${kind(value)}`);
    return value;
  };
}

/** One of the given strings. */
export function oneOf<const T extends string>(...choices: T[]): Parser<T> {
  return (value, path) => {
    if (typeof value !== "string" || !(choices as string[]).includes(value)) {
      const list = choices.map((c) => JSON.stringify(c)).join(", ");
      throw new ConfigError(path, `expected one of ${list}, found ${kind(value)}`);
    }
    return value as T;
  };
}

/** An array whose items all fit `item`. */
export function array<T>(item: Parser<T>): Parser<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new ConfigError(path, `expected an array, found ${kind(value)}`);
    return value.map((v, i) => item(v, child(path, i)));
  };
}

/** An object used as a map: any keys, every value fits `item`. */
export function record<T>(item: Parser<T>): Parser<Record<string, T>> {
  return (value, path) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError(path, `expected an object, found ${kind(value)}`);
    }
    const out: Record<string, T> = Object.create(null);
    for (const [k, v] of Object.entries(value)) out[k] = item(v, child(path, k));
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
  const parse = (value: unknown, path: string) =>
    value === undefined || value === null ? fallback : item(value, path);
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
  return (value, path) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError(path, `expected an object, found ${kind(value)}`);
    }
    const input = value as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      if (!Object.hasOwn(shape, key)) {
        const expected = known.length ? `; expected ${known.map((k) => `\`${k}\``).join(", ")}` : "";
        throw new ConfigError(child(path, key), `unknown field \`${key}\`${expected}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const parse = shape[key]!;
      if (input[key] === undefined && !(OPTIONAL in parse)) {
        throw new ConfigError(path, `missing field \`${key}\``);
      }
      const parsed = parse(input[key], child(path, key));
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as ObjectOf<S>;
  };
}
