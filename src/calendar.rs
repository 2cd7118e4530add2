//! Working-day calendars: which days are 工作日, for deadlines counted in working days.
//!
//! A calendar file covers whole years and lists the exceptions to the weekly rule
//! (Monday–Friday working, Saturday and Sunday resting): official rest days (`holiday`) and
//! weekend days made working days (`workday`, 调休上班). The calendar shipped with hotline,
//! [`Calendar::china`], holds the schedules of the General Office of the State Council
//! (国务院办公厅关于XXXX年部分节假日安排的通知).
//!
//! ```text
//! # a comment
//! years 2023 .. 2026                     # or `years 2023`; exactly one, before the others
//! holiday 2023-01-21 .. 2023-01-27  春节  # inclusive range, or one date; then a free note
//! workday 2023-01-28                春节调休  # a Saturday or Sunday that is worked
//! ```
//!
//! Every problem of a file is reported, each with its 1-based line ([`CalendarError`]).
//!
//! Times are hotline's date-times: seconds since 1970-01-01 00:00 in local time, so a day is
//! exactly 86,400 s and day `n` starts at `n * 86400`. [`Calendar::working_seconds`] counts the
//! part of an interval that lies on working days in O(log n) (a closed form for the weekly
//! rule, binary searches in the sorted exception lists), whatever the span.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeMap;
use std::fmt;

/// Seconds in a day: hotline's date-times have no daylight-saving or leap seconds.
const DAY: i64 = 86_400;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_FROM_CE: i64 = 719_163;

/// The most years one calendar may cover (it keeps one entry per listed day).
pub const MAX_YEARS: i32 = 100;

/// Dates kept for duplicate checks when the `years` line is missing or broken.
const MAX_DAYS_UNBOUNDED: usize = 366 * MAX_YEARS as usize;

/// The calendar file shipped with hotline.
const CHINA: &str = include_str!("../policies/calendars/china.calendar");

/// A working-day calendar over whole years: the weekly rule and its listed exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// First and last year covered, inclusive.
    years: (i32, i32),
    /// January 1 of the first year.
    start: NaiveDate,
    /// January 1 of the year after the last: the first day not covered.
    end: NaiveDate,
    /// Every date listed by `holiday`, sorted, each once.
    holidays: Vec<NaiveDate>,
    /// Every date listed by `workday` (all Saturdays or Sundays), sorted, each once.
    workdays: Vec<NaiveDate>,
    /// The holidays that fall Monday–Friday: the only ones that change a count.
    weekday_holidays: Vec<NaiveDate>,
}

/// A problem in a calendar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    /// 1-based line of the file.
    pub line: usize,
    /// What is wrong, in English, lowercase; text of the file in backticks.
    pub message: String,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for CalendarError {}

/// Which list a date line adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Holiday,
    Workday,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Holiday => "holiday",
            Kind::Workday => "workday",
        }
    }
}

/// A `holiday` or `workday` line, its dates parsed.
struct Entry {
    line: usize,
    kind: Kind,
    first: NaiveDate,
    last: NaiveDate,
}

impl Calendar {
    /// Parses a calendar file; every problem is reported (Vec), each with its 1-based line.
    ///
    /// Problems: an unknown directive; a bad year or date (`yyyy-mm-dd`, a real day); a range
    /// whose end is before its start; a date outside the `years`; a date listed twice, or as
    /// both holiday and workday; a `workday` on Monday–Friday; a missing, repeated or late
    /// `years` line, or one spanning more than [`MAX_YEARS`] years.
    pub fn parse(text: &str) -> Result<Calendar, Vec<CalendarError>> {
        let mut errors = Vec::new();
        let mut years: Option<(i32, i32)> = None;
        let mut years_line: Option<usize> = None;
        let mut entries: Vec<Entry> = Vec::new();
        let mut first_entry_line: Option<usize> = None;

        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let (directive, rest) = split_token(content);
            let mut error = |message: String| errors.push(CalendarError { line, message });
            match directive {
                "years" => {
                    if let Some(first) = years_line {
                        error(format!("duplicate `years` (first on line {first})"));
                        continue;
                    }
                    years_line = Some(line);
                    if let Some(entry_line) = first_entry_line {
                        error(format!(
                            "`years` must come before the `holiday` and `workday` lines \
                             (the first is on line {entry_line})"
                        ));
                    }
                    match parse_years(rest) {
                        Ok(range) => years = Some(range),
                        Err(message) => error(message),
                    }
                }
                "holiday" | "workday" => {
                    let kind = if directive == "holiday" {
                        Kind::Holiday
                    } else {
                        Kind::Workday
                    };
                    first_entry_line.get_or_insert(line);
                    match parse_dates(kind, rest) {
                        Ok((first, last)) => entries.push(Entry {
                            line,
                            kind,
                            first,
                            last,
                        }),
                        Err(message) => error(message),
                    }
                }
                other => error(format!(
                    "unknown directive `{other}`: expected `years`, `holiday` or `workday`"
                )),
            }
        }

