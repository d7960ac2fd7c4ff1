"""Helpers on the request records, the host stand-ins and the date helpers."""

from datetime import datetime, timezone

import pytest

from tollgate_plugin import (
    MILLIS_PER_DAY, ActionType, InvalidAttribute, SubscriptionStatus, customer_subscriptions, days_between,
    to_datetime, to_millis,
)
from tollgate_plugin.testing import account, addon, attribute, request, set_customer_subscriptions, subscription


def test_attribute_readers():
    r = request(attributes=[attribute("storage_gb", " 100 "), attribute("vault", "True"), attribute("plan", "Gold", code="gold"),
                            attribute("empty", ""), attribute("oops", "ten")])
    assert r.attribute_int("storage_gb") == 100
    assert r.attribute_int("empty") == 0
    assert r.attribute_int("absent") is None
    assert r.attribute_bool("vault") and not r.attribute_bool("plan") and not r.attribute_bool("absent")
    assert r.attribute_choice("plan") == "gold"
    assert attribute("plan", "Gold").choice == "Gold"
    with pytest.raises(InvalidAttribute, match="'oops' is 'ten', not an integer"):
        r.attribute_int("oops")


def test_addon_helpers():
    r = request(addons=[addon("vault", ActionType.PROVISION, 2), addon("old", ActionType.CANCEL), addon("kept")])
    assert [a.product_id for a in r.active_addons()] == ["vault", "kept"]
    assert [a.product_id for a in r.addons_with(ActionType.PROVISION)] == ["vault"]
    assert r.addon("old").is_active is False and r.addon("kept").is_active
    assert r.addon("missing") is None


def test_settings_ignore_case_custom_fields_do_not():
    r = request(settings=[("Region", "eu")], custom_fields=[("PO", "42")])
    assert r.setting("region") == "eu" and r.setting("REGION") == "eu"
    assert r.custom_field("PO") == "42" and r.custom_field("po") is None


def test_quantity_delta_and_account():
    assert request(quantity=7, previous_quantity=5).quantity_delta == 2
    assert request(quantity=7).quantity_delta == 7
    a = account(reseller_id="R1", sync_options=[("username", "ann")])
    assert a.has_reseller and not account().has_reseller and not account(reseller_id="").has_reseller
    assert a.sync_option("username") == "ann"


def test_customer_subscriptions_stand_in():
    held = subscription("cb", "cloudbackup", created_at=5)
    set_customer_subscriptions([held, subscription("mail", "email", SubscriptionStatus.CANCELLED)])
    found = customer_subscriptions()
    assert [s.subscription_id for s in found] == ["SUB-cb-5", "SUB-mail-0"]
    assert [s.is_held for s in found] == [True, False]
    set_customer_subscriptions([])
    assert customer_subscriptions() == []


def test_days_between_rounds_down():
    assert days_between(0, 30 * MILLIS_PER_DAY) == 30
    assert days_between(0, 31 * MILLIS_PER_DAY - 1) == 30
    assert days_between(MILLIS_PER_DAY, 0) == -1


def test_datetimes_are_utc():
    moment = to_datetime(1764201600000)
    assert moment == datetime(2025, 11, 27, tzinfo=timezone.utc)
    assert to_millis(moment) == 1764201600000
    assert to_millis(datetime(2025, 11, 27)) == 1764201600000
