/**
 * {{name}}: a `resources` rule. Called on real (not check-only) calls that
 * change a subscription; returns the absolute total of every resource to
 * provision. Totals are set, never added: a repeated call is harmless.
 */
import { amount, feature, refuse, resources, schema } from "@tollgate/plugin";

const Config = schema.object({
  /** Mailboxes granted per seat. */
  mailboxes_per_seat: schema.optional(schema.integer({ min: 1 }), 1),
});

export default resources({
  config: Config,
  plan(request, context) {
    const { mailboxes_per_seat } = context.config();
    if (request.quantity > 100_000) return refuse(-150, "More than 100000 seats cannot be provisioned.");
    // An add-on "extra_mailboxes" adds its quantity, unless this call cancels it.
    const extra = request
      .activeAddons()
      .filter((a) => a.productId === "extra_mailboxes")
      .reduce((sum, a) => sum + a.quantity, 0);
    return [
      amount("mailboxes", request.quantity * mailboxes_per_seat + extra),
      feature("archiving", request.attributeBool("archiving")),
    ];
  },
});
