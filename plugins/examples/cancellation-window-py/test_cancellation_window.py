import pytest

from cancellation_window import check
from tollgate_plugin import MILLIS_PER_DAY, ConfigError, Operation, accept, reject
from tollgate_plugin.testing import context, request, set_customer_subscriptions, subscription

CONFIG = {"max_days": 30}


def cancel():
    return request("cb", 5, operation=Operation.SUBSCRIPTION_CANCEL, subscription_id="SUB-cb-0")


@pytest.fixture(autouse=True)
def bought_at_the_epoch():
    set_customer_subscriptions([subscription("cb", "cloudbackup", created_at=0)])


def test_inside_and_outside_the_window():
    assert check(cancel(), context(CONFIG, now=30 * MILLIS_PER_DAY)) == accept()
    assert check(cancel(), context(CONFIG, now=31 * MILLIS_PER_DAY)) == reject(
        -107, "Subscription SUB-cb-0 can only be cancelled within 30 days of purchase; it was bought 31 days ago."
    )


def test_unknown_subscriptions_and_other_operations_pass():
    set_customer_subscriptions([])
    assert check(cancel(), context(CONFIG, now=99 * MILLIS_PER_DAY)) == accept()
    assert check(request("cb", 5), context(CONFIG, now=99 * MILLIS_PER_DAY)) == accept()


def test_a_missing_max_days_is_a_config_error():
    with pytest.raises(ConfigError, match='missing field "max_days"'):
        check(cancel(), context({}))
