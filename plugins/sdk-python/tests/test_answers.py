"""Answers: verdicts, refusals, limits and resource totals are checked
natively the way the host checks them."""

from decimal import Decimal

import pytest

from tollgate_plugin import Limits, Reject, accept, amount, codes, feature, refuse, reject, text
from tollgate_plugin._wit import types as wit


def test_reject_carries_code_and_message():
    verdict = reject(codes.ONE_ACTIVE_SUBSCRIPTION, "Only one.")
    assert isinstance(verdict, Reject)
    assert (verdict.value.code, verdict.value.message) == (-101, "Only one.")
    assert accept() == wit.Verdict_Accept()


@pytest.mark.parametrize("code", [-100, -150, -199])
def test_codes_in_the_business_range_are_accepted(code):
    assert reject(code, "No.").value.code == code
    assert refuse(code, "No.").value.code == code


@pytest.mark.parametrize("code", [-99, -200, 0, -1, True, -150.0])
def test_codes_outside_the_business_range_raise(code):
    with pytest.raises(ValueError, match="-199..-100"):
        reject(code, "No.")
    with pytest.raises(ValueError, match="-199..-100"):
        refuse(code, "No.")


def test_a_rejection_needs_a_sentence():
    with pytest.raises(ValueError, match="message"):
        reject(-150, "  ")


def test_business_codes_match_the_documented_table():
    assert (codes.ONE_ACTIVE_SUBSCRIPTION, codes.PREREQUISITE_MISSING) == (-101, -102)
    assert (codes.BELOW_MINIMUM, codes.ABOVE_MAXIMUM, codes.CANCELLATION_WINDOW, codes.OFF_STEP) == (-105, -106, -107, -108)


def test_limits_default_to_unbounded_and_refuse_what_the_host_refuses():
    assert (Limits(min=3).min, Limits(min=3).max, Limits(min=3).step) == (3, None, None)
    with pytest.raises(ValueError, match="above max"):
        Limits(min=5, max=4)
    with pytest.raises(ValueError, match="positive"):
        Limits(step=0)


@pytest.mark.parametrize(("value", "written"), [(360, "360"), (Decimal("12.50"), "12.50"), ("0.5", "0.5"), (0, "0")])
def test_amounts_are_exact_decimal_text(value, written):
    assert amount("storage_gb", value) == wit.ResourceTotal("storage_gb", wit.ResourceValue_Amount(written))


@pytest.mark.parametrize("value", [-1, "1e3", "-2", "12,5", Decimal("-1")])
def test_negative_or_non_decimal_amounts_raise(value):
    with pytest.raises(ValueError, match="storage_gb"):
        amount("storage_gb", value)


def test_floats_are_refused_as_inexact():
    with pytest.raises(TypeError, match="Decimal"):
        amount("storage_gb", 0.1)


def test_features_and_texts():
    assert feature("vault", 1) == wit.ResourceTotal("vault", wit.ResourceValue_Feature(True))
    assert text("region", "eu-west") == wit.ResourceTotal("region", wit.ResourceValue_Text("eu-west"))
