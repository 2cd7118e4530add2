//! Dates, date-times and working days, written for the test alone (no chrono, no hotline
//! code): the civil-date conversions of H. Hinnant's `days_from_civil` and a plain reading of
//! `policies/calendars/china.calendar`.

use std::collections::BTreeSet;

/// Seconds in a day (hotline's date-times are local times without daylight saving).
pub const DAY: i64 = 86_400;

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of day `z` (days from 1970-01-01).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// `2024-02-10` → its day number.
pub fn parse_date(s: &str) -> i64 {
    let p: Vec<i64> = s.trim().split('-').map(|x| x.parse().unwrap()).collect();
    assert_eq!(p.len(), 3, "bad date {s:?}");
    let day = days_from_civil(p[0], p[1], p[2]);
    assert_eq!(
        civil_from_days(day),
        (p[0], p[1], p[2]),
        "not a real day: {s:?}"
    );
    day
}

/// `2024-02-10 17:00:00` → seconds from 1970-01-01 00:00.
pub fn parse_datetime(s: &str) -> i64 {
    let (date, time) = s
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("bad date-time {s:?}"));
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    assert_eq!(t.len(), 3, "bad time {s:?}");
    parse_date(date) * DAY + t[0] * 3600 + t[1] * 60 + t[2]
}

/// Seconds → `2024-02-10 17:00:00`.
pub fn format_datetime(secs: i64) -> String {
    let day = secs.div_euclid(DAY);
    let s = secs.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(day);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A working-day calendar: Monday–Friday work, Saturday and Sunday rest, except the listed
/// `holiday` (rest) and `workday` (调休上班) days.
pub struct Calendar {
    pub first_year: i64,
    pub last_year: i64,
    pub holidays: BTreeSet<i64>,
    pub workdays: BTreeSet<i64>,
}

impl Calendar {
    /// Reads the calendar file format (`years A .. B`, `holiday D [.. D2] note`,
    /// `workday D note`, `#` comments); panics on anything else.
    pub fn parse(text: &str) -> Calendar {
        let mut years = None;
        let mut holidays = BTreeSet::new();
        let mut workdays = BTreeSet::new();
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap().trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[0] {
                "years" => {
                    let a: i64 = words[1].parse().unwrap();
                    let b: i64 = if words.len() >= 4 && words[2] == ".." {
                        words[3].parse().unwrap()
                    } else {
                        a
                    };
                    years = Some((a, b));
                }
                "holiday" => {
                    let first = parse_date(words[1]);
                    let last = if words.len() >= 4 && words[2] == ".." {
                        parse_date(words[3])
                    } else {
                        first
                    };
                    for d in first..=last {
                        holidays.insert(d);
                    }
                }
                "workday" => {
                    let d = parse_date(words[1]);
                    assert!(weekday(d) >= 5, "workday {} is not a weekend day", words[1]);
                    workdays.insert(d);
                }
                other => panic!("unknown calendar line {other:?}"),
            }
        }
        let (first_year, last_year) = years.expect("no `years` line");
        Calendar {
            first_year,
            last_year,
            holidays,
            workdays,
        }
    }

    /// The calendar shipped with hotline, read from the repository.
    pub fn china() -> Calendar {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/calendars/china.calendar"
        );
        Calendar::parse(&std::fs::read_to_string(path).unwrap())
    }

    /// Whether the calendar covers day `day`.
    pub fn covers(&self, day: i64) -> bool {
        let y = civil_from_days(day).0;
        (self.first_year..=self.last_year).contains(&y)
    }

    /// Whether day `day` is a working day.
    pub fn is_working(&self, day: i64) -> bool {
        assert!(
            self.covers(day),
            "day {:?} outside the calendar",
            civil_from_days(day)
        );
        if self.workdays.contains(&day) {
            true
        } else if self.holidays.contains(&day) {
            false
        } else {
            weekday(day) < 5
        }
    }

    /// Seconds of `[a, b)` that lie on working days (negative when `b < a`).
    pub fn working_seconds(&self, a: i64, b: i64) -> i64 {
        if b < a {
            return -self.working_seconds(b, a);
        }
        let mut total = 0;
        let mut t = a;
        while t < b {
            let day = t.div_euclid(DAY);
            let end = ((day + 1) * DAY).min(b);
            if self.is_working(day) {
                total += end - t;
            }
            t = end;
        }
        total
    }

    /// The earliest time `t >= a` with `working_seconds(a, t) == secs` (`secs > 0`).
    pub fn add_working(&self, a: i64, secs: i64) -> i64 {
        assert!(secs > 0);
        let mut t = a;
        let mut left = secs;
        loop {
            let day = t.div_euclid(DAY);
            let end = (day + 1) * DAY;
            if self.is_working(day) {
                if left <= end - t {
                    return t + left;
                }
                left -= end - t;
            }
            t = end;
        }
    }
}
