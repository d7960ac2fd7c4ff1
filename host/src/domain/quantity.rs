//! Enforcing quantity limits: plugins (and the catalogue) say what is
//! allowed; the host decides and words the answer, so every tenant's users
//! get the same clear messages.

use super::codes;
use super::hook::{Limits, Rejection};

/// Check `quantity` against `limits`. `what` names the product in the
/// message, e.g. "Cloud Backup Basic (cb_basic)".
pub fn enforce(quantity: i64, limits: &Limits, what: &str) -> Result<(), Rejection> {
    if let Some(min) = limits.min
        && quantity < min
    {
        return Err(Rejection {
            code: codes::BELOW_MINIMUM,
            message: format!("The quantity {quantity} of {what} is below the minimum of {min}."),
        });
    }
    if let Some(max) = limits.max
        && quantity > max
    {
        return Err(Rejection {
            code: codes::ABOVE_MAXIMUM,
            message: format!("The quantity {quantity} of {what} is above the maximum of {max}."),
        });
    }
    if let Some(step) = limits.step.filter(|s| *s > 1) {
        let base = limits.min.unwrap_or(0);
        // Plugin-supplied bounds may be anywhere in i64: in i128 the
        // arithmetic cannot overflow.
        let (q, b, st) = (i128::from(quantity), i128::from(base), i128::from(step));
        let off = (q - b).rem_euclid(st);
        if off != 0 {
            let lower = q - off;
            return Err(Rejection {
                code: codes::OFF_STEP,
                message: format!(
                    "The quantity {quantity} of {what} is not allowed: it must be {base} plus a multiple of {step} (for example {lower} or {}).",
                    lower + st
                ),
            });
        }
    }
    Ok(())
}

/// Several limits apply together: the intersection (highest minimum,
/// lowest maximum). Steps are checked one by one by [`enforce`].
pub fn intersect(a: &Limits, b: &Limits) -> Limits {
    Limits {
        min: match (a.min, b.min) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        },
        max: match (a.max, b.max) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
        step: a.step.or(b.step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_plugin_bounds_never_overflow() {
        for (quantity, min, step) in [
            (i64::MAX, Some(i64::MIN), i64::MAX),
            (0, Some(i64::MIN), 3),
            (i64::MIN, None, i64::MAX),
            (5, Some(i64::MAX), 2),
        ] {
            let limits = Limits {
                min,
                max: None,
                step: Some(step),
            };
            // Any answer is fine; no panic, and off-step messages hold
            // the true neighbours.
            if let Err(r) = enforce(quantity, &limits, "p")
                && r.code == codes::OFF_STEP
            {
                assert!(r.message.contains("for example"), "{}", r.message);
            }
        }
    }

    #[test]
    fn below_minimum_names_the_limit_and_the_product() {
        let err = enforce(
            2,
            &Limits {
                min: Some(3),
                ..Default::default()
            },
            "cb_basic",
        )
        .unwrap_err();
        assert_eq!(err.code, -105);
        assert_eq!(
            err.message,
            "The quantity 2 of cb_basic is below the minimum of 3."
        );
    }

    #[test]
    fn above_maximum() {
        let err = enforce(
            51,
            &Limits {
                max: Some(50),
                ..Default::default()
            },
            "P1",
        )
        .unwrap_err();
        assert_eq!(err.code, -106);
        assert!(err.message.contains("above the maximum of 50"));
    }

    #[test]
    fn step_counts_from_the_minimum() {
        let limits = Limits {
            min: Some(5),
            max: None,
            step: Some(5),
        };
        assert!(enforce(15, &limits, "P").is_ok());
        let err = enforce(12, &limits, "P").unwrap_err();
        assert_eq!(err.code, -108);
        assert!(
            err.message.contains("for example 10 or 15"),
            "{}",
            err.message
        );
    }

    #[test]
    fn within_limits_passes() {
        assert!(
            enforce(
                5,
                &Limits {
                    min: Some(3),
                    max: Some(50),
                    step: Some(1)
                },
                "P"
            )
            .is_ok()
        );
        assert!(enforce(0, &Limits::default(), "P").is_ok());
    }

    #[test]
    fn intersection_is_the_tightest() {
        let l = intersect(
            &Limits {
                min: Some(1),
                max: Some(50),
                step: None,
            },
            &Limits {
                min: Some(3),
                max: Some(100),
                step: None,
            },
        );
        assert_eq!((l.min, l.max), (Some(3), Some(50)));
    }
}
