"""`precheck` plugin — example rule 1: a customer may hold at most one
active (or suspended) subscription of a service. Checked on
Subscriptions/Create; answers Code -101.

Config (all optional):

    {"per": "service_type",             # or "product"
     "service_types": ["cloudbackup"],  # only these (default: all)
     "message": "Only one {service} subscription per customer."}
"""

from dataclasses import dataclass, field
from typing import Literal, Optional

from tollgate_plugin import Context, Operation, Request, Verdict, accept, codes, customer_subscriptions, precheck, reject


@dataclass
class Config:
    per: Literal["service_type", "product"] = "service_type"
    service_types: list[str] = field(default_factory=list)
    message: Optional[str] = None


@precheck(config=Config)
def check(request: Request, context: Context[Config]) -> Verdict:
    if request.operation is not Operation.SUBSCRIPTION_CREATE:
        return accept()
    config = context.config
    if config.service_types and request.service_type not in config.service_types:
        return accept()
    by_product = config.per == "product"
    held = next(
        (
            s
            for s in customer_subscriptions()
            if s.is_held and (s.product_id == request.product_id if by_product else s.service_type == request.service_type)
        ),
        None,
    )
    if held is None:
        return accept()
    service = request.product_id if by_product else request.service_type
    if config.message is not None:
        message = config.message.replace("{service}", service).replace("{existing}", held.subscription_id)
    else:
        message = f"The customer already has an active {service} subscription ({held.subscription_id}); only one is allowed."
    return reject(codes.ONE_ACTIVE_SUBSCRIPTION, message)