        if years_line.is_none() {
            errors.push(CalendarError {
                line: 1,
                message: "missing `years`: a calendar starts with the years it covers, \
                          e.g. `years 2023 .. 2026`"
                    .to_string(),
            });
        }
        // parse_years admits only four-digit years, all of which chrono represents.
        let bounds = years.and_then(|(a, b)| {
            let start = NaiveDate::from_ymd_opt(a, 1, 1)?;
            let end = NaiveDate::from_ymd_opt(b.checked_add(1)?, 1, 1)?;
            Some((a, b, start, end))
        });

        // Each date once, with its kind and line; ranges that overlap one already taken are
        // reported and not added, so the map never holds more than the covered days.
        let mut taken: BTreeMap<NaiveDate, (Kind, usize)> = BTreeMap::new();
        for entry in &entries {
            let mut error = |message: String| {
                errors.push(CalendarError {
                    line: entry.line,
                    message,
                })
            };
            if let Some((a, b, start, end)) = bounds {
                let outside = if entry.first < start {
                    Some(entry.first)
                } else if entry.last >= end {
                    Some(entry.first.max(end))
                } else {
                    None
                };
                if let Some(date) = outside {
                    let years = if a == b {
                        format!("{a}")
                    } else {
                        format!("{a} .. {b}")
                    };
                    error(format!("`{date}` is outside the years `{years}`"));
                    continue;
                }
            }
            if entry.kind == Kind::Workday {
                if let Some(date) = first_weekday(entry.first, entry.last) {
                    error(format!(
                        "`{date}` is a {}: `workday` lists saturdays and sundays that are worked",
                        weekday_name(date.weekday())
                    ));
                    continue;
                }
            }
            if let Some((date, (kind, line))) = taken.range(entry.first..=entry.last).next() {
                error(format!(
                    "`{date}` is already listed as a {} on line {line}",
                    kind.word()
                ));
                continue;
            }
            // Without `years` (already an error) only short ranges are kept, to find more
            // duplicates without expanding a range of centuries.
            let days = (entry.last - entry.first).num_days();
            if bounds.is_some() || (days <= 366 && taken.len() <= MAX_DAYS_UNBOUNDED) {
                for date in entry.first.iter_days().take_while(|d| *d <= entry.last) {
                    taken.insert(date, (entry.kind, entry.line));
                }
            }
        }

