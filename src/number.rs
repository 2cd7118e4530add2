//! Exact numbers: rounding by the policy's rule and display without trailing zeros.

use crate::ast::Rounding;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds to `places` decimals by the policy's rule.
///
/// Quotients such as 1/3 carry 28 significant digits, so a sum of them can land a hair
/// beside a midpoint it equals exactly. Values are first snapped to 22 decimals, which
/// absorbs that error; two different rationals of county-sized denominators are never
/// that close.
pub fn round(value: Decimal, places: u32, rounding: Rounding) -> Decimal {
    let value = if places < 22 { snap(value) } else { value };
    let strategy = match rounding {
        Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    value.round_dp_with_strategy(places, strategy)
}

/// The piecewise-linear function through `points` (increasing in their first
/// parts) at `x`, constant beyond the first and the last point:
/// `scale(满意率, 73% -> 12.5, 98% -> 25)`. Exact: the product is taken before the
/// division. `None` when there are no points or the arithmetic overflows.
pub fn scale(x: Decimal, points: &[(Decimal, Decimal)]) -> Option<Decimal> {
    let (first, last) = (points.first()?, points.last()?);
    if x <= first.0 {
        return Some(first.1);
    }
    if x >= last.0 {
        return Some(last.1);
    }
    for pair in points.windows(2) {
        let [(x0, y0), (x1, y1)] = pair else { continue };
        if x <= *x1 {
            let rise = (x.checked_sub(*x0)?).checked_mul(y1.checked_sub(*y0)?)?;
            return y0.checked_add(rise.checked_div(x1.checked_sub(*x0)?)?);
        }
    }
    Some(last.1)
}

/// `value` snapped to 22 decimals: the error of 28-digit quotients is absorbed, so a
/// value that equals a bound exactly (60 reached through thirds) compares equal to it.
pub fn snap(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(22, RoundingStrategy::MidpointNearestEven)
}

/// `4.325` → `4.33`, `100.00` → `100`, `-0.001` → `0`.
pub fn display(value: Decimal, places: u32, rounding: Rounding) -> String {
    let rounded = round(value, places, rounding).normalize();
    if rounded.is_zero() {
        "0".to_string()
    } else {
        rounded.to_string()
    }
}

/// `value` rounded to `places` decimals, keeping trailing zeros: `60.5` → `60.50`.
pub fn display_fixed(value: Decimal, places: u32, rounding: Rounding) -> String {
    let mut rounded = round(value, places, rounding);
    rounded.rescale(places);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded.to_string()
}

/// `92.2330` → `92.23%`.
pub fn display_percent(points: Decimal, places: u32, rounding: Rounding) -> String {
    format!("{}%", display(points, places, rounding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn half_up_rounds_the_midpoint_away_from_zero() {
        // 173/200 on time = 86.5%; 5% of it = 4.325 points.
        let points = Decimal::from(173) * Decimal::from(100) / Decimal::from(200) * d("0.05");
        assert_eq!(points, d("4.325"));
        assert_eq!(display(points, 2, Rounding::HalfUp), "4.33");
        assert_eq!(display(points, 2, Rounding::HalfEven), "4.32");
        assert_eq!(display(d("-4.325"), 2, Rounding::HalfUp), "-4.33");
    }

    #[test]
    fn scale_is_linear_between_points_and_flat_beyond() {
        let points = [(d("73"), d("12.5")), (d("98"), d("25"))];
        assert_eq!(scale(d("60"), &points), Some(d("12.5")));
        assert_eq!(scale(d("73"), &points), Some(d("12.5")));
        assert_eq!(scale(d("85.5"), &points), Some(d("18.75")));
        assert_eq!(scale(d("98"), &points), Some(d("25")));
        assert_eq!(scale(d("100"), &points), Some(d("25")));
        // Three points, a falling segment.
        let points = [(d("0"), d("0")), (d("10"), d("10")), (d("20"), d("5"))];
        assert_eq!(scale(d("15"), &points), Some(d("7.5")));
        assert_eq!(scale(d("10"), &points), Some(d("10")));
        assert_eq!(scale(d("5"), &[]), None);
    }

    #[test]
    fn trailing_zeros_go() {
        assert_eq!(display(d("100.000"), 2, Rounding::HalfUp), "100");
        assert_eq!(display(d("4.70"), 2, Rounding::HalfUp), "4.7");
        assert_eq!(display(d("-0.001"), 2, Rounding::HalfUp), "0");
        assert_eq!(
            display_percent(d("92.23300970873786"), 2, Rounding::HalfUp),
            "92.23%"
        );
    }
}
