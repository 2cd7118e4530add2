//! The working-day calendar of China shipped with hotline, checked against the notices of
//! the General Office of the State Council as they were published; working-time arithmetic;
//! every parse error of a calendar file.
//!
//! The notices below are transcribed sentence by sentence (二、春节：…放假调休，共7天。…上班。)
//! and parsed here, independently of the calendar file: dates, 共N天, and the weekday named
//! in parentheses, which must be the real weekday of the date.

use chrono::{Datelike, NaiveDate, Weekday};
use hotline::calendar::{Calendar, CalendarError};
use std::collections::BTreeSet;

/// One year's notice: its document number and its arrangement, one holiday a line.
struct Notice {
    year: i32,
    document: &'static str,
    arrangement: &'static str,
    /// Statutory holiday days of the year (全国年节及纪念日放假办法): 11, and 13 from 2025
    /// (春节 gains 农历除夕, 劳动节 gains 5月2日).
    statutory_days: i64,
}

const NOTICES: &[Notice] = &[
    Notice {
        year: 2023,
        document: "国办发明电〔2022〕16号",
        arrangement: "\
一、元旦：2022年12月31日至2023年1月2日放假调休，共3天。
二、春节：1月21日至27日放假调休，共7天。1月28日（星期六）、1月29日（星期日）上班。
三、清明节：4月5日放假，共1天。
四、劳动节：4月29日至5月3日放假调休，共5天。4月23日（星期日）、5月6日（星期六）上班。
五、端午节：6月22日至24日放假调休，共3天。6月25日（星期日）上班。
六、中秋节、国庆节：9月29日至10月6日放假调休，共8天。10月7日（星期六）、10月8日（星期日）上班。
",
        statutory_days: 11,
    },
    Notice {
        year: 2024,
        document: "国办发明电〔2023〕7号",
        arrangement: "\
一、元旦：1月1日放假，与周末连休。
二、春节：2月10日至17日放假调休，共8天。2月4日（星期日）、2月18日（星期日）上班。鼓励各单位结合带薪年休假等制度落实，安排职工在除夕（2月9日）休息。
三、清明节：4月4日至6日放假调休，共3天。4月7日（星期日）上班。
四、劳动节：5月1日至5日放假调休，共5天。4月28日（星期日）、5月11日（星期六）上班。
五、端午节：6月10日放假，与周末连休。
六、中秋节：9月15日至17日放假调休，共3天。9月14日（星期六）上班。
七、国庆节：10月1日至7日放假调休，共7天。9月29日（星期日）、10月12日（星期六）上班。
",
        statutory_days: 11,
    },
    Notice {
        year: 2025,
        document: "国办发明电〔2024〕12号",
        arrangement: "\
一、元旦：1月1日（周三）放假1天，不调休。
二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
三、清明节：4月4日（周五）至6日（周日）放假，共3天。
四、劳动节：5月1日（周四）至5日（周一）放假调休，共5天。4月27日（周日）上班。
五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。
六、国庆节、中秋节：10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。
",
        statutory_days: 13,
    },
    Notice {
        year: 2026,
        document: "国办发明电〔2025〕7号",
        arrangement: "\
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
",
        statutory_days: 13,
    },
];

/// Working days a year, counted by hand from the notices (Mon–Fri days, less the rest days
/// falling Mon–Fri, plus the weekend days worked): 2023 260−18+7, 2024 262−19+8,
/// 2025 261−18+5, 2026 261−19+6.
const WORKING_DAYS: &[(i32, i64)] = &[(2023, 249), (2024, 251), (2025, 248), (2026, 248)];

/// What one notice line says.
#[derive(Debug)]
struct Holiday {
    name: String,
    rest: Vec<NaiveDate>,
    work: Vec<NaiveDate>,
}

/// A cursor over a notice sentence.
struct Cursor<'a> {
    rest: &'a str,
    context: &'a str,
}

impl<'a> Cursor<'a> {
    fn eat(&mut self, prefix: &str) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn number(&mut self) -> Option<u32> {
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let n = self.rest[..end].parse().unwrap();
        self.rest = &self.rest[end..];
        Some(n)
    }

