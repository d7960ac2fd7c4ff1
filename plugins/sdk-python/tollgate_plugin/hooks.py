"""The hook decorators: `@precheck`, `@quantity_limits`, `@resources`.

A decorated function stays callable as it was (tests call it directly); the
decorator checks its answer and binds the configuration type, and the
component entry (`tollgate_plugin.component.export`) turns it into the
world's exports.
"""

from typing import Any, Callable, Optional

from .config import converter, parse_config
from .context import Context
from .model import Limits, Plan, Refuse, ResourceTotal, Totals, Verdict, wit


class Hook:
    """A rule for one hook. `hook.validate_config(text)` is what the
    component's `validate-config` export runs (raises `ConfigError`)."""

    def __init__(self, hook: str, function: Callable, config: Optional[type], check: Callable[[Any], Any]):
        self.hook = hook
        self.function = function
        self.config = config
        self._check = check
        converter(config)  # compile now: at build time inside a component
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__
        self.__wrapped__ = function

    def __call__(self, *args: Any) -> Any:
        *inputs, context = args
        if not isinstance(context, Context):
            raise TypeError(f"{self.__name__}: the last argument must be a tollgate_plugin.Context")
        if context.schema is not self.config:
            context = context.with_schema(self.config)
        answer = self.function(*inputs, context)
        return self._check(answer)

    def validate_config(self, text: str) -> None:
        parse_config(text, self.config)


def _decorator(hook: str, check: Callable[[Any], Any]) -> Callable:
    def decorate(function: Optional[Callable] = None, *, config: Optional[type] = None) -> Any:
        if function is None:
            return lambda f: Hook(hook, f, config, check)
        return Hook(hook, function, config, check)

    decorate.__name__ = hook.replace("-", "_")
    return decorate


def _verdict(answer: Any) -> Verdict:
    if not isinstance(answer, (wit.Verdict_Accept, wit.Verdict_Reject)):
        raise TypeError(f"a precheck answers accept() or reject(code, message), not {answer!r}")
    return answer


def _limits(answer: Any) -> Optional[Limits]:
    if answer is not None and not isinstance(answer, wit.Limits):
        raise TypeError(f"a quantity-limits rule answers Limits(...) or None, not {answer!r}")
    return answer


def _plan(answer: Any) -> Any:
    if isinstance(answer, Refuse):
        return answer
    totals = answer.value if isinstance(answer, Totals) else answer
    if not isinstance(totals, list) or not all(isinstance(t, ResourceTotal) for t in totals):
        raise TypeError(
            f"a resources rule answers a list of amount()/feature()/text() totals or refuse(code, message), not {answer!r}"
        )
    seen = set()
    for total in totals:
        if total.id in seen:
            raise ValueError(f"resource {total.id!r} appears twice in the plan")
        seen.add(total.id)
    return answer


def as_plan(answer: Any) -> Plan:
    """A checked resources answer in the contract's form."""
    return answer if isinstance(answer, (Totals, Refuse)) else Totals(answer)


precheck = _decorator("precheck", _verdict)
precheck.__doc__ = """Declare the `precheck` rule: `(request, context) -> accept() | reject(code, message)`.

    @precheck(config=Config)   # or @precheck: the config is then any JSON object, as a dict
    def check(request: Request, context: Context[Config]) -> Verdict: ...
"""

quantity_limits = _decorator("quantity-limits", _limits)
quantity_limits.__doc__ = """Declare the `quantity-limits` rule:
`(request, target, context) -> Limits(min=, max=, step=) | None`. The host
enforces the answer: below min -105, above max -106, off step -108."""

resources = _decorator("resources", _plan)
resources.__doc__ = """Declare the `resources` rule: `(request, context) -> [amount(...),
feature(...), text(...)] | refuse(code, message)`: the absolute totals to
provision for a real call, or a business refusal."""
