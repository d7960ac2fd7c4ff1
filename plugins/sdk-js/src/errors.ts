import type * as wit from "./wit.ts";

/**
 * The binding's configuration cannot be used. `path` is a JSON path into the
 * config (`$` for the whole document, `$.products.cb_basic.min` for a field).
 *
 * Thrown by `context.config()` and by config schemas; the SDK reports it as
 * the contract's `invalid-config` error (at bind time from `validate-config`,
 * and on a call whose config does not fit).
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    public path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The text of anything thrown, for the decision log. */
export function describe(thrown: unknown): string {
  if (thrown instanceof ConfigError) return `${thrown.path}: ${thrown.message}`;
  if (thrown instanceof Error) {
    // A plain Error keeps its message; a TypeError etc. says what it is.
    return thrown.name === "Error" ? thrown.message : `${thrown.name}: ${thrown.message}`;
  }
  return String(thrown);
}

/** QuickJS's out-of-memory and stack-overflow errors (an `InternalError`). */
export function isEngineLimit(thrown: unknown): boolean {
  return (
    thrown instanceof Error &&
    thrown.name === "InternalError" &&
    (thrown.message === "out of memory" || thrown.message === "stack overflow")
  );
}

/** What a hook reports when the author's code throws. */
export function toPluginError(thrown: unknown): wit.PluginError {
  if (thrown instanceof ConfigError) {
    return { tag: "invalid-config", val: { path: thrown.path, message: thrown.message } };
  }
  return { tag: "failed", val: describe(thrown) || "the plugin failed without a message" };
}
