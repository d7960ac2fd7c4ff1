"""componentize-py's entry point: the rule of cancellation_window.py as this component's exports."""

from tollgate_plugin.component import export

from cancellation_window import check

WitWorld = export(check)