    /// `[YYYY年][M月]D日[（…、周X）]`, the year and month defaulting to `year` and `month`;
    /// checks the weekday named in parentheses, if any. Returns the date and whether a
    /// weekday was named.
    fn date(&mut self, year: i32, month: Option<u32>) -> (NaiveDate, bool) {
        let mut year = year;
        let mut month = month;
        let mut n = self
            .number()
            .unwrap_or_else(|| panic!("a date expected at `{}` in {}", self.rest, self.context));
        if self.eat("年") {
            year = n as i32;
            n = self.number().unwrap();
        }
        if self.eat("月") {
            month = Some(n);
            n = self.number().unwrap();
        }
        assert!(
            self.eat("日"),
            "`日` expected at `{}` in {}",
            self.rest,
            self.context
        );
        let month = month.unwrap_or_else(|| panic!("no month for day {n} in {}", self.context));
        let date = NaiveDate::from_ymd_opt(year, month, n)
            .unwrap_or_else(|| panic!("no such day {year}-{month}-{n} in {}", self.context));
        let mut named = false;
        if self.eat("（") {
            let end = self.rest.find('）').unwrap();
            let inside = &self.rest[..end];
            self.rest = &self.rest[end + '）'.len_utf8()..];
            for part in inside.split('、') {
                if let Some(weekday) = weekday_named(part) {
                    assert_eq!(
                        date.weekday(),
                        weekday,
                        "{date} is named {part} in {}",
                        self.context
                    );
                    named = true;
                }
            }
        }
        (date, named)
    }
}

/// `星期六`, `星期日`, `星期天`, `周六`, …; None for other words (`农历除夕`).
fn weekday_named(word: &str) -> Option<Weekday> {
    let day = word
        .strip_prefix("星期")
        .or_else(|| word.strip_prefix('周'))?;
    Some(match day {
        "一" => Weekday::Mon,
        "二" => Weekday::Tue,
        "三" => Weekday::Wed,
        "四" => Weekday::Thu,
        "五" => Weekday::Fri,
        "六" => Weekday::Sat,
        "日" | "天" => Weekday::Sun,
        other => panic!("unknown weekday `{other}`"),
    })
}

