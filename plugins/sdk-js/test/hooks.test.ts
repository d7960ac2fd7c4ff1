import assert from "node:assert/strict";
import { test } from "node:test";
import { accept, ConfigError, precheck, quantityLimits, reject, schema } from "../src/index.ts";
import type * as wit from "../src/wit.ts";
import { context, request, target } from "../src/testing.ts";

const parseError = (text: string) => (thrown(() => JSON.parse(text)) as Error).message;
const rawContext = (config: string): wit.Context => ({ now: 0, config, binding: "b", trackId: "" });
const rawRequest = (): wit.Request => ({ ...request() });

// What the component export throws, as the contract's error value.
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  assert.fail("expected a throw");
}

// Declared as a constant: TypeScript infers the config type from it (an
// inline schema call would leave context.config() unknown).
const Config = schema.object({ max: schema.integer() });
const plugin = precheck({
  config: Config,
  check(req, ctx) {
    if (req.productId === "boom") throw new Error("exploded");
    if (req.productId === "type") (null as unknown as { x: number }).x;
    if (req.productId === "string") throw "just a string";
    if (req.productId === "bad-code") return reject(-5, "No.");
    if (req.productId === "oom") throw Object.assign(new Error("out of memory"), { name: "InternalError" });
    return req.quantity > ctx.config().max ? reject(-150, "Too many.") : accept();
  },
});

test("the rule runs natively with its config parser", () => {
  assert.deepEqual(plugin.check(request({ quantity: 5 }), context({ config: { max: 3 } })), reject(-150, "Too many."));
  assert.throws(() => plugin.check(request(), context({ config: {} })), ConfigError);
});

test("in the component, failures are plugin-error values, never traps", () => {
  const check = (productId: string, config = '{"max": 3}') =>
    thrown(() => plugin.exports.check({ ...rawRequest(), productId }, rawContext(config)));
  assert.deepEqual(check("boom"), { tag: "failed", val: "exploded" });
  assert.deepEqual(check("string"), { tag: "failed", val: "just a string" });
  assert.deepEqual(check("bad-code"), { tag: "failed", val: "RangeError: rejection code -5 is outside -199..-100" });
  const typeError = check("type") as wit.PluginError;
  assert.equal(typeError.tag, "failed");
  assert.match(typeError.val as string, /^TypeError: /);
  assert.deepEqual(check("ok", '{"max": "x"}'), {
    tag: "invalid-config",
    val: { path: "$.max", message: 'expected an integer, found the string "x"' },
  });
  assert.deepEqual(plugin.exports.check({ ...rawRequest(), quantity: 2 }, rawContext('{"max": 3}')), accept());
});

test("QuickJS running out of memory is left to trap, so the host reports memory-limit", () => {
  const oom = thrown(() => plugin.exports.check({ ...rawRequest(), productId: "oom" }, rawContext("{}")));
  assert.ok(oom instanceof Error && oom.name === "InternalError" && oom.message === "out of memory");
});

test("validate-config reports the path; without a parser any object is valid", () => {
  assert.equal(plugin.exports.validateConfig('{"max": 1}'), undefined);
  assert.deepEqual(thrown(() => plugin.exports.validateConfig('{"max": 1, "x": 2}')), {
    path: "$.x",
    message: "unknown field `x`; expected `max`",
  });
  assert.deepEqual(thrown(() => plugin.exports.validateConfig("nope")), {
    path: "$",
    message: `the configuration is not valid JSON: ${parseError("nope")}`,
  });
  const free = quantityLimits({ limits: () => null });
  assert.equal(free.exports.validateConfig('{"anything": [1, 2]}'), undefined);
  assert.equal(free.exports.validateConfig(""), undefined);
  assert.deepEqual(thrown(() => free.exports.validateConfig("[]")), {
    path: "$",
    message: "the configuration must be a JSON object",
  });
});

test("quantity limits go out in the contract's shape, checked", () => {
  const limits = quantityLimits({
    limits: (_req, tgt) => (tgt.productId === "bad" ? { min: 9, max: 1 } : { max: tgt.quantity * 2 }),
  });
  const out = limits.exports.limits(rawRequest(), { ...target({ quantity: 4 }) }, rawContext("{}"));
  assert.deepEqual(out, { min: null, max: 8, step: null });
  assert.deepEqual(
    thrown(() => limits.exports.limits(rawRequest(), { ...target({ productId: "bad" }) }, rawContext("{}"))),
    { tag: "failed", val: "RangeError: limit min 9 is above max 1" },
  );
});

test("the context without a parser parses any JSON object", () => {
  const ctx = context({ now: 5, config: '{"a": 1}' });
  assert.deepEqual(ctx.config<{ a: number }>(), { a: 1 });
  assert.equal(ctx.date().getTime(), 5);
  assert.equal(ctx.configText, '{"a": 1}');
});
