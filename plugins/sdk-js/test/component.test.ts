import assert from "node:assert/strict";
import { test } from "node:test";
import { install } from "../src/component.ts";
import { precheck, reject } from "../src/index.ts";
import type * as wit from "../src/wit.ts";
import { request } from "../src/testing.ts";

const ctx: wit.Context = { now: 0, config: "{}", binding: "b", trackId: "" };
const probe = precheck({
  check() {
    console.log("via", "console");
    console.error("oops");
    return reject(-150, `${Math.random()} ${Math.random()}`);
  },
});

// The component entry's wiring, run natively against fake imports.
function component(seed: number) {
  const lines: string[] = [];
  const host: wit.HostImports = {
    log: (level, message) => lines.push(`${level}: ${message}`),
    customerSubscriptions: () => [],
  };
  let draws = 0;
  const random = {
    getRandomBytes: (len: number) => {
      draws++;
      return Array.from({ length: len }, (_, i) => (seed * 31 + i * 7) & 255);
    },
  };
  const savedConsole = globalThis.console;
  const savedRandom = Math.random;
  try {
    const exports = install(probe, "precheck", host, random) as wit.PrecheckExports;
    const message = (exports.check({ ...request() }, ctx) as { val: wit.Rejection }).val.message;
    const again = (exports.check({ ...request() }, ctx) as { val: wit.Rejection }).val.message;
    return { message, again, lines, draws };
  } finally {
    globalThis.console = savedConsole;
    Math.random = savedRandom;
  }
}

test("console output lands in the host's plugin log", () => {
  assert.deepEqual(component(1).lines.slice(0, 2), ["info: via console", "error: oops"]);
});

test("Math.random is seeded from the host's random, afresh for every call", () => {
  const a = component(1);
  assert.equal(a.message, a.again, "each call reseeds from its own (here identical) host random");
  assert.equal(a.draws, 2, "one 16-byte seed per call, drawn on first use");
  assert.equal(component(1).message, a.message, "the same seed gives the same numbers");
  assert.notEqual(component(2).message, a.message, "another seed, other numbers");
  const [x, y] = a.message.split(" ").map(Number);
  assert.ok(x! >= 0 && x! < 1 && y! >= 0 && y! < 1 && x !== y);
});

test("a default export of the wrong hook fails the build with what to write", () => {
  const host = { log() {}, customerSubscriptions: () => [] };
  assert.throws(() => install(probe, "resources", host, { getRandomBytes: () => [] }), {
    message: /says hook "resources" but the module's default export is a precheck plugin: end it with `export default resources\(\{...\}\)`/,
  });
});
