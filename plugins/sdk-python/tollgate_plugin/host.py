"""What the host offers a plugin: the plugin log and the customer's
subscriptions. Natively (pytest) both go to the stand-ins of `testing`."""

from typing import List

from . import _wit
from .model import LogLevel, SubscriptionInfo

if _wit.IN_COMPONENT:
    from wit_world.imports import host as _host

    def _log(level: LogLevel, message: str) -> None:
        _host.log(level, message)

    def _subscriptions() -> list:
        found = _host.customer_subscriptions()
        for s in found:
            s.__class__ = SubscriptionInfo
        return found

else:
    from . import testing as _testing

    _log = _testing._record_log
    _subscriptions = _testing._subscriptions


def customer_subscriptions() -> List[SubscriptionInfo]:
    """The subscriptions the calling customer holds with this tenant (any
    status), newest first, at most 1000. The subscription the call is about
    is among them (a create's is not stored yet)."""
    return _subscriptions()


class _Log:
    """The plugin log, kept with the decision (4 KiB per call by default,
    then truncated). `print()` output lands there too.

    `log.info("text")`, `log.warn(...)`, `log.error(...)`, `log.debug(...)`,
    `log.trace(...)`, or `log(LogLevel.INFO, "text")`."""

    def __call__(self, level: LogLevel, message: str) -> None:
        _log(level, str(message))

    def trace(self, message: str) -> None:
        _log(LogLevel.TRACE, str(message))

    def debug(self, message: str) -> None:
        _log(LogLevel.DEBUG, str(message))

    def info(self, message: str) -> None:
        _log(LogLevel.INFO, str(message))

    def warn(self, message: str) -> None:
        _log(LogLevel.WARN, str(message))

    def error(self, message: str) -> None:
        _log(LogLevel.ERROR, str(message))


log = _Log()