        errors.sort_by_key(|e| e.line);
        let Some((a, b, start, end)) = bounds else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut holidays = Vec::new();
        let mut workdays = Vec::new();
        for (date, (kind, _)) in taken {
            match kind {
                Kind::Holiday => holidays.push(date),
                Kind::Workday => workdays.push(date),
            }
        }
        let weekday_holidays = holidays
            .iter()
            .copied()
            .filter(|d| !is_weekend(*d))
            .collect();
        Ok(Calendar {
            years: (a, b),
            start,
            end,
            holidays,
            workdays,
            weekday_holidays,
        })
    }

    /// The calendar shipped with hotline: `policies/calendars/china.calendar`, parsed.
    ///
    /// China's official holidays and make-up working days (调休) for 2023–2026, from the
    /// notices of the General Office of the State Council. The file is compiled in; the
    /// `Err` case cannot happen for the shipped file (a test parses it), it is kept so that
    /// no path of the library panics.
    pub fn china() -> Result<Calendar, Vec<CalendarError>> {
        Calendar::parse(CHINA)
    }

    /// The first and last year covered, inclusive.
    pub fn years(&self) -> (i32, i32) {
        self.years
    }

    /// The dates listed as `holiday`, sorted (weekend days inside a holiday range included).
    pub fn holidays(&self) -> &[NaiveDate] {
        &self.holidays
    }

    /// The dates listed as `workday` (Saturdays and Sundays worked), sorted.
    pub fn workdays(&self) -> &[NaiveDate] {
        &self.workdays
    }

    /// Whether `date` is a working day; None when the date is outside the calendar's years.
    pub fn is_workday(&self, date: NaiveDate) -> Option<bool> {
        if date < self.start || date >= self.end {
            return None;
        }
        if self.workdays.binary_search(&date).is_ok() {
            Some(true)
        } else if self.holidays.binary_search(&date).is_ok() {
            Some(false)
        } else {
            Some(!is_weekend(date))
        }
    }

    /// Working time from `a` to `b` (seconds since 1970-01-01 00:00 local time, as hotline
    /// stores date-times), in seconds: the part of [a, b) that lies on working days (whole
    /// 24-hour days count; rest days count 0).
    ///
    /// Negative when b < a (the same measure, negated); 0 when a == b. `Err(date)` names the
    /// first date of the interval outside the calendar's years (for a time beyond chrono's
    /// range, [`NaiveDate::MIN`] or [`NaiveDate::MAX`]). An interval may end exactly at
    /// midnight after the last covered day.
    pub fn working_seconds(&self, a: i64, b: i64) -> Result<i64, NaiveDate> {
        if b < a {
            return self.working_seconds(b, a).map(|s| -s);
        }
        if a == b {
            return Ok(0);
        }
        let (first, from) = split_time(a);
        // b > a, so b - 1 cannot overflow: the last second of the interval.
        let (last, _) = split_time(b - 1);
        if first < self.start {
            return Err(first);
        }
        if last >= self.end {
            return Err(first.max(self.end));
        }
        let (to_day, to) = split_time(b);
        Ok(self.elapsed(to_day, to) - self.elapsed(first, from))
    }

    /// Working seconds from the start of the calendar to second `second` of `date`, for
    /// `start <= date < end`, or `date == end` with `second == 0`.
    fn elapsed(&self, date: NaiveDate, second: i64) -> i64 {
        let working_today = date < self.end && self.is_workday(date) == Some(true);
        self.working_days_before(date) * DAY + if working_today { second } else { 0 }
    }

    /// Working days in [start, date), for `start <= date <= end`.
    fn working_days_before(&self, date: NaiveDate) -> i64 {
        let holidays = self.weekday_holidays.partition_point(|d| *d < date);
        let workdays = self.workdays.partition_point(|d| *d < date);
        weekdays_between(self.start, date) - holidays as i64 + workdays as i64
    }
}

/// The first word of `s` and the rest after it, trimmed at the start.
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(at) => (&s[..at], s[at..].trim_start()),
        None => (s, ""),
    }
}

/// `2023 .. 2026`, `2023..2026` or `2023`.
fn parse_years(rest: &str) -> Result<(i32, i32), String> {
    let words: Vec<&str> = rest
        .split_whitespace()
        .flat_map(|w| split_dots(w))
        .collect();
    let (a, b) = match words.as_slice() {
        [a] => (parse_year(a)?, parse_year(a)?),
        [a, "..", b] => (parse_year(a)?, parse_year(b)?),
        [] => return Err("`years` needs a year, e.g. `years 2023 .. 2026`".to_string()),
        _ => {
            return Err(format!(
                "bad `years {rest}`: expected `years A .. B` or `years A`"
            ))
        }
    };
    if b < a {
        return Err(format!("`years {a} .. {b}`: the end is before the start"));
    }
    if b - a >= MAX_YEARS {
        return Err(format!(
            "`years {a} .. {b}` covers {} years: at most {MAX_YEARS}",
            b - a + 1
        ));
    }
    Ok((a, b))
}

/// Splits `2023..2026` into `2023`, `..`, `2026` (dropping empty parts).
fn split_dots(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = word;
    while let Some(at) = rest.find("..") {
        if at > 0 {
            parts.push(&rest[..at]);
        }
        parts.push("..");
        rest = &rest[at + 2..];
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    parts
}

/// A four-digit year.
fn parse_year(word: &str) -> Result<i32, String> {
    if word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()) {
        word.parse()
            .map_err(|_| format!("bad year `{word}`: expected four digits"))
    } else {
        Err(format!("bad year `{word}`: expected four digits"))
    }
}

