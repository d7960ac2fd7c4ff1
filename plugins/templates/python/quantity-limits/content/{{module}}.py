"""{{name}}: a `quantity-limits` rule. Called for the subscription's quantity
(Subscriptions/Create, Update, UpgradeToPaid, UpgradeDowngrade) and for each
add-on being provisioned. Return the allowed range; the host rejects below
`min` (-105), above `max` (-106) and off `step` (-108)."""

from dataclasses import dataclass, field
from typing import Optional

from tollgate_plugin import Context, Limits, QuantityTarget, Request, quantity_limits


@dataclass
class Range:
    min: Optional[int] = None
    max: Optional[int] = None
    step: Optional[int] = None


@dataclass
class Config:
    """`{"products": {"cb_basic": {"min": 3, "max": 50}}}`"""

    products: dict[str, Range] = field(default_factory=dict)


@quantity_limits(config=Config)
def limits(request: Request, target: QuantityTarget, context: Context[Config]) -> Optional[Limits]:
    found = context.config.products.get(target.product_id)
    return None if found is None else Limits(found.min, found.max, found.step)
