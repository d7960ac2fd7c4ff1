// `precheck` plugin in plain JavaScript — example rule 5: no cancellation
// more than N days after the initial purchase. Checked on
// Subscriptions/Cancel, using the creation time Tollgate stored and the
// decision's time (`context.now`); answers Code -107.
//
//   { "max_days": 30 }
import { accept, codes, customerSubscriptions, daysBetween, precheck, reject, schema } from "@tollgate/plugin";

export default precheck({
  config: schema.object({ max_days: schema.integer({ min: 0 }) }),
  check(request, context) {
    if (request.operation !== "subscription-cancel") return accept();
    const { max_days: maxDays } = context.config();
    const bought = customerSubscriptions().find((s) => s.subscriptionId === request.subscriptionId);
    // Not ours to judge: the host answers unknown subscriptions.
    if (!bought) return accept();
    const days = daysBetween(bought.createdAt, context.now);
    if (days <= maxDays) return accept();
    return reject(
      codes.CANCELLATION_WINDOW,
      `Subscription ${request.subscriptionId} can only be cancelled within ${maxDays} days of purchase; it was bought ${days} days ago.`,
    );
  },
});
