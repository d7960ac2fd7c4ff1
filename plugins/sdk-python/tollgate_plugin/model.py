"""The contract's records with helpers, and the constructors of answers.

`Request`, `Addon`, `Attribute`, `Account`, `QuantityTarget` and
`SubscriptionInfo` subclass the classes componentize-py generates from the
WIT (same fields, same names in snake_case) and only add methods; the
component entry re-labels what the host hands in (`adopt`), which costs no
copy. Answers are built from the generated classes themselves, because the
runtime lowers exactly those.
"""

import decimal
import re
from typing import Iterable, Optional, Union

from ._wit import types as wit

Operation = wit.Operation
ActionType = wit.ActionType
TargetKind = wit.TargetKind
SubscriptionStatus = wit.SubscriptionStatus
LogLevel = wit.LogLevel
Rejection = wit.Rejection
Verdict = wit.Verdict
Accept = wit.Verdict_Accept
Reject = wit.Verdict_Reject
ResourceTotal = wit.ResourceTotal
Plan = wit.PlanOutcome
Totals = wit.PlanOutcome_Totals
Refuse = wit.PlanOutcome_Refuse


class codes:
    """Business-rule codes Tollgate documents. A rejection's code must be in
    `MIN..MAX` (-199..-100)."""

    ONE_ACTIVE_SUBSCRIPTION = -101
    PREREQUISITE_MISSING = -102
    BELOW_MINIMUM = -105
    ABOVE_MAXIMUM = -106
    CANCELLATION_WINDOW = -107
    OFF_STEP = -108
    MIN = -199
    MAX = -100


class InvalidAttribute(ValueError):
    """An attribute's value cannot be read as asked (a plugin failure)."""


def _find(attributes: Iterable["Attribute"], id: str) -> Optional["Attribute"]:
    return next((a for a in attributes if a.id == id), None)


def _lookup(pairs: Iterable[tuple], key: str, ignore_case: bool = False) -> Optional[str]:
    if ignore_case:
        key = key.lower()
        return next((v for k, v in pairs if k.lower() == key), None)
    return next((v for k, v in pairs if k == key), None)


class Attribute(wit.Attribute):
    """One characteristic of a product or add-on (`id`, `name`, `value`,
    `code`, `quantity_linked`)."""

    def as_int(self) -> int:
        """The value as an integer (`""` counts as 0)."""
        text = self.value.strip()
        if not text:
            return 0
        try:
            return int(text)
        except ValueError:
            raise InvalidAttribute(f"attribute {self.id!r} is {self.value!r}, not an integer") from None

    def as_bool(self) -> bool:
        """On when the value is "1" or "true" (any case)."""
        text = self.value.strip()
        return text == "1" or text.lower() == "true"

    @property
    def choice(self) -> str:
        """A drop-down's machine code (`code`, or `value` when empty)."""
        return self.code or self.value


class _HasAttributes:
    attributes: list

    def attribute(self, id: str) -> Optional[Attribute]:
        """The attribute `id`, or None."""
        return _find(self.attributes, id)


class Addon(_HasAttributes, wit.Addon):
    """One add-on of the subscription."""

    @property
    def is_active(self) -> bool:
        """True unless this add-on is being cancelled by the call."""
        return self.action is not ActionType.CANCEL


class Account(wit.Account):
    """The customer the call is about."""

    def sync_option(self, id: str) -> Optional[str]:
        """A sync option's value."""
        return _lookup(self.sync_options, id)

    @property
    def has_reseller(self) -> bool:
        """True when the account belongs to a reseller."""
        return bool(self.reseller_id)


class Request(_HasAttributes, wit.Request):
    """What the platform asked for (see the WIT record `request`)."""

    def attribute_int(self, id: str) -> Optional[int]:
        """The subscription's attribute `id` as an integer; None when absent."""
        found = self.attribute(id)
        return None if found is None else found.as_int()

    def attribute_bool(self, id: str) -> bool:
        """The subscription's boolean attribute `id` (absent = off)."""
        found = self.attribute(id)
        return found is not None and found.as_bool()

    def attribute_choice(self, id: str) -> Optional[str]:
        """The subscription's drop-down attribute `id` (its code)."""
        found = self.attribute(id)
        return None if found is None else found.choice

    def active_addons(self) -> list:
        """Every add-on except the one being cancelled."""
        return [a for a in self.addons if a.action is not ActionType.CANCEL]

    def addons_with(self, action: wit.ActionType) -> list:
        """Add-ons with `action` (PROVISION: created or changed by this call)."""
        return [a for a in self.addons if a.action is action]

    def addon(self, product_id: str) -> Optional[Addon]:
        """The add-on with this product id, or None."""
        return next((a for a in self.addons if a.product_id == product_id), None)

    def setting(self, id: str) -> Optional[str]:
        """A partner setting (`X-CloudPlatform-Setting-<id>`), ignoring case."""
        return _lookup(self.settings, id, ignore_case=True)

    def custom_field(self, id: str) -> Optional[str]:
        """A `CustomFieldValues` entry."""
        return _lookup(self.custom_fields, id)

    @property
    def quantity_delta(self) -> int:
        """New total minus the stored total (the whole quantity when new)."""
        return self.quantity - (self.previous_quantity or 0)


