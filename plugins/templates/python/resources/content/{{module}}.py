"""{{name}}: a `resources` rule. Called on real (not check-only) calls that
change a subscription; returns the absolute total of every resource to
provision (set, never added: a repeated call is harmless), or refuses the
call with a business code in -199..-100."""

from dataclasses import dataclass

from tollgate_plugin import Context, Request, amount, feature, refuse, resources


@dataclass
class Config:
    mailboxes_per_seat: int = 1


@resources(config=Config)
def plan(request: Request, context: Context[Config]):
    if request.quantity > 100_000:
        return refuse(-110, "More than 100000 seats cannot be provisioned; please contact sales.")
    per_seat = max(context.config.mailboxes_per_seat, 1)
    # An add-on "extra_mailboxes" adds its quantity, unless this call cancels it.
    extra = sum(a.quantity for a in request.active_addons() if a.product_id == "extra_mailboxes")
    return [
        amount("mailboxes", request.quantity * per_seat + extra),
        feature("archiving", request.attribute_bool("archiving")),
    ]
