"""Fails in the author's code and with a bad configuration: plugin errors,
not traps. `quantity` 1: an exception; otherwise the config is read as
`{"limit": int}`."""

from dataclasses import dataclass

from tollgate_plugin import accept, precheck, reject


@dataclass
class Config:
    limit: int


@precheck(config=Config)
def check(request, context):
    if request.quantity == 1:
        raise RuntimeError("the author's bug")
    return accept() if request.quantity <= context.config.limit else reject(-150, "Above the limit.")