/// Parses one arrangement line: `N、名称：rest sentence。[work sentence。][鼓励…。]`.
fn parse_line(year: i32, line: &str) -> Holiday {
    let (heading, body) = line.split_once('：').unwrap();
    let (_, name) = heading.split_once('、').unwrap();
    let mut sentences = body.split('。').filter(|s| !s.is_empty());

    // The rest days: `D1[（周X）]至D2[（周X）]放假[调休]，共N天` / `D放假N天，不调休` /
    // `D放假，与周末连休`.
    let first = sentences.next().unwrap();
    let mut cursor = Cursor {
        rest: first,
        context: line,
    };
    let (from, _) = cursor.date(year, None);
    let to = if cursor.eat("至") {
        cursor.date(from.year(), Some(from.month())).0
    } else {
        from
    };
    assert!(cursor.eat("放假"), "`放假` expected in {line}");
    let swapped = cursor.eat("调休");
    let rest: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    let days = if let Some(n) = cursor.number() {
        assert!(cursor.eat("天，不调休"), "{line}");
        Some(n)
    } else if cursor.eat("，共") {
        let n = cursor.number().unwrap();
        assert!(cursor.eat("天"), "{line}");
        Some(n)
    } else {
        assert!(cursor.eat("，与周末连休"), "{line}");
        // One day next to a weekend.
        assert_eq!(rest.len(), 1, "{line}");
        assert!(
            matches!(from.weekday(), Weekday::Mon | Weekday::Fri),
            "{from} is not next to a weekend: {line}"
        );
        None
    };
    assert!(
        cursor.rest.is_empty(),
        "left over `{}` in {line}",
        cursor.rest
    );
    if let Some(n) = days {
        assert_eq!(rest.len(), n as usize, "共{n}天 in {line}");
    }

    // Then the weekend days worked: `D（星期X）、D（星期X）上班`; an encouragement
    // (`鼓励…`) changes no day.
    let mut work = Vec::new();
    for sentence in sentences {
        if sentence.starts_with("鼓励") {
            continue;
        }
        let body = sentence
            .strip_suffix("上班")
            .unwrap_or_else(|| panic!("unknown sentence `{sentence}` in {line}"));
        for part in body.split('、') {
            let mut cursor = Cursor {
                rest: part,
                context: line,
            };
            let (date, named) = cursor.date(year, None);
            assert!(
                cursor.rest.is_empty(),
                "left over `{}` in {line}",
                cursor.rest
            );
            assert!(named, "{date} has no weekday in {line}");
            assert!(
                matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                "{date} is worked but is a {:?}: {line}",
                date.weekday()
            );
            work.push(date);
        }
    }
    // 放假 without 调休: no day is worked in exchange.
    if !swapped {
        assert!(work.is_empty(), "{line}");
    }
    Holiday {
        name: name.to_string(),
        rest,
        work,
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Hotline's time of `date` at `hour:minute`.
fn at(date: NaiveDate, hour: u32, minute: u32) -> i64 {
    date.and_hms_opt(hour, minute, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

fn china() -> Calendar {
    Calendar::china().unwrap()
}

fn days_of(year: i32) -> impl Iterator<Item = NaiveDate> {
    date(year, 1, 1)
        .iter_days()
        .take_while(move |d| d.year() == year)
}

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

#[test]
fn shipped_file_parses() {
    let cal = china();
    assert_eq!(cal.years(), (2023, 2026));
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/calendars/china.calendar"
    ))
    .unwrap();
    assert_eq!(Calendar::parse(&text).unwrap(), cal);
    // Each year is introduced by a comment naming its notice and document number.
    for notice in NOTICES {
        let title = format!(
            "国务院办公厅关于{}年部分节假日安排的通知（{}",
            notice.year, notice.document
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with('#') && l.contains(&title)),
            "no comment `{title}`"
        );
    }
}

#[test]
fn calendar_is_exactly_the_notices() {
    let cal = china();
    let mut all_rest = BTreeSet::new();
    let mut all_work = BTreeSet::new();
    for notice in NOTICES {
        let holidays: Vec<Holiday> = notice
            .arrangement
            .lines()
            .map(|line| parse_line(notice.year, line))
            .collect();
        assert!(holidays.len() >= 6, "{}", notice.year);
        for holiday in &holidays {
            for &d in &holiday.rest {
                assert!(all_rest.insert(d), "{d} twice ({})", holiday.name);
            }
            for &d in &holiday.work {
                assert!(all_work.insert(d), "{d} twice ({})", holiday.name);
            }
        }
    }
    assert!(all_rest.is_disjoint(&all_work));

    // 元旦 2023 started on 2022-12-31, outside the calendar.
    assert!(all_rest.contains(&date(2022, 12, 31)));
    assert_eq!(cal.is_workday(date(2022, 12, 31)), None);

    for year in 2023..=2026 {
        for d in days_of(year) {
            let expected = if all_work.contains(&d) {
                true
            } else if all_rest.contains(&d) {
                false
            } else {
                !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            };
            assert_eq!(cal.is_workday(d), Some(expected), "{d} ({:?})", d.weekday());
        }
    }
    // The file lists the notices' whole ranges and nothing else.
    let inside = |d: &&NaiveDate| d.year() >= 2023;
    assert_eq!(
        cal.holidays(),
        all_rest.iter().filter(inside).copied().collect::<Vec<_>>()
    );
    assert_eq!(
        cal.workdays(),
        all_work.iter().filter(inside).copied().collect::<Vec<_>>()
    );
}

#[test]
fn working_days_per_year() {
    let cal = china();
    for &(year, expected) in WORKING_DAYS {
        let counted = days_of(year)
            .filter(|d| cal.is_workday(*d) == Some(true))
            .count() as i64;
        assert_eq!(counted, expected, "{year}");
        let seconds = cal
            .working_seconds(at(date(year, 1, 1), 0, 0), at(date(year + 1, 1, 1), 0, 0))
            .unwrap();
        assert_eq!(seconds, expected * DAY, "{year}");
        // The law: each statutory holiday replaces a working day (one falling on a weekend
        // is made up on a working day), and 调休 only swaps days.
        let notice = NOTICES.iter().find(|n| n.year == year).unwrap();
        let weekdays = days_of(year)
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
            .count() as i64;
        assert_eq!(expected, weekdays - notice.statutory_days, "{year}");
    }
    let whole = cal
        .working_seconds(at(date(2023, 1, 1), 0, 0), at(date(2027, 1, 1), 0, 0))
        .unwrap();
    assert_eq!(whole, (249 + 251 + 248 + 248) * DAY);
}

#[test]
fn working_seconds_over_a_weekend() {
    let cal = china();
    // 2023-03-04 is a Saturday, 2023-03-06 a Monday: an ordinary weekend.
    assert_eq!(
        cal.working_seconds(at(date(2023, 3, 4), 0, 0), at(date(2023, 3, 6), 0, 0)),
        Ok(0)
    );
    assert_eq!(
        cal.working_seconds(at(date(2023, 3, 4), 9, 0), at(date(2023, 3, 5), 18, 0)),
        Ok(0)
    );
    // Friday 17:00 → Monday 17:00: 7 h of Friday and 17 h of Monday.
    assert_eq!(
        cal.working_seconds(at(date(2023, 3, 3), 17, 0), at(date(2023, 3, 6), 17, 0)),
        Ok(DAY)
    );
    // Within one working day.
    assert_eq!(
        cal.working_seconds(at(date(2023, 3, 7), 8, 30), at(date(2023, 3, 7), 17, 45)),
        Ok(9 * HOUR + 15 * 60)
    );
    // Backwards: the same measure, negated.
    assert_eq!(
        cal.working_seconds(at(date(2023, 3, 6), 17, 0), at(date(2023, 3, 3), 17, 0)),
        Ok(-DAY)
    );
    assert_eq!(
        cal.working_seconds(at(date(2023, 3, 6), 17, 0), at(date(2023, 3, 6), 17, 0)),
        Ok(0)
    );
}

#[test]
fn working_seconds_across_spring_festival() {
    let cal = china();
    // 2023: Friday 1-20 09:00 → Monday 1-30 09:00. 1-21..27 rest; Saturday 1-28 and Sunday
    // 1-29 worked: 15 h + 24 h + 24 h + 9 h.
    assert_eq!(
        cal.working_seconds(at(date(2023, 1, 20), 9, 0), at(date(2023, 1, 30), 9, 0)),
        Ok(72 * HOUR)
    );
    // The 调休 Saturday alone is a whole working day.
    assert_eq!(
        cal.working_seconds(at(date(2023, 1, 28), 0, 0), at(date(2023, 1, 29), 0, 0)),
        Ok(DAY)
    );
    // A weekday inside the holiday counts nothing.
    assert_eq!(
        cal.working_seconds(at(date(2023, 1, 25), 8, 0), at(date(2023, 1, 25), 20, 0)),
        Ok(0)
    );
    // 2026: Friday 2-13 → Monday 3-2. Worked: 2-13, Saturday 2-14, 2-24..27, Saturday 2-28.
    assert_eq!(
        cal.working_seconds(at(date(2026, 2, 13), 0, 0), at(date(2026, 3, 2), 0, 0)),
        Ok(7 * DAY)
    );
}

#[test]
fn working_seconds_across_years() {
    let cal = china();
    // Friday 2023-12-29 12:00 → Tuesday 2024-01-02 12:00; Monday 1-1 is 元旦.
    assert_eq!(
        cal.working_seconds(at(date(2023, 12, 29), 12, 0), at(date(2024, 1, 2), 12, 0)),
        Ok(DAY)
    );
    // Wednesday 2025-12-31 → Monday 2026-01-05: 12-31 worked, 1-1..3 rest, Sunday 1-4 worked.
    assert_eq!(
        cal.working_seconds(at(date(2025, 12, 31), 0, 0), at(date(2026, 1, 5), 0, 0)),
        Ok(2 * DAY)
    );
    // Up to midnight after the last covered day.
    assert_eq!(
        cal.working_seconds(at(date(2026, 12, 31), 0, 0), at(date(2027, 1, 1), 0, 0)),
        Ok(DAY)
    );
}

#[test]
fn dates_outside_the_years() {
    let cal = china();
    assert_eq!(cal.is_workday(date(2022, 12, 30)), None);
    assert_eq!(cal.is_workday(date(2027, 1, 4)), None);
    assert_eq!(cal.is_workday(date(2023, 1, 1)), Some(false));
    assert_eq!(cal.is_workday(date(2026, 12, 31)), Some(true));
    assert_eq!(
        cal.working_seconds(at(date(2022, 12, 30), 9, 0), at(date(2023, 1, 3), 9, 0)),
        Err(date(2022, 12, 30))
    );
    assert_eq!(
        cal.working_seconds(at(date(2026, 12, 31), 9, 0), at(date(2027, 1, 1), 0, 1)),
        Err(date(2027, 1, 1))
    );
    assert_eq!(
        cal.working_seconds(at(date(2027, 3, 1), 9, 0), at(date(2026, 3, 1), 9, 0)),
        Err(date(2027, 1, 1))
    );
    assert_eq!(
        cal.working_seconds(at(date(2030, 3, 1), 9, 0), at(date(2030, 3, 2), 9, 0)),
        Err(date(2030, 3, 1))
    );
}

/// The errors of `text`, as (line, message).
fn errors(text: &str) -> Vec<(usize, String)> {
    Calendar::parse(text)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.line, e.message))
        .collect()
}

