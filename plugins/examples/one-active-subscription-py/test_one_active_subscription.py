import pytest

from one_active_subscription import check
from tollgate_plugin import ConfigError, Operation, SubscriptionStatus, accept, reject
from tollgate_plugin.testing import context, request, set_customer_subscriptions, subscription


@pytest.fixture(autouse=True)
def no_subscriptions():
    set_customer_subscriptions([])


def create(service_type="cloudbackup", product="cb_basic"):
    return request(product, 5, service_type=service_type)


def test_second_active_subscription_is_rejected():
    set_customer_subscriptions([subscription("cb_basic", "cloudbackup", SubscriptionStatus.ACTIVE, 1)])
    assert check(create(), context()) == reject(
        -101, "The customer already has an active cloudbackup subscription (SUB-cb_basic-1); only one is allowed."
    )


def test_cancelled_ones_and_other_services_do_not_count():
    set_customer_subscriptions([
        subscription("cb_basic", "cloudbackup", SubscriptionStatus.CANCELLED, 1),
        subscription("mail", "email", SubscriptionStatus.ACTIVE, 2),
    ])
    assert check(create(), context()) == accept()


def test_suspended_ones_count():
    set_customer_subscriptions([subscription("cb_basic", "cloudbackup", SubscriptionStatus.SUSPENDED, 1)])
    assert check(create(), context()).value.code == -101


def test_only_listed_service_types():
    set_customer_subscriptions([subscription("cb_basic", "cloudbackup", SubscriptionStatus.ACTIVE, 1)])
    assert check(create(), context({"service_types": ["email"]})) == accept()


def test_per_product_and_a_custom_message():
    set_customer_subscriptions([subscription("cb_basic", "cloudbackup", SubscriptionStatus.ACTIVE, 1)])
    config = {"per": "product", "message": "One {service} only ({existing})."}
    assert check(create(product="cb_business"), context(config)) == accept()
    assert check(create(), context(config)) == reject(-101, "One cb_basic only (SUB-cb_basic-1).")


def test_only_creates_are_checked():
    set_customer_subscriptions([subscription("cb_basic", "cloudbackup", SubscriptionStatus.ACTIVE, 1)])
    assert check(request("cb_basic", 5, operation=Operation.SUBSCRIPTION_UPDATE), context()) == accept()


def test_an_unknown_per_is_a_config_error():
    with pytest.raises(ConfigError, match=r"\$\.per: expected \"service_type\" or \"product\""):
        check(create(), context({"per": "account"}))
