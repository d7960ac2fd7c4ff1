/**
 * {{name}}: a `precheck` rule. Called for every Subscriptions/* and Addons/*
 * call, in check mode and again in real mode. Accept, or reject with a
 * business code in -199..-100 and a sentence the customer reads.
 */
import { accept, log, precheck, reject, schema } from "@tollgate/plugin";

/**
 * The binding's configuration (`"config"` of the binding), parsed on every
 * call and checked when the binding is saved: keep it small. Unknown keys
 * are refused, so a typo is caught at bind time.
 */
const Config = schema.object({
  /** The largest order accepted on Subscriptions/Create. */
  max_quantity: schema.integer({ min: 0 }),
});

export default precheck({
  config: Config,
  check(request, context) {
    if (request.operation !== "subscription-create") return accept();
    const { max_quantity } = context.config();
    if (request.quantity > max_quantity) {
      log.info(`rejecting ${request.quantity} seats of ${request.productId}`);
      return reject(-150, `Orders above ${max_quantity} seats need a quote; please contact sales.`);
    }
    return accept();
  },
});