/// `text` fails with exactly one error, on `line`, whose message contains `part`.
fn fails(text: &str, line: usize, part: &str) {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{text:?}: {errors:?}");
    assert_eq!(errors[0].0, line, "{text:?}: {errors:?}");
    assert!(errors[0].1.contains(part), "{text:?}: {errors:?}");
}

#[test]
fn parse_error_kinds() {
    fails(
        "years 2023\n# note\nholidy 2023-01-02\n",
        3,
        "unknown directive `holidy`: expected `years`, `holiday` or `workday`",
    );
    fails(
        "years 2023\nholiday 2023-02-30 春节\n",
        2,
        "bad date `2023-02-30`: no such day",
    );
    fails(
        "years 2023\nholiday 2023/01/02\n",
        2,
        "bad date `2023/01/02`: expected yyyy-mm-dd",
    );
    fails("years 2023\nholiday\n", 2, "`holiday` needs a date");
    fails(
        "years 2023\nholiday 2023-01-02 ..\n",
        2,
        "needs an end date",
    );
    fails(
        "years 2023\nholiday 2023-05-03 .. 2023-05-01\n",
        2,
        "the range `2023-05-03 .. 2023-05-01` ends before it starts",
    );
    fails(
        "years 2023\nholiday 2022-12-31 .. 2023-01-02 元旦\n",
        2,
        "`2022-12-31` is outside the years `2023`",
    );
    fails(
        "years 2023 .. 2024\n\nholiday 2025-01-01\n",
        3,
        "`2025-01-01` is outside the years `2023 .. 2024`",
    );
    fails(
        "years 2023\nholiday 2023-05-01\nholiday 2023-04-29 .. 2023-05-03\n",
        3,
        "`2023-05-01` is already listed as a holiday on line 2",
    );
    fails(
        "years 2023\nholiday 2023-01-21 .. 2023-01-28\nworkday 2023-01-28\n",
        3,
        "`2023-01-28` is already listed as a holiday on line 2",
    );
    fails(
        "years 2023\nworkday 2023-01-28\nholiday 2023-01-28\n",
        3,
        "`2023-01-28` is already listed as a workday on line 2",
    );
    fails(
        "years 2023\nworkday 2023-01-30 调休\n",
        2,
        "`2023-01-30` is a monday: `workday` lists saturdays and sundays",
    );
    fails("holiday 2023-01-02\n", 1, "missing `years`");
    assert_eq!(
        errors("holiday 2023-01-02\nholiday 2023-01-02\n"),
        vec![
            (1, "missing `years`: a calendar starts with the years it covers, e.g. `years 2023 .. 2026`".to_string()),
            (2, "`2023-01-02` is already listed as a holiday on line 1".to_string()),
        ]
    );
    fails(
        "years 2026\nholiday 2026-12-30 .. 2027-01-02\n",
        2,
        "`2027-01-01` is outside the years `2026`",
    );
    assert!(Calendar::parse("\u{feff}years 2023\r\nholiday 2023-01-02\r\n").is_ok());
    fails("", 1, "missing `years`");
    fails(
        "years 2023\nholiday 2023-01-02\nyears 2024\n",
        3,
        "duplicate `years` (first on line 1)",
    );
    fails(
        "# c\nholiday 2023-01-02\nyears 2023\n",
        3,
        "`years` must come before the `holiday` and `workday` lines (the first is on line 2)",
    );
    fails(
        "years 2026 .. 2023\n",
        1,
        "`years 2026 .. 2023`: the end is before the start",
    );
    fails("years 23\n", 1, "bad year `23`");
    // Without a usable `years` line the other problems are still found, in line order.
    let got = errors("workday 2023-01-30\nyears 2023 2024\nnonsense\n");
    let lines: Vec<usize> = got.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, vec![1, 2, 2, 3], "{got:?}");
}

#[test]
fn every_problem_is_reported() {
    let text = "\
# several mistakes
years 2023 .. 2024
holiday 2023-01-02          元旦
holiday 2023-01-02          元旦 again
workday 2023-01-30
feast 2023-02-01
holiday 2023-13-01
years 2024
holiday 2026-01-01
";
    let got = errors(text);
    let lines: Vec<usize> = got.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 8, 9], "{got:?}");
    let error = Calendar::parse(text).unwrap_err().remove(0);
    assert_eq!(
        error.to_string(),
        "line 4: `2023-01-02` is already listed as a holiday on line 3"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(error.clone());
    assert_eq!(boxed.to_string(), error.to_string());
    let _: &CalendarError = &error;
}
