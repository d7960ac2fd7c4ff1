"""componentize-py's entry point: the rule of {{module}}.py as this component's exports.

Import every module the rule needs at module level (here or in the rule):
the interpreter is snapshotted at build time and a module first imported
during a call is not found.
"""

from tollgate_plugin.component import export

from {{module}} import plan

WitWorld = export(plan)
