import assert from "node:assert/strict";
import { test } from "node:test";
import { amount, feature, refuse } from "@tollgate/plugin";
import { addon, attribute, context, request } from "@tollgate/plugin/testing";
import rule from "../src/index.ts";

test("mailboxes per seat plus the extra add-on", () => {
  const req = request({
    quantity: 10,
    attributes: [attribute("archiving", "1")],
    addons: [addon("extra_mailboxes", { quantity: 5 }), addon("extra_mailboxes", { action: "cancel", quantity: 7 })],
  });
  assert.deepEqual(rule.plan(req, context({ config: { mailboxes_per_seat: 2 } })), [
    amount("mailboxes", 25),
    feature("archiving", true),
  ]);
});

test("huge orders are refused", () => {
  assert.deepEqual(
    rule.plan(request({ quantity: 200_000 }), context()),
    refuse(-150, "More than 100000 seats cannot be provisioned."),
  );
});
