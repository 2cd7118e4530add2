//! The template environment shared by the checker (which checks templates) and the
//! evaluator (which renders them), so both agree on what a template may use.
//!
//! Numbers reach templates as [`Num`] objects holding the exact decimal: they print
//! formatted by the policy's rounding rule (`99.93%`, `4.61`, `1281`), and the functions
//! below compare exact or displayed values, never floats.

use crate::ast::Rounding;
use crate::number;
use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use rust_decimal::Decimal;
use std::fmt;
use std::sync::Arc;

/// Values every template can read besides the policy's definitions.
pub const CONTEXT_NAMES: &[&str] = &[
    "year",
    "month",
    "period",
    "months",
    "first_month",
    "weights",
];

/// How a number is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumKind {
    /// A whole number.
    Count,
    /// Points, a score.
    Number,
    /// Percentage points, shown with `%`.
    Percent,
}

/// An exact number in a template.
#[derive(Debug, Clone)]
pub struct Num {
    /// The exact value.
    pub exact: Decimal,
    /// How it is shown.
    pub kind: NumKind,
    /// Decimals shown.
    pub places: u32,
    /// The policy's rounding rule.
    pub rounding: Rounding,
    /// Trailing zeros kept to `places` (`zeros text`): `60.50%`.
    pub fixed: bool,
}

impl Num {
    /// The value as shown, rounded.
    pub fn shown(&self) -> Decimal {
        match self.kind {
            NumKind::Count => self.exact,
            _ => number::round(self.exact, self.places, self.rounding),
        }
    }

    fn text(&self) -> String {
        let shown = |places| {
            if self.fixed {
                number::display_fixed(self.exact, places, self.rounding)
            } else {
                number::display(self.exact, places, self.rounding)
            }
        };
        match self.kind {
            NumKind::Count => number::display(self.exact, 0, self.rounding),
            NumKind::Number => shown(self.places),
            NumKind::Percent => format!("{}%", shown(self.places)),
        }
    }
}

impl Object for Num {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "exact" => Some(Value::from(self.exact.normalize().to_string())),
            _ => None,
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.exact.is_zero()
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// A value that does not exist (no data, a unit not scored): shown as the policy's mark
/// (`—`), false in `{% if %}`, and not a number to `change()` and the other functions.
#[derive(Debug, Clone)]
pub struct Nothing {
    /// How it is shown.
    pub mark: String,
}

impl Object for Nothing {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn is_true(self: &Arc<Self>) -> bool {
        false
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.mark)
    }
}

/// A value per key (unit, topic), in key order; `m["姚寨镇"]` reads one.
#[derive(Debug, Clone, Default)]
pub struct Keyed {
    /// Keys and values in order.
    pub entries: Vec<(String, Value)>,
    /// The value of a key without one: what the metric gives a key without rows (0
    /// tickets of a topic new this month), or `—` when there is no data.
    pub absent: Value,
}

impl Object for Keyed {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        match self.entries.iter().find(|(k, _)| k == key) {
            Some((_, v)) => Some(v.clone()),
            None if self.absent.is_undefined() => None,
            None => Some(self.absent.clone()),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.entries
                .iter()
                .map(|(k, _)| Value::from(k.as_str()))
                .collect(),
        )
    }
}

/// A template environment: strict about undefined values, with fuel and a recursion limit
/// so that a runaway template fails quickly, and hotline's functions and filters.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(1_000_000));
    env.set_recursion_limit(64);
    env.add_filter("cn", cn);
    env.add_function("full", full);
    env.add_function("not_full", not_full);
    env.add_function("zero", zero);
    env.add_function("lowest", lowest);
    env.add_function("highest", highest);
    env.add_function("grouped", grouped);
    env.add_function("change", change);
    env
}

