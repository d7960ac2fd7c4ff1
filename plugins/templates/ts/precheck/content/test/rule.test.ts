import assert from "node:assert/strict";
import { test } from "node:test";
import { context, request, takeLog } from "@tollgate/plugin/testing";
import rule from "../src/index.ts";

const config = { max_quantity: 100 };

test("large orders are rejected", () => {
  const verdict = rule.check(request({ productId: "cb_basic", quantity: 500 }), context({ config }));
  assert.deepEqual(verdict, {
    tag: "reject",
    val: { code: -150, message: "Orders above 100 seats need a quote; please contact sales." },
  });
  assert.deepEqual(takeLog(), [{ level: "info", message: "rejecting 500 seats of cb_basic" }]);
});

test("small orders pass", () => {
  assert.deepEqual(rule.check(request({ quantity: 5 }), context({ config })), { tag: "accept" });
});

test("a binding without max_quantity is refused when it is saved", () => {
  assert.throws(() => rule.validateConfig("{}"), { path: "$", message: "missing field `max_quantity`" });
});
