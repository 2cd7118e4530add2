//! Exact rationals for the independent computations of the tests (`tests/city/exact.rs`,
//! `tests/dong_e_annual/exact.rs`): parsing decimal text, rounding half up, showing a value
//! as hotline's tables do. No hotline code, no floating point.

#![allow(dead_code)]

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

pub type Q = BigRational;

pub fn int(n: i64) -> Q {
    Q::from_integer(BigInt::from(n))
}

pub fn frac(n: i64, d: i64) -> Q {
    Q::new(BigInt::from(n), BigInt::from(d))
}

/// A decimal text (`-12.345`) as a rational.
pub fn parse_decimal(s: &str) -> Q {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(
        !whole.is_empty()
            && whole
                .chars()
                .chain(fraction.chars())
                .all(|c| c.is_ascii_digit()),
        "not a decimal: {s:?}"
    );
    let n: BigInt = format!("{whole}{fraction}").parse().unwrap();
    let v = Q::new(n, BigInt::from(10u32).pow(fraction.len() as u32));
    if neg {
        -v
    } else {
        v
    }
}

/// `x` rounded to `decimals` places, halves away from zero (四舍五入).
pub fn round_half_up(x: &Q, decimals: u32) -> Q {
    let scale = Q::from_integer(BigInt::from(10u32).pow(decimals));
    let half = frac(1, 2);
    let scaled = x.abs() * &scale + half;
    let r = scaled.floor() / scale;
    if x.is_negative() {
        -r
    } else {
        r
    }
}

/// How a number is shown: two decimals half up, then without trailing zeros (`92.2`, `100`).
pub fn shown(x: &Q) -> String {
    let r = round_half_up(x, 2);
    let cents = (r.clone() * int(100)).to_integer();
    let neg = cents < BigInt::zero();
    let cents = if neg { -cents } else { cents };
    let whole = &cents / BigInt::from(100);
    let rest: BigInt = &cents % BigInt::from(100);
    let rest = rest.to_string();
    let mut text = format!("{}{whole}.{:0>2}", if neg { "-" } else { "" }, rest);
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    text
}

/// Whether `x` is a finite decimal (its denominator has no prime factor but 2 and 5).
pub fn terminates(x: &Q) -> bool {
    let mut d = x.denom().clone();
    for p in [2u32, 5] {
        let p = BigInt::from(p);
        while (&d % &p).is_zero() {
            d /= &p;
        }
    }
    d.is_one()
}