class QuantityTarget(_HasAttributes, wit.QuantityTarget):
    """The quantity a `quantity-limits` call is about."""


class SubscriptionInfo(wit.SubscriptionInfo):
    """A subscription the customer already holds with this tenant."""

    @property
    def is_held(self) -> bool:
        """Active or suspended (not cancelled)."""
        return self.status is not SubscriptionStatus.CANCELLED


def adopt(request: wit.Request) -> Request:
    """Give a request lifted by the runtime the SDK's methods, in place."""
    request.__class__ = Request
    request.account.__class__ = Account
    _adopt_attributes(request.attributes)
    for addon in request.addons:
        addon.__class__ = Addon
        _adopt_attributes(addon.attributes)
    return request


def adopt_target(target: wit.QuantityTarget) -> QuantityTarget:
    target.__class__ = QuantityTarget
    _adopt_attributes(target.attributes)
    return target


def _adopt_attributes(attributes: list) -> None:
    for attribute in attributes:
        attribute.__class__ = Attribute


def _business_code(code: int) -> int:
    if isinstance(code, bool) or not isinstance(code, int) or not codes.MIN <= code <= codes.MAX:
        raise ValueError(f"rejection code {code!r} is outside the business-rule range -199..-100 (see codes)")
    return code


def _sentence(message: str) -> str:
    if not isinstance(message, str) or not message.strip():
        raise ValueError("a rejection needs a message: the sentence the platform shows to the user")
    return message


def accept() -> wit.Verdict_Accept:
    """Let the call go on."""
    return wit.Verdict_Accept()


def reject(code: int, message: str) -> wit.Verdict_Reject:
    """Reject with a business code in -199..-100 and a sentence the customer
    reads. A code outside the range raises ValueError (in tests too)."""
    return wit.Verdict_Reject(wit.Rejection(_business_code(code), _sentence(message)))


def refuse(code: int, message: str) -> wit.PlanOutcome_Refuse:
    """A `resources` plugin's business refusal: the call is answered with
    this code (-199..-100) and message, and nothing is provisioned."""
    return wit.PlanOutcome_Refuse(wit.Rejection(_business_code(code), _sentence(message)))


class Limits(wit.Limits):
    """Allowed quantities: `min <= q <= max` and `(q - min) % step == 0`;
    an absent bound does not constrain."""

    def __init__(self, min: Optional[int] = None, max: Optional[int] = None, step: Optional[int] = None):
        if min is not None and max is not None and min > max:
            raise ValueError(f"limits: min {min} is above max {max}")
        if step is not None and step <= 0:
            raise ValueError(f"limits: step must be positive, not {step}")
        super().__init__(min, max, step)


_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def amount(id: str, value: Union[int, decimal.Decimal, str]) -> wit.ResourceTotal:
    """A numeric resource total: an exact, non-negative int, Decimal or
    decimal string ("12.5"). Floats are refused: they are not exact."""
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal, str)):
        raise TypeError(f"resource {id!r}: amount must be an int, Decimal or decimal string, not {value!r}")
    text = format(value, "f") if isinstance(value, decimal.Decimal) else str(value)
    if not _DECIMAL.match(text):
        raise ValueError(f"resource {id!r}: amount {text!r} is not a non-negative decimal number")
    return wit.ResourceTotal(id, wit.ResourceValue_Amount(text))


def feature(id: str, on: bool) -> wit.ResourceTotal:
    """An on/off feature."""
    return wit.ResourceTotal(id, wit.ResourceValue_Feature(bool(on)))


def text(id: str, value: str) -> wit.ResourceTotal:
    """A text value, e.g. a region code."""
    return wit.ResourceTotal(id, wit.ResourceValue_Text(value))
