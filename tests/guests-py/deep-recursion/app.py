"""componentize-py's entry point."""

from tollgate_plugin.component import export

from guest import check

WitWorld = export(check)
