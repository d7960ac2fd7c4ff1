"""`quantity-limits` plugin: the allowed quantity per product id, else per
service type, else a default, from the binding config:

    {"default": {"min": 1},
     "products": {"cb_basic": {"min": 3, "max": 50, "step": 1}},
     "service_types": {"cloudbackup": {"max": 500}}}

Add-on quantities are looked up by the add-on's product id in `products`
only (a service-type entry is about the subscription). The host enforces
the answer: below `min` is Code -105, above `max` -106, off `step` -108.
"""

from dataclasses import dataclass, field
from typing import Optional

from tollgate_plugin import Context, Limits, QuantityTarget, Request, TargetKind, quantity_limits


@dataclass
class Range:
    min: Optional[int] = None
    max: Optional[int] = None
    step: Optional[int] = None

    def __post_init__(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")


@dataclass
class Config:
    default: Optional[Range] = None
    products: dict[str, Range] = field(default_factory=dict)
    service_types: dict[str, Range] = field(default_factory=dict)


@quantity_limits(config=Config)
def limits(request: Request, target: QuantityTarget, context: Context[Config]) -> Optional[Limits]:
    config = context.config
    by_service_type = config.service_types.get(request.service_type) if target.kind is TargetKind.SUBSCRIPTION else None
    found = config.products.get(target.product_id) or by_service_type or config.default
    return None if found is None else Limits(found.min, found.max, found.step)
