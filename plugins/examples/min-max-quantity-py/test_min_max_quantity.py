import pytest

from min_max_quantity import limits
from tollgate_plugin import ConfigError, Limits, TargetKind
from tollgate_plugin.testing import context, request, target

CONFIG = {"default": {"min": 1}, "products": {"P1": {"min": 3, "max": 50, "step": 1}}, "service_types": {"backup": {"max": 9}}}


def limits_for(product, service_type, kind=TargetKind.SUBSCRIPTION):
    return limits(request(product, 2, service_type=service_type), target(product, 2, kind=kind), context(CONFIG))


def test_product_entry_wins_over_service_type_and_default():
    assert limits_for("P1", "backup") == Limits(3, 50, 1)


def test_service_type_then_default():
    assert limits_for("P2", "backup") == Limits(max=9)
    assert limits_for("P2", "other") == Limits(min=1)


def test_addons_ignore_service_type_entries():
    assert limits_for("P2", "backup", TargetKind.ADDON) == Limits(min=1)


def test_empty_config_means_no_limits():
    assert limits(request("P1", 2), target("P1", 2), context()) is None


def test_a_typo_in_the_config_is_a_clear_error():
    with pytest.raises(ConfigError, match='unknown field "produts"'):
        limits(request("P1", 2), target("P1", 2), context({"produts": {}}))


def test_an_inverted_range_is_refused_at_bind_time():
    with pytest.raises(ConfigError) as refused:
        limits.validate_config('{"products": {"P1": {"min": 9, "max": 3}}}')
    assert (refused.value.path, refused.value.message) == ("$.products.P1", "min 9 is above max 3")
