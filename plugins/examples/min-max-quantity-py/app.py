"""componentize-py's entry point: the rule of min_max_quantity.py as this component's exports."""

from tollgate_plugin.component import export

from min_max_quantity import limits

WitWorld = export(limits)
