//! Turning raw cells into typed column values.

use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

use chrono::format::{Item, ParseErrorKind, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::error::{backticked, closest, CellError, MAX_KEPT_CELL_ERRORS};
use super::{ColumnData, ColumnSpec, ColumnType, UnitResolver};

/// The fast-path date-time format.
pub(crate) const ISO_SECONDS: &str = "%Y-%m-%d %H:%M:%S";

/// How long an offending value may be in an error message.
const MAX_SHOWN_CHARS: usize = 80;

/// A cell as read from a file, before typing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// No value (missing JSON key, JSON null, empty spreadsheet cell).
    Empty,
    /// Text from the file, untrimmed.
    Text(&'a str),
    /// A number stored as a number (spreadsheet, JSON), as its canonical
    /// decimal text. `percent_style`: a spreadsheet cell formatted as a
    /// percentage, whose stored value is a fraction (87.5% is 0.875).
    Number {
        text: &'a str,
        percent_style: bool,
    },
    Bool(bool),
    DateTime(NaiveDateTime),
    /// A value that is never usable: a spreadsheet error such as `#DIV/0!`,
    /// or a JSON list or object. `what` describes it for the help text.
    Invalid {
        shown: &'a str,
        what: &'static str,
    },
}

impl Raw<'_> {
    fn is_blank(&self) -> bool {
        match self {
            Raw::Empty => true,
            Raw::Text(s) => s.is_empty() || trimmed(s).is_empty(),
            _ => false,
        }
    }

    /// The value as shown in error messages.
    fn shown(&self) -> String {
        let s = match self {
            Raw::Empty => String::new(),
            Raw::Text(s) => s.trim().to_string(),
            Raw::Number { text, .. } => text.to_string(),
            Raw::Bool(b) => b.to_string(),
            Raw::DateTime(dt) => format_datetime(dt),
            Raw::Invalid { shown, .. } => shown.to_string(),
        };
        shorten(&s)
    }
}

fn shorten(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX_SHOWN_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

fn format_datetime(dt: &NaiveDateTime) -> String {
    let mut s = String::new();
    let fmt = if dt.time() == chrono::NaiveTime::MIN {
        "%Y-%m-%d"
    } else {
        ISO_SECONDS
    };
    // Writing into a String only fails for a bad format, and these are fixed.
    let _ = write!(s, "{}", dt.format(fmt));
    s
}

/// `s` without leading and trailing whitespace; cells rarely have any, so
/// the bytes at both ends are looked at before anything else.
pub(crate) fn trimmed(s: &str) -> &str {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return s;
    };
    // Whitespace is ASCII tab to carriage return and space, or one of U+0085,
    // U+00A0 (lead byte C2), U+1680, U+2000–U+205F, U+3000 (lead bytes E1–E3).
    let may_start_with_space = first <= b' ' || matches!(first, 0xC2 | 0xE1..=0xE3);
    let may_end_with_space = if last < 0x80 {
        last <= b' '
    } else {
        // The last character's lead byte is one of these when it is 2 or 3 bytes
        // long; anything else that matches only costs the full check.
        let back = |n: usize| bytes.len().checked_sub(n).and_then(|i| bytes.get(i));
        back(2) == Some(&0xC2) || back(3).is_some_and(|b| matches!(b, 0xE1..=0xE3))
    };
    if may_start_with_space || may_end_with_space {
        s.trim()
    } else {
        s
    }
}

/// Why a cell was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// Empty cell in a column that is not nullable.
    Empty,
    /// The value does not parse as the column's type.
    Invalid,
    /// A number where a date-time is required.
    NumberForDateTime,
    /// A value of a kind the column can never hold (`what`).
    Unusable(&'static str),
}

/// Collects bad cells: all are counted, the first few are kept.
#[derive(Debug, Default)]
pub(crate) struct CellErrors {
    pub kept: Vec<CellError>,
    pub total: usize,
}

impl CellErrors {
    /// Adds the errors of a later part of the same file.
    pub fn absorb(&mut self, later: CellErrors) {
        self.total += later.total;
        let room = MAX_KEPT_CELL_ERRORS.saturating_sub(self.kept.len());
        self.kept.extend(later.kept.into_iter().take(room));
    }
}

/// Precomputed per-column parsing state.
enum Parser<'s> {
    /// Equal texts share one allocation.
    Text(Texts),
    Integer,
    Decimal,
    Percent,
    /// The true spellings, then the false ones.
    Bool(FewTexts<'s, bool>),
    DateTime {
        format: &'s str,
        fast: bool,
        last: LastDate,
    },
    /// The labels, first declaration first; few, so looked up in order.
    Enum(FewTexts<'s, u32>),
    /// Names already resolved (only names the policy knows, so a bounded set).
    Unit(foldhash::HashMap<Box<str>, u32>),
}

/// Builds one typed column.
pub(crate) struct Column<'s> {
    spec: &'s ColumnSpec,
    /// 1-based position of the column in the file, for messages.
    file_column: u64,
    /// Spreadsheet source: messages name cells like `C12`.
    spreadsheet: bool,
    parser: Parser<'s>,
    /// Whether values are kept; a column nothing reads is only checked.
    keep: bool,
    pub data: ColumnData,
}

impl<'s> Column<'s> {
    pub fn new(spec: &'s ColumnSpec, file_column: u64, spreadsheet: bool) -> Self {
        let (parser, data) = match &spec.ty {
            ColumnType::Text => (
                Parser::Text(Default::default()),
                ColumnData::Text(Vec::new()),
            ),
            ColumnType::Integer => (Parser::Integer, ColumnData::Integer(Vec::new())),
            ColumnType::Decimal => (Parser::Decimal, ColumnData::Decimal(Vec::new())),
            ColumnType::Percent => (Parser::Percent, ColumnData::Decimal(Vec::new())),
            ColumnType::Bool {
                true_spellings,
                false_spellings,
            } => {
                let spellings = true_spellings
                    .iter()
                    .map(|t| (t.trim(), true))
                    .chain(false_spellings.iter().map(|f| (f.trim(), false)));
                (
                    Parser::Bool(FewTexts::new(spellings)),
                    ColumnData::Bool(Vec::new()),
                )
            }
            ColumnType::DateTime { format } => (
                Parser::DateTime {
                    format,
                    fast: format == ISO_SECONDS,
                    last: None,
                },
                ColumnData::DateTime(Vec::new()),
            ),
            ColumnType::Enum { labels } => {
                let labels = labels.iter().enumerate().map(|(i, l)| (l.trim(), i as u32));
                (
                    Parser::Enum(FewTexts::new(labels)),
                    ColumnData::Enum(Vec::new()),
                )
            }
            ColumnType::Unit => (
                Parser::Unit(foldhash::HashMap::default()),
                ColumnData::Unit(Vec::new()),
            ),
        };
        Column {
            spec,
            file_column,
            spreadsheet,
            parser,
            keep: true,
            data,
        }
    }

