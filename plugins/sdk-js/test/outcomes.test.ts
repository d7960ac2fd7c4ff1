import assert from "node:assert/strict";
import { test } from "node:test";
import { accept, amount, codes, feature, refuse, reject, resources, text } from "../src/index.ts";
import { toWitLimits } from "../src/outcomes.ts";
import { context, request } from "../src/testing.ts";

test("the documented business codes", () => {
  assert.deepEqual(
    [codes.ONE_ACTIVE_SUBSCRIPTION, codes.PREREQUISITE_MISSING, codes.BELOW_MINIMUM, codes.ABOVE_MAXIMUM],
    [-101, -102, -105, -106],
  );
  assert.deepEqual([codes.CANCELLATION_WINDOW, codes.OFF_STEP, codes.MIN, codes.MAX], [-107, -108, -199, -100]);
});

test("reject takes a code in -199..-100 and a message, natively too", () => {
  assert.deepEqual(reject(-150, "No."), { tag: "reject", val: { code: -150, message: "No." } });
  assert.deepEqual(reject(-199, "a"), { tag: "reject", val: { code: -199, message: "a" } });
  assert.deepEqual(reject(-100, "a").tag, "reject");
  for (const code of [-99, -200, 0, -150.5, Number.NaN]) {
    assert.throws(() => reject(code, "No."), RangeError, `code ${code}`);
  }
  assert.throws(() => reject(-150, "  "), /needs a message/);
  assert.throws(() => refuse(-1, "No."), RangeError);
  assert.deepEqual(accept(), { tag: "accept" });
});

test("limits are checked and put in the contract's shape", () => {
  assert.equal(toWitLimits(null), null);
  assert.equal(toWitLimits(undefined), null);
  assert.deepEqual(toWitLimits({ min: 3 }), { min: 3, max: null, step: null });
  assert.deepEqual(toWitLimits({ min: 3, max: 3, step: 2 }), { min: 3, max: 3, step: 2 });
  assert.throws(() => toWitLimits({ min: 5, max: 4 }), /min 5 is above max 4/);
  assert.throws(() => toWitLimits({ step: 0 }), /step must be positive/);
  assert.throws(() => toWitLimits({ max: 2.5 }), /max must be an integer/);
});

test("amounts are exact non-negative decimals", () => {
  assert.deepEqual(amount("gb", 240), { id: "gb", value: { tag: "amount", val: "240" } });
  assert.equal(amount("gb", 1e21).value.val, "1000000000000000000000");
  assert.equal(amount("gb", 12.5).value.val, "12.5");
  assert.equal(amount("gb", 10n ** 30n).value.val, "1" + "0".repeat(30));
  assert.equal(amount("gb", "0.25").value.val, "0.25");
  for (const bad of [-1, Number.POSITIVE_INFINITY, "1e3", "-2", "", 1e-7]) {
    assert.throws(() => amount("gb", bad), RangeError, String(bad));
  }
  assert.deepEqual(feature("vault", true), { id: "vault", value: { tag: "feature", val: true } });
  assert.deepEqual(text("region", "eu"), { id: "region", value: { tag: "text", val: "eu" } });
});

test("a plan is totals or a refusal; duplicate ids fail", () => {
  const plugin = resources({
    plan(req) {
      if (req.quantity > 100) return refuse(-150, "Too many.");
      return req.quantity === 2 ? [amount("a", 1), amount("a", 2)] : [amount("a", req.quantity)];
    },
  });
  assert.deepEqual(plugin.plan(request({ quantity: 5 }), context()), [amount("a", 5)]);
  assert.deepEqual(plugin.plan(request({ quantity: 500 }), context()), {
    tag: "refuse",
    val: { code: -150, message: "Too many." },
  });
  assert.throws(() => plugin.plan(request({ quantity: 2 }), context()), /resource a appears twice/);
});
