"""Native test helpers (pytest, no wasm): builders for the hook inputs and
stand-ins for the host functions.

    from tollgate_plugin.testing import context, request, set_customer_subscriptions, subscription, take_log

    def test_second_subscription_is_rejected():
        set_customer_subscriptions([subscription("cb_basic", "cloudbackup")])
        assert check(request("cb_basic", 5, service_type="cloudbackup"), context()) == reject(-101, "...")

`print()` output is captured by pytest as usual (`capsys`); inside a
component it lands in the plugin log.
"""

import json
from typing import Any, List, Optional, Sequence, Tuple, Union

from .context import Context
from .model import (
    Account,
    ActionType,
    Addon,
    Attribute,
    LogLevel,
    Operation,
    QuantityTarget,
    Request,
    SubscriptionInfo,
    SubscriptionStatus,
    TargetKind,
)

_SUBSCRIPTIONS: List[SubscriptionInfo] = []
_LOG: List[Tuple[LogLevel, str]] = []


def set_customer_subscriptions(subscriptions: Sequence[SubscriptionInfo]) -> None:
    """What `customer_subscriptions()` answers in native tests from now on."""
    _SUBSCRIPTIONS[:] = subscriptions


def take_log() -> List[Tuple[LogLevel, str]]:
    """The lines logged so far (with `log`), emptying the log."""
    lines = list(_LOG)
    _LOG.clear()
    return lines


def _subscriptions() -> List[SubscriptionInfo]:
    return list(_SUBSCRIPTIONS)


def _record_log(level: LogLevel, message: str) -> None:
    _LOG.append((level, message))


def account(id: str = "1", **fields: Any) -> Account:
    """An account; any field can be given by name."""
    values = dict(
        id=id, external_id=None, reseller_id=None, reseller_external_id=None, name="", code="",
        email="", country_code="", is_test=False, sync_options=[],
    )
    values.update(fields)
    return Account(**values)


def request(product_id: str = "cb_basic", quantity: int = 1, **fields: Any) -> Request:
    """A Subscriptions/Create of `quantity` × `product_id` for account "1" in
    check mode; any field can be given by name (`operation=`,
    `service_type=`, `previous_quantity=`, `attributes=`, `addons=`...)."""
    values = dict(
        operation=Operation.SUBSCRIPTION_CREATE, check_only=True, subscription_id="",
        platform_subscription_id="00000000-0000-0000-0000-000000000001", product_id=product_id,
        service_type="", action=ActionType.PROVISION, action_text="Provision", quantity=quantity,
        previous_quantity=None, is_trial=False, attributes=[], addons=[], account=account(),
        settings=[], custom_fields=[],
    )
    values.update(fields)
    return Request(**values)


def context(config: Union[None, str, dict] = None, *, now: int = 0, binding: str = "test", track_id: str = "") -> Context:
    """A context at `now` (ms since the epoch) with a configuration given as
    a dict or as JSON text (none: `{}`)."""
    text = config if isinstance(config, str) else json.dumps(config or {})
    return Context(now, text, binding, track_id)


def target(
    product_id: str,
    quantity: int,
    *,
    kind: TargetKind = TargetKind.SUBSCRIPTION,
    previous_quantity: Optional[int] = None,
    attributes: Sequence[Attribute] = (),
) -> QuantityTarget:
    """The quantity a `quantity-limits` call is about."""
    return QuantityTarget(kind, product_id, quantity, previous_quantity, list(attributes))


def attribute(id: str, value: str, *, code: str = "", quantity_linked: bool = False) -> Attribute:
    """An attribute (its name is its id)."""
    return Attribute(id, id, value, code, quantity_linked)


def addon(
    product_id: str,
    action: ActionType = ActionType.NONE,
    quantity: int = 1,
    *,
    previous_quantity: Optional[int] = None,
    attributes: Sequence[Attribute] = (),
) -> Addon:
    """An add-on of the request."""
    return Addon(product_id, product_id, action, "", quantity, previous_quantity, list(attributes))


def subscription(
    product_id: str,
    service_type: str,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    created_at: int = 0,
    *,
    subscription_id: Optional[str] = None,
    quantity: int = 1,
    is_trial: bool = False,
) -> SubscriptionInfo:
    """A subscription the customer holds (id `SUB-<product>-<created_at>`
    unless given), for `set_customer_subscriptions`."""
    return SubscriptionInfo(
        subscription_id or f"SUB-{product_id}-{created_at}", product_id, service_type, status, quantity,
        is_trial, created_at,
    )
