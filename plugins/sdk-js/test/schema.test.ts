import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfig, schema } from "../src/index.ts";

const Config = schema.object({
  max: schema.integer({ min: 1, max: 10 }),
  ratio: schema.optional(schema.number()),
  mode: schema.optional(schema.oneOf("a", "b"), "a"),
  on: schema.optional(schema.boolean(), false),
  tags: schema.optional(schema.array(schema.string()), []),
  products: schema.optional(schema.record(schema.object({ min: schema.integer() })), {}),
});

function problem(value: unknown): { path: string; message: string } {
  try {
    Config(value);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return { path: e.path, message: e.message };
  }
  assert.fail("expected a ConfigError");
}

test("a fitting config parses, with fallbacks for absent fields", () => {
  assert.deepEqual(Config({ max: 3, ratio: 0.5 }), {
    max: 3,
    ratio: 0.5,
    mode: "a",
    on: false,
    tags: [],
    products: {},
  });
  assert.equal(Config({ max: 3, ratio: null }).ratio, undefined);
});

test("every problem names its JSON path", () => {
  assert.deepEqual(problem({}), { path: "$", message: "missing field `max`" });
  assert.deepEqual(problem({ max: 0 }), { path: "$.max", message: "must be at least 1, not 0" });
  assert.deepEqual(problem({ max: 11 }), { path: "$.max", message: "must be at most 10, not 11" });
  assert.deepEqual(problem({ max: "3" }), { path: "$.max", message: 'expected an integer, found the string "3"' });
  assert.deepEqual(problem({ max: 1.5 }).message, "expected an integer, found number 1.5");
  assert.deepEqual(problem({ max: 1, mode: "c" }).path, "$.mode");
  assert.deepEqual(problem({ max: 1, tags: ["x", 2] }), { path: "$.tags[1]", message: "expected a string, found number 2" });
  assert.deepEqual(problem({ max: 1, products: { "cb basic": { min: "x" } } }).path, '$.products["cb basic"].min');
  assert.deepEqual(problem({ max: 1, products: { cb: { min: 1, max: 2 } } }), {
    path: "$.products.cb.max",
    message: "unknown field `max`; expected `min`",
  });
  assert.deepEqual(problem([]), { path: "$", message: "expected an object, found an array" });
});

test("the config text: JSON, an object, then the parser", () => {
  assert.deepEqual(parseConfig(""), {});
  assert.deepEqual(parseConfig('{"any": [1]}'), { any: [1] });
  assert.throws(() => parseConfig("{"), { path: "$", message: /not valid JSON/ });
  assert.throws(() => parseConfig("[1]"), { path: "$", message: "the configuration must be a JSON object" });
  assert.throws(() => parseConfig("{}", Config), { path: "$", message: "missing field `max`" });
});
