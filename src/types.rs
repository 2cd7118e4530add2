//! The types the checker gives expressions.

use std::fmt;

/// What kind of value an expression has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// Whole numbers (counts).
    Int,
    /// Exact decimals (points, scores).
    Number,
    /// Percentage points (rates).
    Percent,
    /// Truth values.
    Bool,
    /// Free text.
    Text,
    /// A date and time.
    DateTime,
    /// A day (`2024-03-31`, `month_end`).
    Date,
    /// A length of time.
    Duration,
    /// One of a field's declared labels.
    Enum(Vec<String>),
    /// A unit of the registry.
    Unit,
    /// A unit group's name.
    Group,
    /// The name of one band of a `bands` declaration.
    Band(String),
    /// The most frequent values of a field, most frequent first (`top(涉及对象, 2)`).
    List,
    /// The type of an expression that already had an error.
    Error,
}

/// Over what an expression takes its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One value per row of a source.
    Row,
    /// A single value.
    Scalar,
    /// One value per key: per unit, or per value of a grouping field.
    Keyed(Domain),
}

/// The keys of a keyed value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    /// Every unit of the registry.
    Unit,
    /// The values of a field of this name (a topic, a category).
    Field(String),
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Unit => f.write_str("unit"),
            Domain::Field(name) => write!(f, "`{name}`"),
        }
    }
}

/// A checked type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ty {
    /// The kind of value.
    pub base: Base,
    /// Whether the value can be empty.
    pub nullable: bool,
    /// Over what it takes values.
    pub shape: Shape,
}

impl Ty {
    /// A type of the given kind and shape, never empty.
    pub fn new(base: Base, shape: Shape) -> Self {
        Ty {
            base,
            nullable: false,
            shape,
        }
    }

    /// The error type: it fits everywhere, so one mistake gives one message.
    pub fn error() -> Self {
        Ty::new(Base::Error, Shape::Scalar)
    }

    /// The same type, possibly empty.
    pub fn nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }

    /// Whether this is the error type.
    pub fn is_error(&self) -> bool {
        self.base == Base::Error
    }

    /// Whether values are numbers of some kind.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self.base,
            Base::Int | Base::Number | Base::Percent | Base::Error
        )
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base::Int => f.write_str("a count"),
            Base::Number => f.write_str("a number"),
            Base::Percent => f.write_str("a percentage"),
            Base::Bool => f.write_str("a yes/no value"),
            Base::Text => f.write_str("text"),
            Base::DateTime => f.write_str("a date-time"),
            Base::Date => f.write_str("a date"),
            Base::Duration => f.write_str("a duration"),
            Base::Enum(labels) => write!(f, "a label ({})", labels.join(", ")),
            Base::Unit => f.write_str("a unit"),
            Base::Group => f.write_str("a unit group"),
            Base::Band(name) => write!(f, "a band of `{name}`"),
            Base::List => f.write_str("a list of values"),
            Base::Error => f.write_str("an invalid value"),
        }
    }
}
