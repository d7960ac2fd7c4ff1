"""The rule's unit tests, run natively: `.venv/bin/python -m pytest`."""

import pytest

from tollgate_plugin import ConfigError, Limits
from tollgate_plugin.testing import context, request, target
from {{module}} import limits

CONFIG = {"products": {"cb_basic": {"min": 3, "max": 50}}}


def test_configured_products_get_their_range():
    assert limits(request("cb_basic", 2), target("cb_basic", 2), context(CONFIG)) == Limits(min=3, max=50)


def test_other_products_are_not_limited():
    assert limits(request("x", 2), target("x", 2), context(CONFIG)) is None


def test_a_misspelt_bound_is_refused_with_its_path():
    with pytest.raises(ConfigError) as refused:
        limits.validate_config('{"products": {"cb_basic": {"maximum": 50}}}')
    assert refused.value.path == "$.products.cb_basic"
