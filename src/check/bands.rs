//! Bands must neither overlap nor leave gaps between them.

use super::CheckError;
use crate::ast::{Band, Bound, Range};
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// Overlaps and gaps between neighbouring bands. Over whole numbers (`integers`), a gap
/// is a set of whole numbers; otherwise it can be a single point such as exactly 10.
pub(super) fn coverage(name: &str, bands: &[Band], integers: bool) -> Vec<CheckError> {
    let mut errors = Vec::new();
    let mut sorted: Vec<&Band> = bands.iter().collect();
    sorted.sort_by(|a, b| compare_lower(&a.range, &b.range));
    for pair in sorted.windows(2) {
        let [a, b] = pair else { continue };
        if integers {
            let Some(a_hi) = int_upper(&a.range) else {
                errors.push(overlap(a, b, "values".into()));
                continue;
            };
            let b_lo = int_lower(&b.range).unwrap_or(Decimal::MIN);
            let a_lo = int_lower(&a.range).unwrap_or(Decimal::MIN);
            let b_hi = int_upper(&b.range).unwrap_or(Decimal::MAX);
            if b_lo <= a_hi {
                let from = b_lo.max(a_lo);
                let to = a_hi.min(b_hi);
                errors.push(overlap(a, b, describe_ints(from, to)));
            } else if b_lo > a_hi + Decimal::ONE {
                let from = a_hi + Decimal::ONE;
                let to = b_lo - Decimal::ONE;
                let lower = Bound {
                    value: from,
                    inclusive: true,
                };
                errors.push(gap(name, a, b, describe_ints(from, to), from == to, lower));
            }
        } else {
            let (Some(a_hi), Some(b_lo)) = (a.range.upper, b.range.lower) else {
                if a.range.upper.is_none() {
                    errors.push(overlap(a, b, "values".into()));
                }
                continue;
            };
            match a_hi.value.cmp(&b_lo.value) {
                Ordering::Less => {
                    let open = |b: Bound, l: &str, r: &str| {
                        if b.inclusive {
                            r.to_string()
                        } else {
                            l.to_string()
                        }
                    };
                    let text = format!(
                        "values {}`{}`, `{}`{}",
                        open(a_hi, "[", "("),
                        a_hi.value.normalize(),
                        b_lo.value.normalize(),
                        open(b_lo, "]", ")")
                    );
                    let lower = Bound {
                        value: a_hi.value,
                        inclusive: !a_hi.inclusive,
                    };
                    errors.push(gap(name, a, b, text, false, lower));
                }
                Ordering::Equal => {
                    let v = format!("`{}`", a_hi.value.normalize());
                    match (a_hi.inclusive, b_lo.inclusive) {
                        (false, false) => {
                            let lower = Bound {
                                value: a_hi.value,
                                inclusive: true,
                            };
                            errors.push(gap(name, a, b, v, true, lower));
                        }
                        (true, true) => errors.push(overlap(a, b, v)),
                        _ => {}
                    }
                }
                Ordering::Greater => errors.push(overlap(
                    a,
                    b,
                    format!(
                        "values from `{}` to `{}`",
                        b_lo.value.normalize(),
                        a_hi.value.normalize()
                    ),
                )),
            }
        }
    }
    errors
}

fn compare_lower(a: &Range, b: &Range) -> Ordering {
    match (a.lower, b.lower) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => x
            .value
            .cmp(&y.value)
            .then_with(|| y.inclusive.cmp(&x.inclusive)),
    }
}

/// The smallest whole number in the range.
fn int_lower(r: &Range) -> Option<Decimal> {
    r.lower.map(|b| {
        let c = b.value.ceil();
        if !b.inclusive && c == b.value {
            c + Decimal::ONE
        } else {
            c
        }
    })
}

/// The largest whole number in the range.
fn int_upper(r: &Range) -> Option<Decimal> {
    r.upper.map(|b| {
        let f = b.value.floor();
        if !b.inclusive && f == b.value {
            f - Decimal::ONE
        } else {
            f
        }
    })
}

fn describe_ints(from: Decimal, to: Decimal) -> String {
    if from == to {
        format!("`{}`", from.normalize())
    } else {
        format!("values `{}` to `{}`", from.normalize(), to.normalize())
    }
}

/// A range as written in a policy.
fn range_text(lower: Bound, upper: Option<Bound>) -> String {
    let l = lower.value.normalize();
    match (lower.inclusive, upper) {
        (true, None) => format!(">= {l}"),
        (false, None) => format!("> {l}"),
        (true, Some(u)) if u.inclusive => format!("{l} ..= {}", u.value.normalize()),
        (true, Some(u)) => format!("{l} ..< {}", u.value.normalize()),
        (false, Some(u)) => {
            let cmp = if u.inclusive { "<=" } else { "<" };
            format!("> {l} and {cmp} {}", u.value.normalize())
        }
    }
}

/// `a` ends below the gap, `b` starts above it; `lower` is where `b` should start instead.
fn gap(name: &str, a: &Band, b: &Band, values: String, single: bool, lower: Bound) -> CheckError {
    let band = &b.name.name;
    let band = if band.chars().all(|c| c.is_alphanumeric() || c == '_') {
        band.clone()
    } else {
        format!("{band:?}")
    };
    let help = format!(
        "make one of the neighbouring bands include {values}, e.g. `{band}: {}`",
        range_text(lower, b.range.upper)
    );
    CheckError::BandGap {
        name: name.to_string(),
        values,
        verb: if single { "is" } else { "are" },
        help,
        below: a.span,
        above: b.span,
    }
}

fn overlap(a: &Band, b: &Band, values: String) -> CheckError {
    let single = values.starts_with('`');
    CheckError::BandOverlap {
        values,
        verb: if single { "is" } else { "are" },
        first_name: a.name.name.clone(),
        second_name: b.name.name.clone(),
        first: a.span,
        second: b.span,
    }
}
