import assert from "node:assert/strict";
import { test } from "node:test";
import { context, request, setCustomerSubscriptions, subscription } from "@tollgate/plugin/testing";
import plugin from "../src/index.ts";

const create = (serviceType: string) => request({ productId: "cb_basic", quantity: 5, serviceType });

test("a second active subscription is rejected with -101", () => {
  setCustomerSubscriptions([subscription({ productId: "cb_basic", serviceType: "cloudbackup", createdAt: 1 })]);
  const verdict = plugin.check(create("cloudbackup"), context());
  assert.equal(verdict.tag, "reject");
  assert.equal(verdict.tag === "reject" && verdict.val.code, -101);
  assert.match(verdict.tag === "reject" ? verdict.val.message : "", /SUB-cb_basic-1/);
});

test("cancelled ones and other services do not count", () => {
  setCustomerSubscriptions([
    subscription({ productId: "cb_basic", serviceType: "cloudbackup", status: "cancelled" }),
    subscription({ productId: "mail", serviceType: "email" }),
  ]);
  assert.deepEqual(plugin.check(create("cloudbackup"), context()), { tag: "accept" });
});

test("only the listed service types, and a custom message", () => {
  setCustomerSubscriptions([subscription({ productId: "cb_basic", serviceType: "cloudbackup", subscriptionId: "TGS-9" })]);
  assert.deepEqual(plugin.check(create("cloudbackup"), context({ config: { service_types: ["email"] } })), {
    tag: "accept",
  });
  const config = { per: "product", message: "One {service} only ({existing})." };
  assert.deepEqual(plugin.check(create("email"), context({ config })), {
    tag: "reject",
    val: { code: -101, message: "One cb_basic only (TGS-9)." },
  });
});

test("a wrong `per` is refused when the binding is saved", () => {
  assert.throws(() => plugin.validateConfig('{"per": "account"}'), {
    path: "$.per",
    message: 'expected one of "service_type", "product", found the string "account"',
  });
});
