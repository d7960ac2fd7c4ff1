import assert from "node:assert/strict";
import { test } from "node:test";
import { MILLIS_PER_DAY } from "@tollgate/plugin";
import { context, request, setCustomerSubscriptions, subscription } from "@tollgate/plugin/testing";
import plugin from "../src/index.js";

const cancel = request({ operation: "subscription-cancel", subscriptionId: "SUB-cb-0", productId: "cb" });
const config = { max_days: 30 };

test("inside and outside the window", () => {
  setCustomerSubscriptions([subscription({ productId: "cb", createdAt: 0 })]);
  assert.deepEqual(plugin.check(cancel, context({ now: 30 * MILLIS_PER_DAY, config })), { tag: "accept" });
  const verdict = plugin.check(cancel, context({ now: 31 * MILLIS_PER_DAY, config }));
  assert.equal(verdict.val.code, -107);
  assert.match(verdict.val.message, /31 days ago/);
});

test("a missing max_days is a config error", () => {
  setCustomerSubscriptions([]);
  assert.throws(() => plugin.check(cancel, context()), { name: "ConfigError", message: "missing field `max_days`" });
  assert.throws(() => plugin.validateConfig("{}"), { path: "$" });
});
