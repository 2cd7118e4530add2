//! Runtime values and keys.

use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::sync::Arc;

/// A value during evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// No value (an empty cell, an empty aggregate).
    Empty,
    /// A whole number.
    Int(i64),
    /// An exact decimal (numbers and percentage points alike; the type says which).
    Num(Decimal),
    /// A truth value.
    Bool(bool),
    /// Text.
    Text(Arc<str>),
    /// Seconds since 1970 (local time).
    DateTime(i64),
    /// Seconds.
    Duration(i64),
    /// Days since 1970-01-01.
    Date(i64),
    /// A label's index in its field's declaration.
    Label(u32),
    /// A unit's index in the registry.
    Unit(u32),
    /// A group's index.
    Group(usize),
    /// A band's name.
    Band(Arc<str>),
    /// Values as text, most frequent first.
    List(Arc<[Arc<str>]>),
}

impl Value {
    /// The value as a decimal, for numbers.
    pub fn decimal(&self) -> Option<Decimal> {
        match self {
            Value::Int(i) => Some(Decimal::from(*i)),
            Value::Num(d) => Some(*d),
            _ => None,
        }
    }

    /// Whether this is empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Value::Empty)
    }

    /// Total order for sorting: empty values last, then by kind and value.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Empty, Value::Empty) => Ordering::Equal,
            (Value::Empty, _) => Ordering::Greater,
            (_, Value::Empty) => Ordering::Less,
            _ => {
                if let (Some(a), Some(b)) = (self.decimal(), other.decimal()) {
                    return a.cmp(&b);
                }
                match (self, other) {
                    (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
                    (Value::Text(a), Value::Text(b)) => a.cmp(b),
                    (Value::DateTime(a), Value::DateTime(b))
                    | (Value::Duration(a), Value::Duration(b))
                    | (Value::Date(a), Value::Date(b)) => a.cmp(b),
                    // A date-time against a date: its day against the date.
                    (Value::DateTime(a), Value::Date(b)) => a.div_euclid(86_400).cmp(b),
                    (Value::Date(a), Value::DateTime(b)) => a.cmp(&b.div_euclid(86_400)),
                    (Value::Label(a), Value::Label(b)) | (Value::Unit(a), Value::Unit(b)) => {
                        a.cmp(b)
                    }
                    (Value::Group(a), Value::Group(b)) => a.cmp(b),
                    (Value::Band(a), Value::Band(b)) => a.cmp(b),
                    _ => Ordering::Equal,
                }
            }
        }
    }
}

/// A key of a keyed value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A unit's index.
    Unit(u32),
    /// A field value (a topic, a category).
    Text(Arc<str>),
}
