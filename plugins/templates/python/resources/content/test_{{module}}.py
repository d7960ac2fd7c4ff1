"""The rule's unit tests, run natively: `.venv/bin/python -m pytest`."""

from tollgate_plugin import ActionType, amount, feature, refuse
from tollgate_plugin.testing import addon, attribute, context, request
from {{module}} import plan


def test_mailboxes_per_seat_plus_extra_mailboxes():
    r = request("mail_pro", 10, attributes=[attribute("archiving", "1")],
                addons=[addon("extra_mailboxes", ActionType.NONE, 5)])
    assert plan(r, context({"mailboxes_per_seat": 2})) == [amount("mailboxes", 25), feature("archiving", True)]


def test_a_cancelled_addon_does_not_count():
    r = request("mail_pro", 10, addons=[addon("extra_mailboxes", ActionType.CANCEL, 5)])
    assert plan(r, context())[0] == amount("mailboxes", 10)


def test_huge_orders_are_refused():
    assert plan(request("mail_pro", 200_000), context()) == refuse(
        -110, "More than 100000 seats cannot be provisioned; please contact sales."
    )
