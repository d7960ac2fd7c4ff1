"""`precheck` plugin — example rule 5: no cancellation more than N days after
the initial purchase. Checked on Subscriptions/Cancel, using the creation
time Tollgate stored and the decision's time (`context.now`); answers Code
-107.

    {"max_days": 30}
"""

from dataclasses import dataclass

from tollgate_plugin import Context, Operation, Request, Verdict, accept, codes, customer_subscriptions, days_between, precheck, reject


@dataclass
class Config:
    max_days: int


@precheck(config=Config)
def check(request: Request, context: Context[Config]) -> Verdict:
    if request.operation is not Operation.SUBSCRIPTION_CANCEL:
        return accept()
    max_days = context.config.max_days
    bought = next((s for s in customer_subscriptions() if s.subscription_id == request.subscription_id), None)
    if bought is None:
        return accept()  # not ours to judge: the host answers unknown subscriptions
    days = days_between(bought.created_at, context.now)
    if days > max_days:
        return reject(
            codes.CANCELLATION_WINDOW,
            f"Subscription {request.subscription_id} can only be cancelled within {max_days} days of purchase; "
            f"it was bought {days} days ago.",
        )
    return accept()
