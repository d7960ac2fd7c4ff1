//! A contract v2 resources probe without a config type: `seats` =
//! quantity; above 100 seats a refusal (-110); 13 seats a refusal with a
//! code outside the business range (the host must refuse the answer).
use tollgate_plugin::{Context, Plan, Rejection, Request, ResourceTotal, Resources, Result};

struct Seats;

impl Resources for Seats {
    fn plan(request: &Request, _: &Context) -> Result<Plan> {
        if request.quantity > 100 {
            return Ok(Plan::refuse(
                -110,
                "More than 100 seats need a dedicated vault.",
            ));
        }
        if request.quantity == 13 {
            // Built by hand: the helper would refuse the code in native tests.
            return Ok(Plan::Refuse(Rejection {
                code: -50,
                message: "Unlucky.".into(),
            }));
        }
        Ok(Plan::totals(vec![
            ResourceTotal::amount("seats", request.quantity),
            ResourceTotal::feature("vault", request.quantity > 10),
        ]))
    }
}

tollgate_plugin::export_resources!(Seats);