    /// Keeps the values (the default), or only checks them.
    pub fn keeping(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// Whether the only thing asked of a cell is that it is not blank (or
    /// nothing, when nullable): a text column whose values are not kept.
    pub fn checks_only_blanks(&self) -> bool {
        matches!(self.parser, Parser::Text(_)) && !self.keep
    }

    pub fn reserve(&mut self, n: usize) {
        if !self.keep {
            return;
        }
        match &mut self.data {
            ColumnData::Text(v) => v.reserve(n),
            ColumnData::Integer(v) | ColumnData::DateTime(v) => v.reserve(n),
            ColumnData::Decimal(v) => v.reserve(n),
            ColumnData::Bool(v) => v.reserve(n),
            ColumnData::Enum(v) | ColumnData::Unit(v) => v.reserve(n),
        }
    }

    /// Types `raw` and appends it; a bad value is recorded in `errors` and
    /// appended as `None` so that all columns keep the same length.
    pub fn push(
        &mut self,
        raw: Raw<'_>,
        line: u64,
        units: &dyn UnitResolver,
        errors: &mut CellErrors,
    ) {
        // Trimmed once here: the parsers below take the text as it is.
        let raw = match raw {
            Raw::Text(s) => Raw::Text(trimmed(s)),
            other => other,
        };
        let blank = match raw {
            Raw::Text(s) => s.is_empty(),
            ref other => other.is_blank(),
        };
        let outcome = if blank {
            if self.spec.nullable {
                self.data.push_none();
                Ok(())
            } else {
                Err(Problem::Empty)
            }
        } else {
            self.push_value(raw, units)
        };
        if !self.keep {
            self.data.clear();
        }
        if let Err(problem) = outcome {
            if self.keep {
                self.data.push_none();
            }
            errors.total += 1;
            if errors.kept.len() < MAX_KEPT_CELL_ERRORS {
                errors.kept.push(self.cell_error(problem, raw, line, units));
            }
        }
    }

    /// Types a cell read as text (CSV) and appends it: [`Column::push`], with
    /// the common case (a good value, a blank of a nullable column) typed
    /// without going through the cell's kind.
    pub fn push_text(
        &mut self,
        text: &str,
        line: u64,
        units: &dyn UnitResolver,
        errors: &mut CellErrors,
    ) {
        self.push_texts(&mut std::iter::once((text, line)), units, errors);
    }

    /// [`Column::push`] for each of `cells` (text and line), in order: a
    /// block's column at once. The column's kind is matched once per run of
    /// good values rather than once per cell; a cell that is not one (blank
    /// where a value is required, bad, a unit's first sighting) goes through
    /// [`Column::push`] itself, and the run goes on after it.
    pub fn push_texts<'a>(
        &mut self,
        cells: &mut impl Iterator<Item = (&'a str, u64)>,
        units: &dyn UnitResolver,
        errors: &mut CellErrors,
    ) {
        while let Some((text, line)) = self.push_good_run(cells) {
            self.push(Raw::Text(text), line, units, errors);
        }
    }

    /// Appends `cells` while they are good values or blanks of a nullable
    /// column, as [`Column::push`] would; gives back the first that is not.
    fn push_good_run<'a>(
        &mut self,
        cells: &mut impl Iterator<Item = (&'a str, u64)>,
    ) -> Option<(&'a str, u64)> {
        let (keep, nullable) = (self.keep, self.spec.nullable);
        match (&mut self.parser, &mut self.data) {
            (Parser::Text(_), _) if !keep => {
                cells.find(|&(text, _)| !nullable && trimmed(text).is_empty())
            }
            (Parser::Text(seen), ColumnData::Text(v)) => {
                // Text is kept trimmed: never taken as it stands.
                good_run(cells, v, true, nullable, |s, as_is| {
                    (!as_is).then(|| seen.intern(s))
                })
            }
            (Parser::Integer, ColumnData::Integer(v)) => {
                good_run(cells, v, keep, nullable, |s, _| parse_integer(s))
            }
            (Parser::Decimal, ColumnData::Decimal(v)) => {
                good_run(cells, v, keep, nullable, |s, _| parse_decimal(s, false))
            }
            (Parser::Percent, ColumnData::Decimal(v)) => {
                good_run(cells, v, keep, nullable, |s, _| parse_percent(s))
            }
            (Parser::Bool(spellings), ColumnData::Bool(v)) => {
                good_run(cells, v, keep, nullable, |s, _| spellings.get(s))
            }
            (Parser::DateTime { format, fast, last }, ColumnData::DateTime(v)) => {
                good_run(cells, v, keep, nullable, |s, as_is| {
                    if as_is {
                        // Only the exact `YYYY-MM-DD HH:MM:SS`, which has no
                        // spaces at its ends (chrono might skip some).
                        fast.then(|| parse_iso_seconds_after(s.as_bytes(), last))?
                    } else {
                        parse_datetime_after(s, format, *fast, last)
                    }
                })
            }
            (Parser::Enum(labels), ColumnData::Enum(v)) => {
                good_run(cells, v, keep, nullable, |s, _| labels.get(s))
            }
            (Parser::Unit(resolved), ColumnData::Unit(v)) => {
                good_run(cells, v, keep, nullable, |s, _| resolved.get(s).copied())
            }
            // Not built (a parser always comes with its kind of data).
            _ => cells.next(),
        }
    }

    /// Types a value that is not blank; text comes trimmed (by `push`).
    fn push_value(&mut self, raw: Raw<'_>, units: &dyn UnitResolver) -> Result<(), Problem> {
        if let Raw::Invalid { what, .. } = raw {
            return Err(Problem::Unusable(what));
        }
        match (&mut self.parser, &mut self.data) {
            (Parser::Text(_), ColumnData::Text(_)) if !self.keep => {}
            (Parser::Text(seen), ColumnData::Text(v)) => {
                let text: Arc<str> = match raw {
                    Raw::Text(s) => seen.intern(s),
                    Raw::Number {
                        text,
                        percent_style,
                    } => {
                        match parse_decimal(text, true)
                            .filter(|_| percent_style)
                            .and_then(|d| d.checked_mul(Decimal::ONE_HUNDRED))
                        {
                            Some(points) => format!("{}%", points.normalize()).into(),
                            None => text.into(),
                        }
                    }
                    Raw::Bool(b) => if b { "true" } else { "false" }.into(),
                    Raw::DateTime(dt) => format_datetime(&dt).into(),
                    Raw::Empty | Raw::Invalid { .. } => return Err(Problem::Invalid),
                };
                v.push(Some(text));
            }
            (Parser::Integer, ColumnData::Integer(v)) => {
                let s = match raw {
                    Raw::Text(s) => s,
                    Raw::Number { text, .. } => text,
                    _ => return Err(Problem::Invalid),
                };
                v.push(Some(parse_integer(s).ok_or(Problem::Invalid)?));
            }
            (Parser::Decimal, ColumnData::Decimal(v)) => {
                let d = match raw {
                    Raw::Text(s) => parse_decimal(s, false),
                    Raw::Number { text, .. } => parse_decimal(text, true),
                    _ => None,
                };
                v.push(Some(d.ok_or(Problem::Invalid)?));
            }
            (Parser::Percent, ColumnData::Decimal(v)) => {
                let d = match raw {
                    Raw::Text(s) => parse_percent(s),
                    Raw::Number {
                        text,
                        percent_style,
                    } => parse_decimal(text, true).and_then(|d| {
                        if percent_style {
                            d.checked_mul(Decimal::ONE_HUNDRED).map(|d| d.normalize())
                        } else {
                            Some(d)
                        }
                    }),
                    _ => None,
                };
                v.push(Some(d.ok_or(Problem::Invalid)?));
            }
            (Parser::Bool(spellings), ColumnData::Bool(v)) => {
                let b = match raw {
                    Raw::Bool(b) => Some(b),
                    Raw::Text(s) => spellings.get(s),
                    Raw::Number { text, .. } => spellings.get(text),
                    _ => None,
                };
                v.push(Some(b.ok_or(Problem::Invalid)?));
            }
            (Parser::DateTime { format, fast, last }, ColumnData::DateTime(v)) => {
                let secs = match raw {
                    Raw::DateTime(dt) => Some(dt.and_utc().timestamp()),
                    Raw::Text(s) => parse_datetime_after(s, format, *fast, last),
                    Raw::Number { .. } => return Err(Problem::NumberForDateTime),
                    _ => None,
                };
                v.push(Some(secs.ok_or(Problem::Invalid)?));
            }
            (Parser::Enum(labels), ColumnData::Enum(v)) => {
                let key = match raw {
                    Raw::Text(s) => s,
                    Raw::Number { text, .. } => text,
                    _ => return Err(Problem::Invalid),
                };
                v.push(Some(labels.get(key).ok_or(Problem::Invalid)?));
            }
            (Parser::Unit(resolved), ColumnData::Unit(v)) => {
                let name = match raw {
                    Raw::Text(s) => s,
                    Raw::Number { text, .. } => text,
                    _ => return Err(Problem::Invalid),
                };
                let unit = match resolved.get(name) {
                    Some(&unit) => unit,
                    None => {
                        let unit = units.resolve(name).ok_or(Problem::Invalid)?;
                        resolved.insert(name.into(), unit);
                        unit
                    }
                };
                v.push(Some(unit));
            }
            // `new` pairs every parser with its data variant.
            _ => return Err(Problem::Invalid),
        }
        Ok(())
    }

    fn cell_error(
        &self,
        problem: Problem,
        raw: Raw<'_>,
        line: u64,
        units: &dyn UnitResolver,
    ) -> CellError {
        let value = raw.shown();
        let expected = match problem {
            Problem::Empty => "a value (the column is not nullable)".to_string(),
            _ => expected_for(&self.spec.ty),
        };
        let help = match problem {
            Problem::Empty => None,
            Problem::Unusable(what) => Some(format!("the cell holds {what}")),
            Problem::NumberForDateTime => Some(
                "the cell holds a plain number; format it as a date in the spreadsheet, or write the date-time as text"
                    .to_string(),
            ),
            Problem::Invalid => match &self.spec.ty {
                ColumnType::Unit => {
                    let names = units.names();
                    closest(&value, names.iter().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`? if `{value}` is another name of a unit, declare it as an alias"))
                }
                ColumnType::Enum { labels } => closest(&value, labels.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?")),
                ColumnType::Integer if parse_decimal(&value, true).is_some() => {
                    Some("the column is declared as whole numbers".to_string())
                }
                _ => None,
            },
        };
        let cell = self
            .spreadsheet
            .then(|| format!("{}{}", column_letters(self.file_column), line));
        CellError {
            line,
            column: self.file_column,
            header: self.spec.header.clone(),
            value,
            expected,
            cell,
            help,
        }
    }
}

impl ColumnData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Text(v) => v.len(),
            ColumnData::Integer(v) | ColumnData::DateTime(v) => v.len(),
            ColumnData::Decimal(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Enum(v) | ColumnData::Unit(v) => v.len(),
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every value.
    pub(crate) fn clear(&mut self) {
        match self {
            ColumnData::Text(v) => v.clear(),
            ColumnData::Integer(v) | ColumnData::DateTime(v) => v.clear(),
            ColumnData::Decimal(v) => v.clear(),
            ColumnData::Bool(v) => v.clear(),
            ColumnData::Enum(v) | ColumnData::Unit(v) => v.clear(),
        }
    }

    /// Appends the values of a column of the same type.
    pub(crate) fn append(&mut self, other: ColumnData) {
        match (self, other) {
            (ColumnData::Text(a), ColumnData::Text(b)) => a.extend(b),
            (ColumnData::Integer(a), ColumnData::Integer(b))
            | (ColumnData::DateTime(a), ColumnData::DateTime(b)) => a.extend(b),
            (ColumnData::Decimal(a), ColumnData::Decimal(b)) => a.extend(b),
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.extend(b),
            (ColumnData::Enum(a), ColumnData::Enum(b))
            | (ColumnData::Unit(a), ColumnData::Unit(b)) => a.extend(b),
            _ => {}
        }
    }

    fn push_none(&mut self) {
        match self {
            ColumnData::Text(v) => v.push(None),
            ColumnData::Integer(v) | ColumnData::DateTime(v) => v.push(None),
            ColumnData::Decimal(v) => v.push(None),
            ColumnData::Bool(v) => v.push(None),
            ColumnData::Enum(v) | ColumnData::Unit(v) => v.push(None),
        }
    }
}

/// The texts a column has seen, each held once. Texts of up to 16 bytes (most
/// categories: up to five Chinese characters) are found by their fingerprint,
/// three integers that tell them apart exactly, so their bytes are neither
/// hashed nor compared; longer ones by their text.
#[derive(Default)]
pub(crate) struct Texts {
    short: foldhash::HashMap<Fingerprint, Arc<str>>,
    long: foldhash::HashSet<Arc<str>>,
}

impl Texts {
    /// The shared copy of `s` (added when new).
    fn intern(&mut self, s: &str) -> Arc<str> {
        if s.len() <= 16 {
            return self
                .short
                .entry(fingerprint(s.as_bytes()))
                .or_insert_with(|| Arc::from(s))
                .clone();
        }
        match self.long.get(s) {
            Some(shared) => shared.clone(),
            None => {
                let shared: Arc<str> = Arc::from(s);
                self.long.insert(shared.clone());
                shared
            }
        }
    }
}

/// A few short texts (an enum's labels, a bool's spellings), each with a value,
/// looked up in order, the first of equal texts winning. A text is compared by
/// its length and its first and last eight bytes held in integers, which tell
/// texts of up to 16 bytes apart exactly; longer texts that agree on those are
/// compared in full. A label is 2 to 5 Chinese characters (6 to 15 bytes), so a
/// lookup makes no call to `memcmp`, where comparing strings made one per label.
#[derive(Debug)]
pub(crate) struct FewTexts<'s, T> {
    entries: Vec<(Fingerprint, &'s str, T)>,
}

/// A text's length and its first and last eight bytes (fewer when shorter).
type Fingerprint = (usize, u64, u64);

impl<'s, T: Copy> FewTexts<'s, T> {
    /// The texts and their values, in lookup order.
    pub fn new(entries: impl IntoIterator<Item = (&'s str, T)>) -> Self {
        FewTexts {
            entries: entries
                .into_iter()
                .map(|(text, value)| (fingerprint(text.as_bytes()), text, value))
                .collect(),
        }
    }

    /// The value of the first text equal to `s`.
    #[inline]
    pub fn get(&self, s: &str) -> Option<T> {
        let wanted = fingerprint(s.as_bytes());
        self.entries
            .iter()
            .find(|(print, text, _)| *print == wanted && (s.len() <= 16 || *text == s))
            .map(|(_, _, value)| *value)
    }
}

/// The length and the first and last eight bytes of `s`; for texts of up to
/// 16 bytes, equal fingerprints mean equal texts.
#[inline]
fn fingerprint(s: &[u8]) -> Fingerprint {
    let len = s.len();
    if let (Some(first), Some(last)) = (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        return (len, u64::from_le_bytes(*first), u64::from_le_bytes(*last));
    }
    // Shorter than 8 bytes: two overlapping 4-byte loads cover 4 to 7 bytes,
    // and the first, middle and last bytes cover 1 to 3; with the length, each
    // text has its own fingerprint.
    let word = match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first)) | u64::from(u32::from_le_bytes(*last)) << 32
        }
        _ => {
            let at = |i: usize| u64::from(s.get(i).copied().unwrap_or(0));
            at(0) | at(len / 2) << 8 | at(len.wrapping_sub(1)) << 16
        }
    };
    (len, word, 0)
}

/// Appends the values of `cells` that `parse` takes (trimmed, not blank), and
/// `None` for blanks when `nullable`, until a cell is neither: that one is given
/// back. Nothing is appended unless `keep`.
///
/// `parse(text, as_is)` is first asked with the cell as it stands (`as_is`),
/// which saves looking for spaces at its ends: it must then give a value only
/// when the trimmed text would give the same one (labels, names and numbers
/// never start or end with a space, so a text that does matches none), or
/// `None`, and the cell is trimmed and asked again. An empty cell is not
/// asked as it stands.
#[inline(always)]
fn good_run<'a, T>(
    cells: &mut impl Iterator<Item = (&'a str, u64)>,
    column: &mut Vec<Option<T>>,
    keep: bool,
    nullable: bool,
    mut parse: impl FnMut(&str, bool) -> Option<T>,
) -> Option<(&'a str, u64)> {
    for (text, line) in cells {
        // Empty is blank, whatever `parse` would make of it.
        if !text.is_empty() {
            if let Some(v) = parse(text, true) {
                if keep {
                    column.push(Some(v));
                }
                continue;
            }
        }
        let value = trimmed(text);
        if value.is_empty() {
            if !nullable {
                return Some((text, line));
            }
            if keep {
                column.push(None);
            }
            continue;
        }
        match parse(value, false) {
            Some(v) => {
                if keep {
                    column.push(Some(v));
                }
            }
            None => return Some((text, line)),
        }
    }
    None
}

/// What a column of type `ty` expects, for messages.
pub(crate) fn expected_for(ty: &ColumnType) -> String {
    match ty {
        ColumnType::Text => "text".to_string(),
        ColumnType::Integer => "a whole number like `12`".to_string(),
        ColumnType::Decimal => "a decimal number like `87.5`".to_string(),
        ColumnType::Percent => "a percentage like `87.5` or `87.5%`".to_string(),
        ColumnType::Bool {
            true_spellings,
            false_spellings,
        } => {
            let mut all: Vec<&str> = true_spellings.iter().map(String::as_str).collect();
            all.extend(false_spellings.iter().map(String::as_str));
            format!("one of {}", backticked(&all, 12))
        }
        ColumnType::DateTime { format } => {
            let mut out = format!("a date-time of the form `{format}`");
            if let Some(example) = datetime_example(format) {
                out.push_str(&format!(" like `{example}`"));
            }
            out
        }
        ColumnType::Enum { labels } => format!("one of {}", backticked(labels, 12)),
        ColumnType::Unit => "a unit of the policy".to_string(),
    }
}

/// `2023-03-01 08:00:00` written in `format`, if the format is valid.
fn datetime_example(format: &str) -> Option<String> {
    validate_datetime_format(format).ok()?;
    let dt = NaiveDate::from_ymd_opt(2023, 3, 1)?.and_hms_opt(8, 0, 0)?;
    let mut s = String::new();
    write!(s, "{}", dt.format(format)).ok()?;
    Some(s)
}

/// Checks a strftime format as accepted by date-time columns; the error
/// names the offending part.
pub fn validate_datetime_format(format: &str) -> Result<(), String> {
    if format.trim().is_empty() {
        return Err("the date-time format is empty".to_string());
    }
    for item in StrftimeItems::new(format) {
        if let Item::Error = item {
            return Err(format!(
                "`{format}` is not a valid date-time format (see the `%Y-%m-%d %H:%M:%S` style)"
            ));
        }
    }
    Ok(())
}

/// Excel-style column letters for a 1-based column number (1 = `A`).
pub(crate) fn column_letters(mut col: u64) -> String {
    let mut out = Vec::new();
    while col > 0 {
        let rem = ((col - 1) % 26) as u8;
        out.push(b'A' + rem);
        col = (col - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A whole number: optional sign and ASCII digits.
pub(crate) fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    i64::from_str(s).ok()
}

/// A plain decimal: optional sign, digits, optional fraction. With
/// `allow_exponent` (numbers stored as numbers), `1e-7` is accepted too.
pub(crate) fn parse_decimal(s: &str, allow_exponent: bool) -> Option<Decimal> {
    // Whole numbers of up to 18 digits (most scores) need no general parsing:
    // the same value and scale (0) as `Decimal::from_str_exact` gives.
    if (1..=18).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        let n = s.bytes().fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
        return Some(Decimal::from(n));
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, has_exp) = match body.find(['e', 'E']) {
        Some(i) if allow_exponent => {
            let exp = &body[i + 1..];
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if exp.is_empty() || !exp.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (&body[..i], true)
        }
        Some(_) => return None,
        None => (body, false),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let d = if has_exp {
        Decimal::from_scientific(s).ok()?
    } else {
        // Decimal does not accept a leading `+`.
        Decimal::from_str_exact(s.strip_prefix('+').unwrap_or(s)).ok()?
    };
    Some(d)
}

/// A percentage in points: `87.5` or `87.5%` (also the full-width `％`), with
/// spaces allowed before the sign only. A cell comes trimmed ([`good_run`]
/// asks again trimmed when the text as it stands gives nothing).
pub(crate) fn parse_percent(s: &str) -> Option<Decimal> {
    let s = s
        .strip_suffix('%')
        .or_else(|| s.strip_suffix('％'))
        .map(str::trim_end)
        .unwrap_or(s);
    parse_decimal(s, false)
}

/// Seconds since 1970-01-01T00:00:00 of `s` read with `format`.
#[cfg(test)]
fn parse_datetime(s: &str, format: &str, fast: bool) -> Option<i64> {
    parse_datetime_after(s, format, fast, &mut None)
}

/// The last month a column read in the fast format (`YYYY-MM-`, the first
/// eight bytes), with the day number of the day before its first and its
/// number of days: rows come in time order, so most cells share their month
/// with the cell before.
pub(crate) type LastDate = Option<(u64, i64, i64)>;

/// Seconds since 1970-01-01T00:00:00 of `s` read with `format` (`YYYY-MM-DD
/// HH:MM:SS` by hand when `fast`), the month taken from `last` when it is the
/// same.
fn parse_datetime_after(s: &str, format: &str, fast: bool, last: &mut LastDate) -> Option<i64> {
    if fast {
        if let Some(secs) = parse_iso_seconds_after(s.as_bytes(), last) {
            return Some(secs);
        }
    }
    match NaiveDateTime::parse_from_str(s, format) {
        Ok(dt) => Some(dt.and_utc().timestamp()),
        Err(e) if e.kind() == ParseErrorKind::NotEnough => NaiveDate::parse_from_str(s, format)
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()),
        Err(_) => None,
    }
}

/// Hand-parses exactly `YYYY-MM-DD HH:MM:SS`; `None` means "let chrono decide".
#[cfg(test)]
fn parse_iso_seconds(s: &[u8]) -> Option<i64> {
    parse_iso_seconds_after(s, &mut None)
}

/// Like `parse_iso_seconds`, remembering the last valid month in `last`.
/// Inlined into the loop of a column's cells: most of them only check
/// digits and add.
#[inline(always)]
fn parse_iso_seconds_after(s: &[u8], last: &mut LastDate) -> Option<i64> {
    let s: &[u8; 19] = s.try_into().ok()?;
    let (head, _) = s.split_first_chunk::<8>()?;
    let month_key = u64::from_le_bytes(*head);
    let (day_zero, month_days) = match *last {
        Some((seen, day_zero, month_days)) if seen == month_key => (day_zero, month_days),
        _ => new_month(s, month_key, last)?,
    };
    let digit = |c: u8| c.wrapping_sub(b'0');
    let (tens, ones) = (digit(s[8]), digit(s[9]));
    if tens > 9 || ones > 9 || s[10] != b' ' {
        return None;
    }
    let day = i64::from(tens * 10 + ones);
    if day < 1 || day > month_days {
        return None;
    }
    // `HH:MM:SS` as one word, XORed with `00:00:00`: a byte becomes 0 to 9
    // where it was a digit, and only then, and 0 where it was a colon, and only then.
    let (_, time) = s.split_last_chunk::<8>()?;
    let word = u64::from_le_bytes(*time) ^ u64::from_le_bytes(*b"00:00:00");
    let t = word.to_le_bytes();
    // A byte above 9 sets its top bit in `word`, or in `word + 0x76` per byte.
    if (word | word.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 != 0
        || t[2] != 0
        || t[5] != 0
    {
        return None;
    }
    let two = |i: usize| i64::from(t[i] * 10 + t[i + 1]);
    let (hour, minute, second) = (two(0), two(3), two(6));
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((day_zero + day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The month of `s` (`YYYY-MM-`, `month_key`) when it is not the remembered
/// one: its day number before the 1st and its length, remembered in `last`.
#[cold]
fn new_month(s: &[u8; 19], month_key: u64, last: &mut LastDate) -> Option<(i64, i64)> {
    let d = |i: usize| -> Option<i64> {
        let c = s[i];
        c.is_ascii_digit().then(|| i64::from(c - b'0'))
    };
    if s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let year = d(0)? * 1000 + d(1)? * 100 + d(2)? * 10 + d(3)?;
    let month = d(5)? * 10 + d(6)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let day_zero = days_from_civil(year, month, 1) - 1;
    let month_days = days_in_month(year, month);
    *last = Some((month_key, day_zero, month_days));
    Some((day_zero, month_days))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Typing a column's cells in one run ([`Column::push_texts`], and
    /// [`Column::push_text`] with one cell) gives what the general path,
    /// [`Column::push`], gives cell by cell: the same values, and the same
    /// errors in the same order, for every kind of column, nullable or not,
    /// kept or only checked.
    #[test]
    fn a_run_of_cells_is_typed_as_cell_by_cell() {
        struct TwoUnits;
        impl UnitResolver for TwoUnits {
            fn resolve(&self, name: &str) -> Option<u32> {
                ["鱼山镇", "县公安局"]
                    .iter()
                    .position(|u| *u == name)
                    .map(|i| i as u32)
            }
            fn names(&self) -> Vec<String> {
                vec!["鱼山镇".into(), "县公安局".into()]
            }
        }
        let spelled = |words: &[&str]| words.iter().map(|w| w.to_string()).collect();
        let kinds: Vec<(ColumnType, &[&str])> = vec![
            (
                ColumnType::Text,
                &["投诉", " 投诉 ", "一段较长的诉求内容文字"],
            ),
            (ColumnType::Integer, &["12", "-3", " 7\t", "1.5"]),
            (ColumnType::Decimal, &["87.5", " 1 ", "x"]),
            (ColumnType::Percent, &["90", "87.5%", "\u{3000}90 %", "%"]),
            (
                ColumnType::Bool {
                    true_spellings: spelled(&["是"]),
                    false_spellings: spelled(&["否"]),
                },
                &["是", "否", " 是", "否\u{3000}", "对"],
            ),
            (
                ColumnType::DateTime {
                    format: ISO_SECONDS.to_string(),
                },
                &[
                    "2023-03-01 08:00:00",
                    "2023-03-02 23:59:59",
                    " 2023-03-02 23:59:59",
                    "2023-03-01 08:00:00\u{3000}",
                    "2023-02-30 00:00:00",
                ],
            ),
            (
                ColumnType::DateTime {
                    format: "%Y/%m/%d".to_string(),
                },
                &[
                    "2023/03/01",
                    "2023/3/9",
                    " 2023/03/01",
                    "2023/03/01 ",
                    "03/01/2023",
                ],
            ),
            (
                ColumnType::Enum {
                    labels: spelled(&["派单", "直办"]),
                },
                &["派单", "直办 ", "转办"],
            ),
            (
                ColumnType::Unit,
                &[
                    "鱼山镇",
                    "县公安局",
                    " 鱼山镇",
                    "县公安局\u{3000}",
                    "县医院",
                ],
            ),
        ];
        let mut next = crate::data::test_random(0x2545_f491_4f6c_dd1du64);
        let mut runs_with_errors = 0;
        for (ty, values) in &kinds {
            for nullable in [false, true] {
                for keep in [true, false] {
                    let spec = ColumnSpec {
                        name: "列".into(),
                        header: "列".into(),
                        ty: ty.clone(),
                        nullable,
                    };
                    for _ in 0..20 {
                        // Mostly good values (the last of each list is bad), some blanks.
                        let cells: Vec<(&str, u64)> = (0..40)
                            .map(|line| {
                                let pick = next(values.len() + 2);
                                let text = match values.get(pick) {
                                    Some(v) if pick + 1 < values.len() || next(4) == 0 => *v,
                                    Some(_) => values[0],
                                    None => ["", "  "][pick - values.len()],
                                };
                                (text, line as u64 + 2)
                            })
                            .collect();
                        let mut one = Column::new(&spec, 3, false).keeping(keep);
                        let mut one_errors = CellErrors::default();
                        for &(text, line) in &cells {
                            one.push(Raw::Text(text), line, &TwoUnits, &mut one_errors);
                        }
                        let mut run = Column::new(&spec, 3, false).keeping(keep);
                        let mut run_errors = CellErrors::default();
                        run.push_texts(&mut cells.iter().copied(), &TwoUnits, &mut run_errors);
                        assert_eq!(run.data, one.data, "{ty:?} {cells:?}");
                        assert_eq!(run_errors.total, one_errors.total, "{ty:?} {cells:?}");
                        assert_eq!(run_errors.kept, one_errors.kept, "{ty:?} {cells:?}");
                        let mut single = Column::new(&spec, 3, false).keeping(keep);
                        let mut single_errors = CellErrors::default();
                        for &(text, line) in &cells {
                            single.push_text(text, line, &TwoUnits, &mut single_errors);
                        }
                        assert_eq!(single.data, one.data, "{ty:?} {cells:?}");
                        assert_eq!(single_errors.kept, one_errors.kept, "{ty:?} {cells:?}");
                        runs_with_errors += usize::from(one_errors.total > 0);
                    }
                }
            }
        }
        assert!(runs_with_errors > 200, "{runs_with_errors}");
    }

    #[test]
    fn fast_datetime_matches_chrono() {
        let samples = [
            "1970-01-01 00:00:00",
            "2023-03-01 08:00:00",
            "2024-02-29 23:59:59",
            "2000-02-29 12:34:56",
            "1969-12-31 23:59:59",
            "1900-03-01 00:00:00",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59",
        ];
        for s in samples {
            let chrono = NaiveDateTime::parse_from_str(s, ISO_SECONDS)
                .unwrap()
                .and_utc()
                .timestamp();
            assert_eq!(parse_iso_seconds(s.as_bytes()), Some(chrono), "{s}");
            assert_eq!(parse_datetime(s, ISO_SECONDS, true), Some(chrono), "{s}");
        }
        // Every day of a few years, against chrono: each anew, and in order
        // with the month remembered.
        let mut d = NaiveDate::from_ymd_opt(1899, 1, 1).unwrap();
        let mut last: LastDate = None;
        while d < NaiveDate::from_ymd_opt(2102, 1, 1).unwrap() {
            let s = format!("{} 07:08:09", d.format("%Y-%m-%d"));
            let expect = d.and_hms_opt(7, 8, 9).unwrap().and_utc().timestamp();
            assert_eq!(parse_iso_seconds(s.as_bytes()), Some(expect), "{s}");
            let remembered = parse_iso_seconds_after(s.as_bytes(), &mut last);
            assert_eq!(remembered, Some(expect), "{s}");
            d = d.succ_opt().unwrap();
        }
    }

    /// The time of day, read as one word: every second of a day as chrono reads
    /// it, and any byte put in any place of the time either read as chrono
    /// reads it or left to chrono.
    #[test]
    fn fast_time_of_day_matches_chrono() {
        let chrono = |s: &str| {
            NaiveDateTime::parse_from_str(s, ISO_SECONDS)
                .ok()
                .map(|dt| dt.and_utc().timestamp())
        };
        for second in 0..86_400 {
            let s = format!(
                "2023-03-01 {:02}:{:02}:{:02}",
                second / 3600,
                second / 60 % 60,
                second % 60
            );
            assert_eq!(parse_iso_seconds(s.as_bytes()), chrono(&s), "{s}");
        }
        for place in 10..19 {
            for byte in 0..=255u8 {
                let mut s = *b"2023-03-01 12:34:56";
                s[place] = byte;
                if let Some(fast) = parse_iso_seconds(&s) {
                    let text = std::str::from_utf8(&s).expect("only ASCII is read");
                    assert_eq!(Some(fast), chrono(text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn the_remembered_month_gives_what_parsing_anew_gives() {
        // A column's cells one after another, sharing the last month: valid and invalid
        // times and days in a remembered month, invalid dates, other separators, other
        // lengths.
        let cells = [
            "2023-03-31 08:00:00",
            "2023-03-32 08:00:00",
            "2023-03-00 08:00:00",
            "2023-03-3x 08:00:00",
            "2023-03- 1 08:00:00",
            "2023-02-28 08:00:00",
            "2023-02-29 08:00:00",
            "2023-02-31 08:00:00",
            "2024-02-29 08:00:00",
            "2024-02-30 08:00:00",
            "2023-04-31 08:00:00",
            "2023-00-01 08:00:00",
            "2023-13-01 08:00:00",
            "2023-0301 08:00:00",
            "2023-03-01 08:00:00",
            "2023-03-01 23:59:59",
            "2023-03-01 24:00:00",
            "2023-03-01T08:00:00",
            "2023-03-01 08:00",
            "2023-03-01 08:60:00",
            "2023-02-29 08:00:00",
            "2023-03-01 00:00:00",
            "2024-02-29 12:00:00",
            "2024-02-29 12:00:0x",
            "2023-03-02 00:00:01",
            "2023-03-01 07:00:00",
        ];
        let mut last: LastDate = None;
        for cell in cells {
            let anew = parse_datetime(cell, ISO_SECONDS, true);
            let after = parse_datetime_after(cell, ISO_SECONDS, true, &mut last);
            assert_eq!(after, anew, "{cell}");
            let chrono = NaiveDateTime::parse_from_str(cell, ISO_SECONDS)
                .ok()
                .map(|dt| dt.and_utc().timestamp());
            assert_eq!(after, chrono, "{cell}");
        }
        // Any byte in any place of a cell read right after one of its month.
        for place in 0..19 {
            for byte in 0..=255u8 {
                let mut cell = *b"2024-02-15 12:34:56";
                cell[place] = byte;
                let mut last: LastDate = None;
                parse_iso_seconds_after(b"2024-02-01 00:00:00", &mut last);
                assert!(last.is_some());
                let after = parse_iso_seconds_after(&cell, &mut last);
                assert_eq!(after, parse_iso_seconds(&cell), "{cell:?}");
                if let Some(fast) = after {
                    let text = std::str::from_utf8(&cell).expect("only ASCII is read");
                    let chrono = NaiveDateTime::parse_from_str(text, ISO_SECONDS)
                        .ok()
                        .map(|dt| dt.and_utc().timestamp());
                    assert_eq!(Some(fast), chrono, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn bad_datetimes_are_rejected() {
        for s in [
            "2023-13-01 00:00:00",
            "2023-02-29 00:00:00",
            "2023-04-31 00:00:00",
            "2023-03-01 24:00:00",
            "2023-03-01 08:60:00",
            "2023-03-01",
            "2023/03/01 08:00:00",
            "",
            "２０２３-03-01 08:00:00",
        ] {
            assert_eq!(parse_datetime(s, ISO_SECONDS, true), None, "{s}");
        }
        // The slow path accepts what chrono accepts.
        assert_eq!(
            parse_datetime("2023-3-1 8:00:00", ISO_SECONDS, true),
            parse_datetime("2023-03-01 08:00:00", ISO_SECONDS, true)
        );
    }

    #[test]
    fn date_only_formats_mean_midnight() {
        assert_eq!(
            parse_datetime("2023-03-01", "%Y-%m-%d", false),
            parse_datetime("2023-03-01 00:00:00", ISO_SECONDS, true)
        );
        assert_eq!(
            parse_datetime("2023/03/01 08:00", "%Y/%m/%d %H:%M", false),
            parse_datetime("2023-03-01 08:00:00", ISO_SECONDS, true)
        );
    }

    /// Every byte string of up to 16 bytes over a small alphabet (all of them up
    /// to 9 bytes, then a sample) has its own fingerprint.
    #[test]
    fn short_texts_have_their_own_fingerprint() {
        let alphabet = [b'a', b'b', 0xE4];
        let mut seen: std::collections::HashMap<Fingerprint, Vec<u8>> = Default::default();
        let mut add = |text: Vec<u8>| {
            let print = fingerprint(&text);
            if let Some(other) = seen.insert(print, text.clone()) {
                assert_eq!(other, text, "same fingerprint {print:?}");
            }
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..=16u32 {
            for n in 0..3u64.pow(len.min(9)) {
                // Every string up to 9 bytes; longer ones at random.
                let mut n = n;
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        if len > 9 {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            n = state;
                        }
                        let b = alphabet[(n % 3) as usize];
                        n /= 3;
                        b
                    })
                    .collect();
                add(text);
            }
        }
        assert!(seen.len() > 3u64.pow(9) as usize, "{}", seen.len());
    }

    /// Texts of every length up to 39 that differ only in their middle, so
    /// that they share their length and first and last bytes.
    fn words_differing_in_the_middle() -> Vec<String> {
        (0..40)
            .flat_map(|len| {
                ["a", "b", "中"].map(|m| {
                    (0..len)
                        .map(|i| if i == len / 2 { m } else { "x" })
                        .collect()
                })
            })
            .collect()
    }

    /// Lookups agree with comparing strings, for texts that share their
    /// length, first and last bytes, across every length around 8 and 16.
    #[test]
    fn few_texts_find_what_string_comparison_finds() {
        let mut texts = words_differing_in_the_middle();
        texts.extend(
            [
                "已解决",
                "基本解决",
                "未解决",
                "是",
                "否",
                "已解决 ",
                "已解",
            ]
            .map(String::from),
        );
        // Duplicates: the first wins.
        texts.push("已解决".to_string());
        let few = FewTexts::new(texts.iter().enumerate().map(|(i, t)| (t.as_str(), i)));
        let mut asked = texts.clone();
        asked.extend(["", "y", "xxxxxxxxxxxxxxxxxc", "已解决x", "基本"].map(String::from));
        for s in &asked {
            let expected = texts.iter().position(|t| t == s);
            assert_eq!(few.get(s), expected, "{s:?}");
        }
    }

    /// The whole-number shortcut gives what the general parser gives, scale included.
    #[test]
    fn whole_numbers_parse_as_the_general_parser_does() {
        let mut cases: Vec<String> = ["0", "00", "007", "88", "100", "999999999999999999"]
            .map(String::from)
            .to_vec();
        let mut n = 1u64;
        for len in 1..=19 {
            cases.push(n.to_string());
            cases.push("9".repeat(len));
            n = n.wrapping_mul(10).wrapping_add(len as u64 % 10);
        }
        for s in &cases {
            let general = Decimal::from_str_exact(s).ok();
            let got = parse_decimal(s, false);
            assert_eq!(got, general, "{s}");
            assert_eq!(
                got.map(|d| d.to_string()),
                general.map(|d| d.to_string()),
                "{s}"
            );
            assert_eq!(got.map(|d| d.scale()), general.map(|d| d.scale()), "{s}");
        }
    }

    /// Equal texts share one allocation (grouping and tallies count rows by it,
    /// then meet by text) and different texts never do, whatever their length.
    #[test]
    fn texts_are_shared_exactly_when_equal() {
        let mut texts = Texts::default();
        let words = words_differing_in_the_middle();
        let first: Vec<Arc<str>> = words.iter().map(|w| texts.intern(w)).collect();
        for (w, shared) in words.iter().zip(&first) {
            assert_eq!(&**shared, w.as_str());
            assert!(Arc::ptr_eq(shared, &texts.intern(&w.clone())), "{w:?}");
        }
        for (i, a) in first.iter().enumerate() {
            for b in &first[i + 1..] {
                assert_eq!(Arc::ptr_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn decimals_are_exact() {
        let d = |s| parse_decimal(s, false).map(|d| d.to_string());
        assert_eq!(d("87.5").as_deref(), Some("87.5"));
        assert_eq!(d("-0.23").as_deref(), Some("-0.23"));
        assert_eq!(d("+100").as_deref(), Some("100"));
        assert_eq!(d(".5").as_deref(), Some("0.5"));
        assert_eq!(d("5.").as_deref(), Some("5"));
        for bad in [
            "", "-", ".", "1_000", "1,000", "1e5", "NaN", "inf", "1.2.3", "--1", " 1",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
        assert_eq!(
            parse_decimal("1e-7", true)
                .map(|d| d.to_string())
                .as_deref(),
            Some("0.0000001")
        );
        assert_eq!(parse_percent("87.5%"), parse_decimal("87.5", false));
        assert_eq!(parse_percent("87.5 ％"), parse_decimal("87.5", false));
        assert_eq!(parse_percent("87.5"), parse_decimal("87.5", false));
        assert_eq!(parse_percent("%"), None);
        // Spaces at the ends are the caller's to trim.
        assert_eq!(parse_percent(" 87.5%"), None);
        // Out of range: rejected, never a panic.
        for big in ["1e400", "1e-400", "9e28", "-9e28"] {
            assert_eq!(parse_decimal(big, true), None, "{big}");
        }
        assert_eq!(
            parse_decimal("99999999999999999999999999999999", false),
            None
        );
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_integer("12"), Some(12));
        assert_eq!(parse_integer("-12"), Some(-12));
        assert_eq!(parse_integer("+12"), Some(12));
        for bad in [
            "12.5",
            "12.0",
            "",
            "+",
            "1_2",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_integer(bad), None, "{bad}");
        }
    }

    #[test]
    fn letters() {
        assert_eq!(column_letters(1), "A");
        assert_eq!(column_letters(3), "C");
        assert_eq!(column_letters(26), "Z");
        assert_eq!(column_letters(27), "AA");
        assert_eq!(column_letters(16384), "XFD");
    }

    #[test]
    fn formats_are_validated() {
        assert!(validate_datetime_format(ISO_SECONDS).is_ok());
        assert!(validate_datetime_format("%Y-%m-%d").is_ok());
        assert!(validate_datetime_format("%Q").is_err());
        assert!(validate_datetime_format("").is_err());
        assert_eq!(datetime_example("%Y/%m/%d").as_deref(), Some("2023/03/01"));
    }
}

#[cfg(test)]
mod trim_tests {
    use super::trimmed;

    #[test]
    fn trimmed_is_str_trim() {
        // Every character Rust calls whitespace, alone and in pairs.
        let mut spaces: Vec<String> = vec![String::new(), "\r\n".to_string()];
        spaces.extend(
            (0..=0x10FFFFu32)
                .filter_map(char::from_u32)
                .filter(|c| c.is_whitespace())
                .map(String::from),
        );
        assert!(spaces.len() > 25, "{}", spaces.len());
        // Words ending in characters of 1 to 4 bytes, with lead bytes next to
        // those of whitespace (C2, E1–E3).
        let words = [
            "a",
            "中",
            "—",
            "“",
            "é",
            "\u{1f600}",
            "a b",
            "东 阿",
            "ж",
            "。",
            "\u{a9}",
            "\u{1681}",
            "\u{3001}",
            "x\u{2070}",
        ];
        for before in &spaces {
            for word in words {
                for after in &spaces {
                    let s = format!("{before}{word}{after}");
                    assert_eq!(trimmed(&s), s.trim(), "{s:?}");
                }
            }
            assert_eq!(trimmed(before), before.trim(), "{before:?}");
        }
    }
}