/// The date or range at the start of a `holiday` / `workday` line; the rest is a note.
fn parse_dates(kind: Kind, rest: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let word = kind.word();
    let (token, after) = split_token(rest);
    if token.is_empty() {
        return Err(format!("`{word}` needs a date, e.g. `{word} 2023-01-02`"));
    }
    let (first_text, mut end_text) = match token.split_once("..") {
        Some((a, b)) => (a, Some(b)),
        None => (token, None),
    };
    let mut after = after;
    if end_text.is_none() {
        let (next, next_after) = split_token(after);
        if let Some(end) = next.strip_prefix("..") {
            end_text = Some(end);
            after = next_after;
        }
    }
    if end_text == Some("") {
        let (next, next_after) = split_token(after);
        end_text = Some(next);
        after = next_after;
    }
    // `after` is the free-text note.
    let _ = after;
    let first = parse_date(first_text)?;
    let last = match end_text {
        None => first,
        Some("") => {
            return Err(format!(
                "`{word} {first_text} ..` needs an end date after `..`"
            ))
        }
        Some(text) => parse_date(text)?,
    };
    if last < first {
        return Err(format!(
            "the range `{first} .. {last}` ends before it starts"
        ));
    }
    Ok((first, last))
}

/// `yyyy-mm-dd`, a real day.
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(format!("bad date `{text}`: expected yyyy-mm-dd"));
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> { text.get(range)?.parse().ok() };
    let date = match (number(0..4), number(5..7), number(8..10)) {
        (Some(y), Some(m), Some(d)) => i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
        _ => None,
    };
    date.ok_or_else(|| format!("bad date `{text}`: no such day"))
}

/// The first Monday–Friday in [first, last], if any (at most seven steps).
fn first_weekday(first: NaiveDate, last: NaiveDate) -> Option<NaiveDate> {
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .take(7)
        .find(|d| !is_weekend(*d))
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// Monday–Friday days in [from, to), for from <= to: five a week, then the remainder.
fn weekdays_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let days = (to - from).num_days();
    let start = i64::from(from.weekday().num_days_from_monday());
    let remainder = (0..days % 7).filter(|i| (start + i) % 7 < 5).count() as i64;
    days / 7 * 5 + remainder
}

