/**
 * {{name}}: a `quantity-limits` rule. Called for the subscription's quantity
 * (Subscriptions/Create, Update, UpgradeToPaid, UpgradeDowngrade) and for
 * each add-on being provisioned. Return the allowed range, or null for no
 * limits; the host rejects below `min` (-105), above `max` (-106) and off
 * `step` (-108).
 */
import { quantityLimits, schema } from "@tollgate/plugin";

const Range = schema.object({
  min: schema.optional(schema.integer({ min: 0 })),
  max: schema.optional(schema.integer({ min: 0 })),
  step: schema.optional(schema.integer({ min: 1 })),
});

/** `{"products": {"cb_basic": {"min": 3, "max": 50}}}` */
const Config = schema.object({
  products: schema.optional(schema.record(Range), {}),
});

export default quantityLimits({
  config: Config,
  limits(_request, target, context) {
    return context.config().products[target.productId] ?? null;
  },
});
