import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "@tollgate/plugin";
import { context, request, target } from "@tollgate/plugin/testing";
import plugin from "../src/index.ts";

const config = {
  default: { min: 1 },
  products: { P1: { min: 3, max: 50, step: 1 } },
  service_types: { backup: { max: 9 } },
};

function limitsFor(productId: string, serviceType: string) {
  return plugin.limits(request({ productId, serviceType }), target({ productId }), context({ config }));
}

test("a product entry wins over its service type and the default", () => {
  assert.deepEqual(limitsFor("P1", "backup"), { min: 3, max: 50, step: 1 });
});

test("then the service type, then the default", () => {
  assert.deepEqual(limitsFor("P2", "backup"), { min: null, max: 9, step: null });
  assert.deepEqual(limitsFor("P2", "other"), { min: 1, max: null, step: null });
});

test("an add-on is looked up by product only", () => {
  const addon = target({ kind: "addon", productId: "P2" });
  assert.deepEqual(plugin.limits(request({ serviceType: "backup" }), addon, context({ config })), {
    min: 1,
    max: null,
    step: null,
  });
});

test("an empty config means no limits", () => {
  assert.equal(plugin.limits(request(), target(), context()), null);
});

test("a typo in the config is an error naming its path, at bind time and on a call", () => {
  const typo = { produts: {} };
  assert.throws(() => plugin.validateConfig(JSON.stringify(typo)), {
    name: "ConfigError",
    path: "$.produts",
    message: "unknown field `produts`; expected `default`, `products`, `service_types`",
  });
  assert.throws(() => plugin.limits(request(), target(), context({ config: typo })), ConfigError);
  assert.throws(() => plugin.validateConfig('{"products": {"cb": {"step": 0}}}'), {
    path: "$.products.cb.step",
    message: "must be at least 1, not 0",
  });
});
