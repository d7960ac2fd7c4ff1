"""{{name}}: a `precheck` rule. Called for every Subscriptions/* and Addons/*
call, in check mode and again in real mode. Accept, or reject with a
business code in -199..-100 and a sentence the customer reads."""

from dataclasses import dataclass

from tollgate_plugin import Context, Operation, Request, Verdict, accept, log, precheck, reject


@dataclass
class Config:
    """The binding's configuration (`"config"` of the binding), checked when
    the binding is saved and parsed on every call: keep it small."""

    max_quantity: int  # the largest order accepted on Subscriptions/Create


@precheck(config=Config)
def check(request: Request, context: Context[Config]) -> Verdict:
    if request.operation is not Operation.SUBSCRIPTION_CREATE:
        return accept()
    limit = context.config.max_quantity
    if request.quantity > limit:
        log.info(f"rejecting {request.quantity} seats of {request.product_id}")
        return reject(-150, f"Orders above {limit} seats need a quote; please contact sales.")
    return accept()
