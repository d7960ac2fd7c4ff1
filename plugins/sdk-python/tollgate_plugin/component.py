"""The component's exports, made by the project's `app.py` (componentize-py's
app module) from the rule. Inside the component `wit_world` is the module
componentize-py generates for the world being built; natively it is the
vendored copy, so the SDK's tests drive these exports too.

    from tollgate_plugin.component import export
    from my_rule import check
    WitWorld = export(check)
"""

import gc
import traceback

import wit_world

from ._wit import IN_COMPONENT, Err
from .config import ConfigError
from .context import Context
from .hooks import Hook, as_plan
from .host import log
from .model import adopt, adopt_target, wit

_EXPORT = {"precheck": "check", "quantity-limits": "limits", "resources": "plan"}


def _run(answer):
    """Run a hook; exceptions become the contract's plugin-error, not traps.

    No reseeding here: componentize-py reseeds `random` from WASI random when
    the snapshot resumes, so it follows the host's per-call seed
    (tests/guests-py/clock-random proves it under the host)."""
    try:
        return answer()
    except ConfigError as e:
        raise Err(wit.PluginError_InvalidConfig(wit.ConfigError(e.path, e.message))) from None
    except MemoryError:
        raise  # a limit of the sandbox: the host names it
    except (Exception, SystemExit) as e:
        log.error(traceback.format_exc())
        raise Err(wit.PluginError_Failed(f"{type(e).__name__}: {e}")) from None


def _context(c: wit.Context, schema) -> Context:
    return Context(c.now, c.config, c.binding, c.track_id, schema)


def export(hook: Hook) -> type:
    """The `WitWorld` class componentize-py exports for `hook`."""
    if not isinstance(hook, Hook):
        raise TypeError(f"export() takes a function decorated with @precheck, @quantity_limits or @resources, not {hook!r}")
    name = _EXPORT[hook.hook]
    if not hasattr(wit_world.WitWorld, name):
        built = next(h for h, n in _EXPORT.items() if hasattr(wit_world.WitWorld, n))
        raise TypeError(
            f"{hook.__name__} is a {hook.hook} rule but this component is built for the {built} world: "
            f'make "hook" in tollgate.json "{hook.hook}"'
        )

    def validate_config(self, config: str) -> None:
        try:
            hook.validate_config(config)
        except ConfigError as e:
            raise Err(wit.ConfigError(e.path, e.message)) from None
        except Exception as e:
            raise Err(wit.ConfigError("$", f"{type(e).__name__}: {e}")) from None

    def check(self, request, context):
        return _run(lambda: hook(adopt(request), _context(context, hook.config)))

    def limits(self, request, target, context):
        return _run(lambda: hook(adopt(request), adopt_target(target), _context(context, hook.config)))

    def plan(self, request, context):
        return _run(lambda: as_plan(hook(adopt(request), _context(context, hook.config))))

    if IN_COMPONENT:
        # Runs at build time: what is alive now is the snapshot, so the
        # collector need not scan it during calls (7% less fuel with 1000
        # customer subscriptions).
        gc.collect()
        gc.freeze()
    methods = {"check": check, "limits": limits, "plan": plan}
    # Not a subclass of the generated protocol: componentize-py only calls the methods.
    return type("WitWorld", (), {name: methods[name], "validate_config": validate_config})
