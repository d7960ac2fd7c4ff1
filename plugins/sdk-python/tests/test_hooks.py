"""Hooks called natively, and the component's exports driven natively (the
vendored bindings stand in for componentize-py's)."""

from dataclasses import dataclass

import pytest

from tollgate_plugin import (
    ConfigError, Context, Limits, LogLevel, accept, amount, log, precheck, quantity_limits, refuse, reject, resources,
)
from tollgate_plugin._wit import Err, types as wit
from tollgate_plugin.component import export
from tollgate_plugin.testing import context, request, take_log, target


@dataclass
class Config:
    max_quantity: int


@precheck(config=Config)
def check(request, context: Context[Config]):
    """Rejects orders above max_quantity."""
    if request.quantity > context.config.max_quantity:
        log.info(f"rejecting {request.quantity}")
        return reject(-150, "Too many.")
    return accept()


@precheck
def untyped(request, context):
    return reject(-150, repr(context.config))


def test_a_decorated_function_is_called_as_written():
    assert check(request("cb", 5), context({"max_quantity": 10})) == accept()
    assert check(request("cb", 50), context({"max_quantity": 10})) == reject(-150, "Too many.")
    assert take_log() == [(LogLevel.INFO, "rejecting 50")]
    assert take_log() == []
    assert check.__doc__ == "Rejects orders above max_quantity." and check.hook == "precheck"


def test_the_config_is_parsed_on_first_use_only():
    @precheck(config=Config)
    def lazy(request, context):
        if request.quantity < 10:
            return accept()
        return reject(-150, f"Above {context.config.max_quantity}.")

    assert lazy(request("cb", 5), context('{"max_quantity": "ten"}')) == accept()
    with pytest.raises(ConfigError, match=r"\$\.max_quantity: expected an integer"):
        lazy(request("cb", 50), context('{"max_quantity": "ten"}'))


def test_without_a_config_type_the_config_is_a_dict():
    assert untyped(request(), context({"a": 1})) == reject(-150, "{'a': 1}")
    untyped.validate_config('{"anything": [1]}')
    with pytest.raises(ConfigError):
        untyped.validate_config("[]")


def test_wrong_answers_are_caught_in_tests():
    @precheck
    def forgetful(request, context):
        pass

    with pytest.raises(TypeError, match="accept"):
        forgetful(request(), context())

    @quantity_limits
    def tuple_limits(request, target, context):
        return (1, 2)

    with pytest.raises(TypeError, match="Limits"):
        tuple_limits(request(), target("cb", 1), context())

    @resources
    def twice(request, context):
        return [amount("seats", 1), amount("seats", 2)]

    with pytest.raises(ValueError, match="twice"):
        twice(request(), context())


def test_the_context_must_be_the_sdks():
    with pytest.raises(TypeError, match="Context"):
        check(request(), {"max_quantity": 1})


class TestExports:
    """What the component answers the host (the same code runs in wasm)."""

    def test_precheck_answers_and_failures(self):
        world = export(check)()
        ok = wit.Context(0, '{"max_quantity": 10}', "b", "t")
        assert world.check(request("cb", 50), ok) == reject(-150, "Too many.")
        with pytest.raises(Err) as bad_config:
            world.check(request("cb", 5), wit.Context(0, '{"max_quantity": -1.5}', "b", "t"))
        assert bad_config.value.value == wit.PluginError_InvalidConfig(
            wit.ConfigError("$.max_quantity", "expected an integer, got a number (-1.5)"))

    def test_an_exception_is_a_failed_plugin_error_with_its_traceback_logged(self):
        @precheck
        def broken(request, context):
            return {}["missing"]

        take_log()
        with pytest.raises(Err) as failed:
            export(broken)().check(request(), wit.Context(0, "{}", "b", "t"))
        assert failed.value.value == wit.PluginError_Failed("KeyError: 'missing'")
        (level, trace), = take_log()
        assert level is LogLevel.ERROR and "Traceback" in trace and "broken" in trace

    def test_sys_exit_is_a_failure_too(self):
        @precheck
        def leaves(request, context):
            raise SystemExit(3)

        with pytest.raises(Err) as failed:
            export(leaves)().check(request(), wit.Context(0, "{}", "b", "t"))
        assert failed.value.value == wit.PluginError_Failed("SystemExit: 3")

    def test_validate_config_reports_the_path(self):
        world = export(check)()
        assert world.validate_config('{"max_quantity": 3}') is None
        with pytest.raises(Err) as refused:
            world.validate_config('{"max_qty": 3}')
        assert refused.value.value.path == "$" and "max_qty" in refused.value.value.message

    def test_resources_totals_and_refusals_take_the_contract_form(self):
        @resources
        def plan(request, context):
            if request.quantity > 100:
                return refuse(-110, "Too big.")
            return [amount("seats", request.quantity)]

        world = export(plan)()
        ctx = wit.Context(0, "{}", "b", "t")
        assert world.plan(request("cb", 5), ctx) == wit.PlanOutcome_Totals([amount("seats", 5)])
        assert world.plan(request("cb", 500), ctx) == refuse(-110, "Too big.")

    def test_limits_receive_the_target_with_helpers(self):
        @quantity_limits
        def limits(request, target, context):
            return Limits(min=target.attribute("floor").as_int())

        answer = export(limits)().limits(
            request(), wit.QuantityTarget(wit.TargetKind.ADDON, "p", 1, None, [wit.Attribute("floor", "", "4", "", False)]),
            wit.Context(0, "{}", "b", "t"))
        assert answer == Limits(min=4)

    def test_export_takes_only_hooks(self):
        with pytest.raises(TypeError, match="decorated"):
            export(lambda r, c: accept())
