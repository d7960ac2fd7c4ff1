"""componentize-py's entry point: the rule of one_active_subscription.py as this component's exports."""

from tollgate_plugin.component import export

from one_active_subscription import check

WitWorld = export(check)
