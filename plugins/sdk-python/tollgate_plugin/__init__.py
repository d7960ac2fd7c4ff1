"""Tollgate plugins in Python.

A plugin is a Python module built into a WebAssembly component by
componentize-py. It declares one rule with a hook decorator:

    from dataclasses import dataclass
    from tollgate_plugin import Context, Operation, Request, Verdict, accept, precheck, reject

    @dataclass
    class Config:
        max_quantity: int

    @precheck(config=Config)
    def check(request: Request, context: Context[Config]) -> Verdict:
        if request.operation is not Operation.SUBSCRIPTION_CREATE:
            return accept()
        if request.quantity > context.config.max_quantity:
            return reject(-150, f"Orders above {context.config.max_quantity} seats need a quote.")
        return accept()

| hook | decorator | the function answers |
|---|---|---|
| precheck | `@precheck` | `accept()` or `reject(code, message)`, code in -199..-100 |
| quantity-limits | `@quantity_limits` | `Limits(min=, max=, step=)` or None; the host enforces it |
| resources | `@resources` | a list of `amount()`/`feature()`/`text()` totals, or `refuse(code, message)` |

An exception is a plugin failure (`failed` in the decision log; a
`ConfigError`, raised when the configuration does not fit the config type,
is `invalid-config` with its JSON path) and the binding's failure policy
applies. The component's `validate-config` export parses a configuration
into the config type, so a bad one is refused when the binding is saved.

Inside a component there is no real clock, randomness, file, environment or
network: `time.time()` reads the decision's `now`, `random` is seeded per
call by the host. Import every module at module level: the interpreter is
snapshotted at build time and a module first imported during a call is not
found.
"""

from .config import ConfigError, parse_config
from .context import Context
from .dates import MILLIS_PER_DAY, days_between, to_datetime, to_millis
from .hooks import Hook, precheck, quantity_limits, resources
from .host import customer_subscriptions, log
from .model import (
    Accept,
    Account,
    ActionType,
    Addon,
    Attribute,
    InvalidAttribute,
    Limits,
    LogLevel,
    Operation,
    Plan,
    QuantityTarget,
    Refuse,
    Reject,
    Rejection,
    Request,
    ResourceTotal,
    SubscriptionInfo,
    SubscriptionStatus,
    TargetKind,
    Totals,
    Verdict,
    accept,
    amount,
    codes,
    feature,
    refuse,
    reject,
    text,
)

CONTRACT_VERSION = "2.0.0"

__all__ = [
    "Accept", "Account", "ActionType", "Addon", "Attribute", "CONTRACT_VERSION", "ConfigError", "Context",
    "Hook", "InvalidAttribute", "Limits", "LogLevel", "MILLIS_PER_DAY", "Operation", "Plan", "QuantityTarget",
    "Refuse", "Reject", "Rejection", "Request", "ResourceTotal", "SubscriptionInfo", "SubscriptionStatus",
    "TargetKind", "Totals", "Verdict", "accept", "amount", "codes", "customer_subscriptions", "days_between",
    "feature", "log", "parse_config", "precheck", "quantity_limits", "refuse", "reject", "resources", "text",
    "to_datetime", "to_millis",
]