/// The date of a hotline time and the second within that day; a date beyond chrono's range
/// becomes [`NaiveDate::MIN`] or [`NaiveDate::MAX`] (both outside any calendar).
fn split_time(t: i64) -> (NaiveDate, i64) {
    let day = t.div_euclid(DAY);
    let second = t.rem_euclid(DAY);
    let date = i32::try_from(day + UNIX_EPOCH_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(if day < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        });
    (date, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(d: NaiveDate, hour: i64) -> i64 {
        d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() + hour * 3_600
    }

    #[test]
    fn split_time_matches_chrono() {
        use chrono::Timelike;
        for t in [
            0,
            1,
            -1,
            86_399,
            86_400,
            -86_401,
            1_700_000_000,
            -5_000_000_000,
        ] {
            let dt = chrono::DateTime::from_timestamp(t, 0).unwrap().naive_utc();
            let (d, s) = split_time(t);
            assert_eq!(d, dt.date(), "{t}");
            assert_eq!(s, i64::from(dt.time().num_seconds_from_midnight()), "{t}");
        }
        assert_eq!(split_time(i64::MAX).0, NaiveDate::MAX);
        assert_eq!(split_time(i64::MIN).0, NaiveDate::MIN);
    }

    #[test]
    fn weekdays_between_matches_counting() {
        let base = date(2022, 12, 20);
        for offset in 0..14 {
            let from = base + chrono::Days::new(offset);
            for len in 0..40 {
                let to = from + chrono::Days::new(len);
                let brute = from
                    .iter_days()
                    .take_while(|d| *d < to)
                    .filter(|d| !is_weekend(*d))
                    .count() as i64;
                assert_eq!(weekdays_between(from, to), brute, "{from} {to}");
            }
        }
    }

    const SMALL: &str = "\
years 2023 .. 2024
holiday 2023-01-02 新年
holiday 2023-12-29..2024-01-02   跨年
workday 2023-12-23
workday 2024-01-06 .. 2024-01-07
";

    #[test]
    fn working_seconds_matches_brute_force() {
        let cal = Calendar::parse(SMALL).unwrap();
        let start = at(date(2023, 1, 1), 0);
        let end = at(date(2025, 1, 1), 0);
        // Brute force per hour-aligned step of 7 h 13 min over the two years.
        let step = 7 * 3_600 + 13 * 60;
        let points: Vec<i64> = (start..=end).step_by(step as usize).chain([end]).collect();
        let brute = |a: i64, b: i64| -> i64 {
            let mut total = 0;
            let mut t = a;
            while t < b {
                let (d, s) = split_time(t);
                let next = (t - s + DAY).min(b);
                if cal.is_workday(d).unwrap() {
                    total += next - t;
                }
                t = next;
            }
            total
        };
        for (i, &a) in points.iter().enumerate().step_by(7) {
            for &b in points.iter().skip(i).step_by(11) {
                assert_eq!(cal.working_seconds(a, b), Ok(brute(a, b)), "{a} {b}");
                assert_eq!(cal.working_seconds(b, a), Ok(-brute(a, b)), "{b} {a}");
            }
        }
        assert_eq!(
            cal.working_seconds(start, end),
            Ok((260 + 262 - 4 + 3) * DAY)
        );
    }

    #[test]
    fn out_of_range_names_first_outside_date() {
        let cal = Calendar::parse(SMALL).unwrap();
        let before = at(date(2022, 12, 31), 12);
        let inside = at(date(2023, 6, 1), 0);
        let after = at(date(2025, 1, 1), 1);
        assert_eq!(cal.working_seconds(before, inside), Err(date(2022, 12, 31)));
        assert_eq!(cal.working_seconds(inside, before), Err(date(2022, 12, 31)));
        assert_eq!(cal.working_seconds(inside, after), Err(date(2025, 1, 1)));
        let later = at(date(2025, 3, 1), 0);
        assert_eq!(cal.working_seconds(later, later + 5), Err(date(2025, 3, 1)));
        assert_eq!(cal.working_seconds(later, later), Ok(0));
        assert_eq!(cal.working_seconds(i64::MIN, inside), Err(NaiveDate::MIN));
        assert_eq!(cal.working_seconds(inside, i64::MAX), Err(date(2025, 1, 1)));
        assert_eq!(cal.is_workday(date(2022, 12, 31)), None);
        assert_eq!(cal.is_workday(date(2025, 1, 1)), None);
    }

    #[test]
    fn syntax_variants() {
        let cal = Calendar::parse(SMALL).unwrap();
        assert_eq!(cal.years(), (2023, 2024));
        assert_eq!(cal.holidays().len(), 6);
        assert_eq!(
            cal.workdays(),
            &[date(2023, 12, 23), date(2024, 1, 6), date(2024, 1, 7)]
        );
        for text in [
            "years 2023\nholiday 2023-05-01..  2023-05-02\n",
            "years 2023..2023\nholiday 2023-05-01 ..2023-05-02 # note\n",
            "  # top\nyears   2023\n\nholiday\t2023-05-01 .. 2023-05-02\tnote .. with dots\n",
        ] {
            let cal = Calendar::parse(text).unwrap();
            assert_eq!(cal.years(), (2023, 2023), "{text}");
            assert_eq!(
                cal.holidays(),
                &[date(2023, 5, 1), date(2023, 5, 2)],
                "{text}"
            );
        }
    }

    #[test]
    fn bad_years_lines() {
        for (text, message) in [
            ("years\n", "`years` needs a year"),
            ("years 23\n", "bad year `23`"),
            ("years 2026 .. 2023\n", "the end is before the start"),
            ("years 2000 .. 2100\n", "covers 101 years"),
            ("years 2023 2024\n", "bad `years 2023 2024`"),
        ] {
            let errors = Calendar::parse(text).unwrap_err();
            assert!(
                errors.iter().any(|e| e.message.contains(message)),
                "{text}: {errors:?}"
            );
        }
    }

    #[test]
    fn shipped_calendar_parses() {
        let cal = Calendar::china().unwrap();
        assert_eq!(cal.years(), (2023, 2026));
    }
}
