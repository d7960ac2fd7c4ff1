"""The rule's unit tests, run natively: `.venv/bin/python -m pytest`."""

import pytest

from tollgate_plugin import ConfigError, LogLevel, accept, reject
from tollgate_plugin.testing import context, request, take_log
from {{module}} import check

CONFIG = {"max_quantity": 100}


def test_large_orders_are_rejected():
    assert check(request("cb_basic", 500), context(CONFIG)) == reject(
        -150, "Orders above 100 seats need a quote; please contact sales."
    )
    assert take_log() == [(LogLevel.INFO, "rejecting 500 seats of cb_basic")]


def test_small_orders_pass():
    assert check(request("cb_basic", 5), context(CONFIG)) == accept()


def test_a_binding_without_max_quantity_is_refused():
    with pytest.raises(ConfigError, match='missing field "max_quantity"'):
        check.validate_config("{}")
