/**
 * The host functions. Inside the component they are the contract's imports
 * (installed by the component entry); in native tests a stand-in records
 * log lines and answers the subscriptions a test set (see `testing`).
 *
 * @module
 */
import { wrapSubscriptions, type SubscriptionInfo } from "./model.ts";
import type * as wit from "./wit.ts";

/** A log line captured by the native stand-in. */
export interface LogLine {
  level: wit.LogLevel;
  message: string;
}

/** The native stand-in's state, driven by `testing`. */
export const standIn = {
  subscriptions: [] as wit.SubscriptionInfo[],
  log: [] as LogLine[],
};

let host: wit.HostImports = {
  log(level, message) {
    standIn.log.push({ level, message });
  },
  customerSubscriptions() {
    return standIn.subscriptions.map((s) => ({ ...s }));
  },
};

/** Route the host functions to the component's imports. */
export function installHost(imports: wit.HostImports): void {
  host = imports;
}

/**
 * The subscriptions the calling customer holds with this tenant (any
 * status), newest first; at most 1000. The subscription the call is about
 * is among them (a create's is not stored yet).
 */
export function customerSubscriptions(): SubscriptionInfo[] {
  return wrapSubscriptions(host.customerSubscriptions());
}

/** Text of console-style arguments: strings as they are, the rest as JSON. */
export function format(args: unknown[]): string {
  return args
    .map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return `${a.name}: ${a.message}`;
      if (typeof a === "object" && a !== null) {
        try {
          return JSON.stringify(a);
        } catch {
          return String(a);
        }
      }
      return String(a);
    })
    .join(" ");
}

type Logger = (...args: unknown[]) => void;

/**
 * Write a line to this call's plugin log (kept with the decision; 4 KiB per
 * call by default, then truncated with a marker). `log.info(...)` etc. take
 * console-style arguments; `console.log` lands in the same log.
 */
export const log: ((level: wit.LogLevel, ...args: unknown[]) => void) & {
  trace: Logger;
  debug: Logger;
  info: Logger;
  warn: Logger;
  error: Logger;
} = Object.assign((level: wit.LogLevel, ...args: unknown[]) => host.log(level, format(args)), {
  trace: (...args: unknown[]) => host.log("trace", format(args)),
  debug: (...args: unknown[]) => host.log("debug", format(args)),
  info: (...args: unknown[]) => host.log("info", format(args)),
  warn: (...args: unknown[]) => host.log("warn", format(args)),
  error: (...args: unknown[]) => host.log("error", format(args)),
});
