/**
 * `quantity-limits` plugin: the allowed quantity per product id, else per
 * service type, else a default, from the binding config:
 *
 * ```json
 * { "default": { "min": 1 },
 *   "products": { "cb_basic": { "min": 3, "max": 50, "step": 1 } },
 *   "service_types": { "cloudbackup": { "max": 500 } } }
 * ```
 *
 * Add-on quantities are looked up by the add-on's product id in `products`
 * only (a service-type entry is about the subscription). The host enforces
 * the answer: below `min` is Code -105, above `max` -106, off `step` -108.
 */
import { quantityLimits, schema } from "@tollgate/plugin";

const Range = schema.object({
  min: schema.optional(schema.integer()),
  max: schema.optional(schema.integer()),
  step: schema.optional(schema.integer({ min: 1 })),
});

const Config = schema.object({
  default: schema.optional(Range),
  products: schema.optional(schema.record(Range), {}),
  service_types: schema.optional(schema.record(Range), {}),
});

export default quantityLimits({
  config: Config,
  limits(request, target, context) {
    const config = context.config();
    const byServiceType = target.kind === "subscription" ? config.service_types[request.serviceType] : undefined;
    return config.products[target.productId] ?? byServiceType ?? config.default ?? null;
  },
});
