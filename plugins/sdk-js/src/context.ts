import { ConfigError } from "./errors.ts";
import type { Parser } from "./schema.ts";
import type * as wit from "./wit.ts";

/**
 * Parse a binding's configuration text: JSON, an object, then `parse` (when
 * given). Every problem is a {@link ConfigError} with the JSON path.
 */
export function parseConfig<C>(text: string, parse?: Parser<C>): C {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === "" ? "{}" : text);
  } catch (e) {
    throw new ConfigError("$", `the configuration is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("$", "the configuration must be a JSON object");
  }
  return parse ? parse(value) : (value as C);
}

const UNPARSED = Symbol("unparsed");

/**
 * What the host supplies besides the request: the decision's time, the
 * binding's configuration, the binding name and the platform's TrackId.
 *
 * `C` is the config type of the hook's `config` parser.
 */
export class Context<C = unknown> {
  /** The decision's time, ms since the Unix epoch (UTC). `Date.now()` reads it too. */
  readonly now: number;
  /** The binding's configuration as JSON text (`{}` when none). */
  readonly configText: string;
  /** The name of the binding being evaluated. */
  readonly binding: string;
  /** The platform's `X-CloudPlatform-TrackId` of the call. */
  readonly trackId: string;
  readonly #parse: Parser<C> | undefined;
  #config: C | typeof UNPARSED = UNPARSED;

  constructor(raw: wit.Context, parse?: Parser<C>) {
    this.now = raw.now;
    this.configText = raw.config;
    this.binding = raw.binding;
    this.trackId = raw.trackId;
    this.#parse = parse;
  }

  /**
   * The binding's configuration, parsed by the hook's `config` parser (or
   * just as a JSON object without one; then name its type:
   * `context.config<{ maxDays: number }>()`). Parsed once per call.
   * Throws {@link ConfigError} when it does not fit.
   */
  config<T = C>(): T {
    if (this.#config === UNPARSED) this.#config = parseConfig(this.configText, this.#parse);
    return this.#config as unknown as T;
  }

  /** The same context, with the config parsed by `parse`. */
  withParser<D>(parse: Parser<D> | undefined): Context<D> {
    return new Context<D>(
      { now: this.now, config: this.configText, binding: this.binding, trackId: this.trackId },
      parse,
    );
  }

  /** The decision's time as a `Date`. */
  date(): Date {
    return new Date(this.now);
  }
}
