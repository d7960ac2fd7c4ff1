import assert from "node:assert/strict";
import { test } from "node:test";
import { addDays, customerSubscriptions, daysBetween, log, MILLIS_PER_DAY, startOfDayUtc } from "../src/index.ts";
import {
  addon,
  attribute,
  request,
  setCustomerSubscriptions,
  subscription,
  takeLog,
  target,
} from "../src/testing.ts";

test("attributes read as integers, features and choices", () => {
  assert.equal(attribute("gb", " 100 ").asInt(), 100);
  assert.equal(attribute("gb", "").asInt(), 0);
  assert.throws(() => attribute("gb", "12GB").asInt(), { message: 'attribute `gb` is "12GB", not an integer' });
  assert.throws(() => attribute("gb", "1e3").asInt(), /not an integer/);
  assert.equal(attribute("f", "1").asBool(), true);
  assert.equal(attribute("f", "TRUE").asBool(), true);
  assert.equal(attribute("f", "yes").asBool(), false);
  assert.equal(attribute("region", "Europe", { code: "eu" }).choice(), "eu");
  assert.equal(attribute("region", "Europe").choice(), "Europe");
});

test("request helpers", () => {
  const req = request({
    quantity: 7,
    previousQuantity: 5,
    attributes: [attribute("gb", "10"), attribute("vault", "1"), attribute("region", "Europe", { code: "eu" })],
    addons: [
      addon("extra", { action: "provision", quantity: 3, attributes: [attribute("seats", "2")] }),
      addon("old", { action: "cancel" }),
      addon("kept"),
    ],
    settings: [["Region", "west"]],
    customFields: [["po", "123"]],
    account: { resellerId: "R1", syncOptions: [["username", "bob"]] },
  });
  assert.equal(req.attributeInt("gb"), 10);
  assert.equal(req.attributeInt("none"), undefined);
  assert.equal(req.attributeBool("vault"), true);
  assert.equal(req.attributeBool("none"), false);
  assert.equal(req.attributeChoice("region"), "eu");
  assert.deepEqual(req.activeAddons().map((a) => a.productId), ["extra", "kept"]);
  assert.deepEqual(req.addonsWith("provision").map((a) => a.productId), ["extra"]);
  assert.equal(req.addon("extra")?.attribute("seats")?.asInt(), 2);
  assert.equal(req.addon("old")?.isActive(), false);
  assert.equal(req.setting("region"), "west");
  assert.equal(req.customField("po"), "123");
  assert.equal(req.customField("PO"), undefined);
  assert.equal(req.quantityDelta(), 2);
  assert.equal(request({ quantity: 4 }).quantityDelta(), 4);
  assert.equal(req.account.hasReseller(), true);
  assert.equal(request().account.hasReseller(), false);
  assert.equal(req.account.syncOption("username"), "bob");
  assert.equal(target({ attributes: [attribute("x", "1")] }).attribute("x")?.asBool(), true);
});

test("customer subscriptions come from the stand-in in native tests", () => {
  setCustomerSubscriptions([subscription({ productId: "a", status: "suspended" }), subscription({ status: "cancelled" })]);
  const held = customerSubscriptions().map((s) => s.isHeld());
  assert.deepEqual(held, [true, false]);
  assert.equal(customerSubscriptions()[0]?.subscriptionId, "SUB-a-0");
  // Each call hands out copies: a rule cannot change what the next one sees.
  customerSubscriptions()[0]!.quantity = 99;
  assert.equal(customerSubscriptions()[0]?.quantity, 1);
});

test("log lines are captured natively", () => {
  takeLog();
  log.info("seats", 5, { a: 1 });
  log.warn(new TypeError("bad"));
  log("debug", "x");
  assert.deepEqual(takeLog(), [
    { level: "info", message: 'seats 5 {"a":1}' },
    { level: "warn", message: "TypeError: bad" },
    { level: "debug", message: "x" },
  ]);
  assert.deepEqual(takeLog(), []);
});

test("date helpers", () => {
  assert.equal(daysBetween(0, 30 * MILLIS_PER_DAY), 30);
  assert.equal(daysBetween(0, 30 * MILLIS_PER_DAY - 1), 29);
  assert.equal(daysBetween(MILLIS_PER_DAY, 0), -1);
  assert.equal(daysBetween(1, 0), -1);
  assert.equal(addDays(1764201600000, 10), 1765065600000);
  assert.equal(startOfDayUtc(1764201600000 + 5000), 1764201600000);
});
