import assert from "node:assert/strict";
import { test } from "node:test";
import { context, request, target } from "@tollgate/plugin/testing";
import rule from "../src/index.ts";

const config = { products: { cb_basic: { min: 3, max: 50 } } };

test("configured products get their range", () => {
  const limits = rule.limits(request(), target({ productId: "cb_basic", quantity: 2 }), context({ config }));
  assert.deepEqual(limits, { min: 3, max: 50, step: null });
});

test("other products are not limited", () => {
  assert.equal(rule.limits(request(), target({ productId: "other" }), context({ config })), null);
});

test("a negative minimum is refused when the binding is saved", () => {
  assert.throws(() => rule.validateConfig('{"products": {"cb_basic": {"min": -1}}}'), {
    path: "$.products.cb_basic.min",
    message: "must be at least 0, not -1",
  });
});
