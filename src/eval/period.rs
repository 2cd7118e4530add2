//! The months a report covers: one month, a quarter, a half year, a year or any run
//! of months (`--period 2023-Q1`).

use super::Month;

impl Month {
    /// The month `n` months later (earlier for negative `n`).
    pub fn plus(self, n: i32) -> Month {
        let index = self.year * 12 + self.month as i32 - 1 + n;
        Month {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// Months from `self` to `later`, counting both (0 when `later` is earlier).
    fn until(self, later: Month) -> i32 {
        (later.year * 12 + later.month as i32) - (self.year * 12 + self.month as i32) + 1
    }
}

/// A run of whole months, the first to the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first month.
    pub first: Month,
    /// The last month.
    pub last: Month,
}

/// The longest period: a hundred years of months.
const MOST_MONTHS: i32 = 1200;

/// What `--period` can say, before the data is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSpec {
    /// A period named outright.
    Fixed(Period),
    /// `last 3 months`: the months ending with the latest month that has data.
    Last(u32),
}

impl Period {
    /// One month.
    pub fn month(month: Month) -> Period {
        Period {
            first: month,
            last: month,
        }
    }

    /// Parses `2023-03`, `2023-Q1`, `2023-H1`, `2023` or `2023-01..2023-06`.
    pub fn parse(text: &str) -> Option<Period> {
        let text = text.trim();
        if let Some((a, b)) = text.split_once("..") {
            let (first, last) = (Month::parse(a.trim())?, Month::parse(b.trim())?);
            let n = first.until(last);
            return (1..=MOST_MONTHS)
                .contains(&n)
                .then_some(Period { first, last });
        }
        if let Some(month) = Month::parse(text) {
            return Some(Period::month(month));
        }
        let (year, part) = match text.split_once('-') {
            Some((y, p)) => (y, Some(p)),
            None => (text, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let (first, months) = match part.map(|p| p.to_ascii_uppercase()) {
            None => (1, 12),
            Some(p) => match p.as_str() {
                "Q1" => (1, 3),
                "Q2" => (4, 3),
                "Q3" => (7, 3),
                "Q4" => (10, 3),
                "H1" => (1, 6),
                "H2" => (7, 6),
                _ => return None,
            },
        };
        let first = Month { year, month: first };
        Some(Period {
            first,
            last: first.plus(months - 1),
        })
    }

    /// Its months in order.
    pub fn months(&self) -> Vec<Month> {
        let n = self.first.until(self.last).clamp(0, MOST_MONTHS);
        (0..n).map(|i| self.first.plus(i)).collect()
    }

    /// How many months it has.
    pub fn months_count(&self) -> usize {
        self.first.until(self.last).clamp(0, MOST_MONTHS) as usize
    }

    /// Whether it is one month.
    pub fn is_month(&self) -> bool {
        self.first == self.last
    }

    /// Every month moved by `n` months.
    pub fn shifted(&self, n: i32) -> Period {
        Period {
            first: self.first.plus(n),
            last: self.last.plus(n),
        }
    }

    /// The period of the same length just before: the month before a month, the
    /// quarter before a quarter, the year before a year.
    pub fn previous(&self) -> Period {
        self.shifted(-(self.months_count() as i32))
    }

    /// Its first and last days, in days since 1970-01-01.
    pub fn bounds(&self) -> Option<(i64, i64)> {
        Some((self.first.bounds()?.0, self.last.bounds()?.1))
    }

    /// In Chinese, as a report says it: `2023 年 3 月`, `2023 年第一季度`,
    /// `2023 年上半年`, `2023 年度`, `2023 年 1—5 月`, `2022 年 11 月—2023 年 2 月`.
    pub fn chinese(&self) -> String {
        let (f, l) = (self.first, self.last);
        if f == l {
            return format!("{} 年 {} 月", f.year, f.month);
        }
        if f.year == l.year {
            let quarter = ["一", "二", "三", "四"];
            return match (f.month, l.month) {
                (1, 12) => format!("{} 年度", f.year),
                (1, 6) => format!("{} 年上半年", f.year),
                (7, 12) => format!("{} 年下半年", f.year),
                (a, b) if b == a + 2 && a % 3 == 1 => {
                    format!("{} 年第{}季度", f.year, quarter[(a / 3) as usize])
                }
                (a, b) => format!("{} 年 {a}—{b} 月", f.year),
            };
        }
        format!("{} 年 {} 月—{} 年 {} 月", f.year, f.month, l.year, l.month)
    }
}

impl std::fmt::Display for Period {
    /// As `--period` takes it: `2023-03`, `2023-Q1`, `2023-H2`, `2023`, `2023-01..2023-05`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b) = (self.first, self.last);
        if a == b {
            return write!(f, "{a}");
        }
        if a.year == b.year {
            match (a.month, b.month) {
                (1, 12) => return write!(f, "{:04}", a.year),
                (1, 6) => return write!(f, "{:04}-H1", a.year),
                (7, 12) => return write!(f, "{:04}-H2", a.year),
                (m, n) if n == m + 2 && m % 3 == 1 => {
                    return write!(f, "{:04}-Q{}", a.year, m / 3 + 1)
                }
                _ => {}
            }
        }
        write!(f, "{a}..{b}")
    }
}

impl PeriodSpec {
    /// Parses what [`Period::parse`] takes, or `last 3 months` (also `last-3-months`).
    pub fn parse(text: &str) -> Option<PeriodSpec> {
        let words: Vec<&str> = text
            .split(|c: char| c == '-' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        if let ["last", n, "months" | "month"] = words.as_slice() {
            let n: u32 = n.parse().ok()?;
            return (1..=MOST_MONTHS as u32)
                .contains(&n)
                .then_some(PeriodSpec::Last(n));
        }
        Period::parse(text).map(PeriodSpec::Fixed)
    }

    /// The period, given the latest month that has data.
    pub fn resolve(self, latest: Option<Month>) -> Option<Period> {
        match self {
            PeriodSpec::Fixed(p) => Some(p),
            PeriodSpec::Last(n) => latest.map(|last| Period {
                first: last.plus(1 - n as i32),
                last,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(year: i32, month: u32) -> Month {
        Month { year, month }
    }

    #[test]
    fn periods_parse_and_print_back() {
        for (text, first, last, chinese) in [
            ("2023-03", m(2023, 3), m(2023, 3), "2023 年 3 月"),
            ("2023-Q1", m(2023, 1), m(2023, 3), "2023 年第一季度"),
            ("2023-Q4", m(2023, 10), m(2023, 12), "2023 年第四季度"),
            ("2023-H2", m(2023, 7), m(2023, 12), "2023 年下半年"),
            ("2023", m(2023, 1), m(2023, 12), "2023 年度"),
            ("2023-01..2023-05", m(2023, 1), m(2023, 5), "2023 年 1—5 月"),
            (
                "2022-11..2023-02",
                m(2022, 11),
                m(2023, 2),
                "2022 年 11 月—2023 年 2 月",
            ),
        ] {
            let p = Period::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((p.first, p.last), (first, last), "{text}");
            assert_eq!(p.to_string(), text);
            assert_eq!(p.chinese(), chinese);
        }
        for bad in [
            "2023-Q5",
            "2023-13",
            "23",
            "2023-05..2023-01",
            "",
            "2023-q",
            "x-Q1",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        // Written in lower case, printed as the spec writes it.
        assert_eq!(
            Period::parse("2023-q2").map(|p| p.to_string()).as_deref(),
            Some("2023-Q2")
        );
    }

    #[test]
    fn previous_periods_and_last_year() {
        let q1 = Period::parse("2023-Q1").unwrap_or_else(|| panic!());
        assert_eq!(q1.previous().to_string(), "2022-Q4");
        assert_eq!(q1.shifted(-12).to_string(), "2022-Q1");
        assert_eq!(Period::month(m(2023, 1)).previous().to_string(), "2022-12");
        let year = Period::parse("2023").unwrap_or_else(|| panic!());
        assert_eq!(year.previous().to_string(), "2022");
        assert_eq!(year.months().len(), 12);
        assert_eq!(m(2023, 1).plus(-13), m(2021, 12));
        assert_eq!(m(2023, 12).plus(1), m(2024, 1));
    }

    #[test]
    fn the_last_months_end_with_the_latest_data() {
        let spec = PeriodSpec::parse("last 3 months").unwrap_or_else(|| panic!());
        assert_eq!(spec, PeriodSpec::Last(3));
        assert_eq!(PeriodSpec::parse("last-3-months"), Some(spec));
        let p = spec.resolve(Some(m(2023, 2))).unwrap_or_else(|| panic!());
        assert_eq!(p.to_string(), "2022-12..2023-02");
        assert_eq!(spec.resolve(None), None);
        assert_eq!(PeriodSpec::parse("last 0 months"), None);
    }
}