/// Whether `name` is a global of the environment (a function or value templates may call).
pub fn is_global(env: &Environment<'_>, name: &str) -> bool {
    env.globals().any(|(n, _)| n == name)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn num(value: &Value) -> Option<Num> {
    if let Some(n) = value.downcast_object_ref::<Num>() {
        return Some(n.clone());
    }
    // A count, which templates hold as a plain integer.
    let i = value.as_i64().filter(|_| value.is_integer())?;
    Some(Num {
        exact: Decimal::from(i),
        kind: NumKind::Count,
        places: 0,
        rounding: Rounding::default(),
        fixed: false,
    })
}

/// The keys of a list and their values in `metric`.
fn pairs(list: &Value, metric: &Value) -> Result<Vec<(String, Option<Num>)>, Error> {
    let keyed = metric
        .downcast_object_ref::<Keyed>()
        .ok_or_else(|| invalid("expected a metric with a value per unit or key"))?;
    let mut out = Vec::new();
    for key in list.try_iter()? {
        let name = key
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| key.to_string());
        let value = keyed
            .entries
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| num(v));
        out.push((name, value));
    }
    Ok(out)
}

fn names(items: Vec<String>) -> Value {
    Value::from(items)
}

/// `items | cn`: joined with `、`.
fn cn(items: Value) -> Result<String, Error> {
    let mut parts = Vec::new();
    for item in items.try_iter()? {
        parts.push(item.to_string());
    }
    Ok(parts.join("、"))
}

fn shown_equals(
    list: &Value,
    metric: &Value,
    target: Decimal,
    equal: bool,
) -> Result<Value, Error> {
    let picked = pairs(list, metric)?
        .into_iter()
        .filter(|(_, v)| v.as_ref().is_some_and(|n| (n.shown() == target) == equal))
        .map(|(k, _)| k)
        .collect();
    Ok(names(picked))
}

/// `full(units, 响应率)`: the units whose shown value is 100 (100%, 100 points).
fn full(list: Value, metric: Value) -> Result<Value, Error> {
    shown_equals(&list, &metric, Decimal::ONE_HUNDRED, true)
}

/// `not_full(units, 响应率)`: the units whose shown value is not 100.
fn not_full(list: Value, metric: Value) -> Result<Value, Error> {
    shown_equals(&list, &metric, Decimal::ONE_HUNDRED, false)
}

/// `zero(units, 按时办理率)`: the units whose shown value is 0.
fn zero(list: Value, metric: Value) -> Result<Value, Error> {
    shown_equals(&list, &metric, Decimal::ZERO, true)
}

fn extremes(list: Value, metric: Value, n: usize, lowest: bool) -> Result<Value, Error> {
    let mut all: Vec<(usize, String, Num)> = pairs(&list, &metric)?
        .into_iter()
        .enumerate()
        .filter_map(|(i, (k, v))| v.map(|v| (i, k, v)))
        .collect();
    // Exact values; equal values keep the list's order.
    all.sort_by(|a, b| a.2.exact.cmp(&b.2.exact).then(a.0.cmp(&b.0)));
    let picked: Vec<(usize, String, Num)> = if lowest {
        all.into_iter().take(n).collect()
    } else {
        all.into_iter().rev().take(n).collect()
    };
    let mut picked = picked;
    // Listed from higher to lower.
    picked.sort_by(|a, b| b.2.exact.cmp(&a.2.exact).then(a.0.cmp(&b.0)));
    Ok(names(picked.into_iter().map(|(_, k, _)| k).collect()))
}

/// `lowest(units, 按时办理率, 2)`: the n lowest, listed from higher to lower.
fn lowest(list: Value, metric: Value, n: usize) -> Result<Value, Error> {
    extremes(list, metric, n, true)
}

/// `highest(units, 承办量, 2)`: the n highest, listed from higher to lower.
fn highest(list: Value, metric: Value, n: usize) -> Result<Value, Error> {
    extremes(list, metric, n, false)
}

