/**
 * The component side of the SDK, used only by the entry module that
 * `tollgate-plugin build` generates (never by native tests):
 *
 * - routes the host functions and `console.*` to the contract's `host.log`;
 * - replaces `Math.random` with a generator seeded, on first use in each
 *   call, from the host's per-call WASI random. QuickJS seeds its own
 *   generator once, while the build pre-initializes the engine (Wizer), so
 *   without this every call of every build would draw the same numbers.
 *   `Date.now()` needs nothing: QuickJS reads the WASI wall clock, which the
 *   host freezes at the decision's `now`.
 *
 * @module
 */
import { format, installHost } from "./host.ts";
import type { Hook, Plugin } from "./hooks.ts";
import type * as wit from "./wit.ts";

/** `wasi:random/random`, as much of it as the SDK uses. */
export interface WasiRandom {
  getRandomBytes(len: number): Uint8Array | number[];
}

// sfc32: small, fast, and good enough for a plugin's Math.random.
function generator(seed: Uint8Array | number[]): () => number {
  const word = (i: number) => (seed[i]! | (seed[i + 1]! << 8) | (seed[i + 2]! << 16) | (seed[i + 3]! << 24)) >>> 0;
  let a = word(0), b = word(4), c = word(8), d = word(12);
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  // 53 random bits, like the engines' own Math.random.
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/**
 * Wire `plugin` (the author module's default export) to the component:
 * returns the functions the entry exports.
 */
export function install(plugin: Plugin, hook: Hook, host: wit.HostImports, random: WasiRandom): Plugin["exports"] {
  if (plugin?.hook !== hook) {
    const found = plugin?.hook ? `a ${plugin.hook} plugin` : "no plugin";
    throw new Error(
      `tollgate.json says hook "${hook}" but the module's default export is ${found}: ` +
        `end it with \`export default ${hook === "quantity-limits" ? "quantityLimits" : hook}({...})\``,
    );
  }
  installHost(host);
  const line = (level: wit.LogLevel) => (...args: unknown[]) => host.log(level, format(args));
  globalThis.console = {
    ...globalThis.console,
    log: line("info"),
    info: line("info"),
    debug: line("debug"),
    trace: line("trace"),
    warn: line("warn"),
    error: line("error"),
  };

  let draw: (() => number) | undefined;
  Math.random = () => (draw ??= generator(random.getRandomBytes(16)))();
  // Each call starts unseeded, so the seed is always this call's.
  const exports: Record<string, (...args: unknown[]) => unknown> = {};
  for (const [name, f] of Object.entries(plugin.exports) as [string, (...args: unknown[]) => unknown][]) {
    exports[name] = (...args) => {
      draw = undefined;
      return f(...args);
    };
  }
  return exports as unknown as Plugin["exports"];
}
