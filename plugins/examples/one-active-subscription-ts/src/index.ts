/**
 * `precheck` plugin — example rule 1: a customer may hold at most one
 * active (or suspended) subscription of a service. Checked on
 * Subscriptions/Create; answers Code -101.
 *
 * Config (all optional):
 *
 * ```json
 * { "per": "service_type",            // or "product"
 *   "service_types": ["cloudbackup"], // only these (default: all)
 *   "message": "Only one {service} subscription per customer." }
 * ```
 */
import { accept, codes, customerSubscriptions, precheck, reject, schema } from "@tollgate/plugin";

const Config = schema.object({
  per: schema.optional(schema.oneOf("service_type", "product"), "service_type"),
  service_types: schema.optional(schema.array(schema.string()), []),
  message: schema.optional(schema.string()),
});

export default precheck({
  config: Config,
  check(request, context) {
    if (request.operation !== "subscription-create") return accept();
    const config = context.config();
    if (config.service_types.length > 0 && !config.service_types.includes(request.serviceType)) {
      return accept();
    }
    const byProduct = config.per === "product";
    const existing = customerSubscriptions().find(
      (s) => s.isHeld() && (byProduct ? s.productId === request.productId : s.serviceType === request.serviceType),
    );
    if (!existing) return accept();
    const service = byProduct ? request.productId : request.serviceType;
    const message =
      config.message?.replaceAll("{service}", service).replaceAll("{existing}", existing.subscriptionId) ??
      `The customer already has an active ${service} subscription (${existing.subscriptionId}); only one is allowed.`;
    return reject(codes.ONE_ACTIVE_SUBSCRIPTION, message);
  },
});