/// `grouped(units, 件数, min=4)`: "刘集镇 22 件，…，陈集镇、姜楼镇、姚寨镇各 5 件". Units with
/// equal values next to each other in the list share one phrase. `unit` (default `件`) is the
/// measure word; `min` drops smaller values.
fn grouped(list: Value, metric: Value, kwargs: Kwargs) -> Result<String, Error> {
    let unit: Option<String> = kwargs.get("unit")?;
    let unit = unit.unwrap_or_else(|| "件".to_string());
    let min: Option<i64> = kwargs.get("min")?;
    kwargs.assert_all_used()?;
    let mut groups: Vec<(Vec<String>, Num)> = Vec::new();
    for (key, value) in pairs(&list, &metric)? {
        let Some(value) = value else { continue };
        if min.is_some_and(|m| value.exact < Decimal::from(m)) {
            continue;
        }
        match groups.last_mut() {
            Some((keys, v)) if v.exact == value.exact => keys.push(key),
            _ => groups.push((vec![key], value)),
        }
    }
    let phrases: Vec<String> = groups
        .into_iter()
        .map(|(keys, v)| {
            if keys.len() == 1 {
                format!("{} {} {unit}", keys.join("、"), v.text())
            } else {
                format!("{}各 {} {unit}", keys.join("、"), v.text())
            }
        })
        .collect();
    Ok(phrases.join("，"))
}

/// `change(本月, 上月)`: "增加 124 件，增加 57.94%", "减少 306 件，减少 53.31%", or "持平".
/// The name under which the context holds the policy's decimals and rounding, for the
/// numbers functions make from counts (templates hold counts as plain integers).
pub const NUMBER_STYLE: &str = "__hotline_number_style";

/// The policy's decimals and rounding, from the context (see [`NUMBER_STYLE`]).
fn style(state: &minijinja::State<'_, '_>) -> (u32, Rounding, bool) {
    let Some(style) = state.lookup(NUMBER_STYLE) else {
        return (2, Rounding::default(), false);
    };
    let fixed = style.get_attr("fixed").is_ok_and(|v| v.is_true());
    let places = style
        .get_attr("decimals")
        .ok()
        .and_then(|v| v.as_i64())
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(2);
    let rounding = match style
        .get_attr("rounding")
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
    {
        Some(r) if r == "half_even" => Rounding::HalfEven,
        _ => Rounding::HalfUp,
    };
    (places, rounding, fixed)
}

fn change(
    state: &minijinja::State<'_, '_>,
    current: Value,
    previous: Value,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let unit: Option<String> = kwargs.get("unit")?;
    let unit = unit.unwrap_or_else(|| "件".to_string());
    // `since="较上月"`: the phrase says what it compares with, and can say that there
    // is nothing to compare with (上月无数据) or that the thing is new (较上月新增 12 件).
    let since: Option<String> = kwargs.get("since")?;
    let missing: Option<String> = kwargs.get("missing")?;
    kwargs.assert_all_used()?;
    let Some(now) = num(&current) else {
        return Err(invalid("change() takes two numbers"));
    };
    let Some(before) = num(&previous) else {
        return match (since, missing) {
            (_, Some(missing)) => Ok(missing),
            (Some(since), None) => Ok(format!("{}无数据", since.trim_start_matches('较'))),
            (None, None) => Err(invalid(
                "change(): there is no previous value to compare with (no data); write change(本月, 上月, since=\"较上月\") to say so",
            )),
        };
    };
    let since = since.unwrap_or_default();
    let delta = now.exact - before.exact;
    if delta.is_zero() {
        return Ok(format!("{since}持平"));
    }
    if !since.is_empty() && before.exact.is_zero() && delta > Decimal::ZERO {
        let amount = Num {
            exact: delta,
            ..now.clone()
        };
        return Ok(format!("{since}新增 {} {unit}", amount.text()));
    }
    let word = if delta > Decimal::ZERO {
        "增加"
    } else {
        "减少"
    };
    let amount = Num {
        exact: delta.abs(),
        ..now.clone()
    };
    if before.exact.is_zero() {
        return Ok(format!("{since}{word} {} {unit}", amount.text()));
    }
    let (places, rounding, fixed) = style(state);
    let pct = Num {
        exact: (delta.abs() * Decimal::ONE_HUNDRED)
            .checked_div(before.exact)
            .ok_or_else(|| invalid("change() overflowed"))?,
        kind: NumKind::Percent,
        places,
        rounding,
        fixed,
    };
    Ok(format!(
        "{since}{word} {} {unit}，{word} {}",
        amount.text(),
        pct.text()
    ))
}
