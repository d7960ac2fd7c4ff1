"""The componentize-py floor: a precheck that accepts, written against the
generated bindings without the SDK. Its cost per call is what any Python
component pays before its own code runs."""

import wit_world
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
    def check(self, request, context):
        return types.Verdict_Accept()

    def validate_config(self, config):
        return None
