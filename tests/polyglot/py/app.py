# A minimal tollgate:plugin@2.0.0 precheck in Python (componentize-py):
# accepts up to 100 seats. A probe of the host's readiness for Python, not an SDK.
import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import types


class WitWorld(wit_world.WitWorld):
    def check(self, request: types.Request, context: types.Context) -> types.Verdict:
        if request.quantity > 100:
            return types.Verdict_Reject(types.Rejection(-150, "Orders above 100 seats need a quote."))
        return types.Verdict_Accept()

    def validate_config(self, config: str) -> None:
        try:
            json.loads(config)
        except ValueError as e:
            raise Err(types.ConfigError("$", str(e)))
