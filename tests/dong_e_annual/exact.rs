//! The Dong'e rules computed from the generated files with exact rationals (`BigRational`),
//! as `policies/dong-e-monthly.policy` and `policies/dong-e-annual.policy` state them and the
//! README defines the aggregates: no hotline code, no floating point (the workbook's numbers
//! are read as the shortest decimal text of the stored double, as Excel shows them).
//!
//! Per month and unit (派单 rows only, old names resolved):
//! - 承办量 = the unit's rows;
//! - 响应率 = share(签收时间 − 派单时间 ≤ 2h): every row counts, an empty 签收时间 does not
//!   hold; 100% for a unit without rows (`default 100%`);
//! - 按时办理率 = share(办结时间 ≤ 办理时限), the same way;
//! - 解决率 = mean of 已解决 100 / 基本解决 80 / 未解决 0 over the rows with an answer,
//!   100% when there is none;
//! - 综合满意率 = mean of 满意度评分 over the rows with a score, 100% when there is none;
//! - 质效考核得分 = the sum of the unit's deductions (0 without any);
//! - 总得分 = 5% 响应率 + 5% 按时办理率 + 40% 解决率 + 50% 综合满意率 + 质效考核得分, exact;
//! - 规模 = 大 (≥ 100), 中 (10 ..< 100), 小 (1 ..< 10), none for 0;
//! - 月度得分 = round(总得分, 2) half up where 承办量 > 0, else empty;
//! - 镇街排名 / 县直排名 (monthly policy): by round(总得分, 2) desc, 承办量 asc, registry
//!   order; 1, 2, 3, …; 县直 within 规模;
//! - 镇街倒数 / 县直倒数 (annual policy): round(总得分, 2) asc, ties shared: 1 + the ranked
//!   units of the partition with a strictly lower rounded score; 县直 within 规模.
//!
//! Over a period (the months with data): see [`period`].

use super::{registry, resolve, Ym, DEPARTMENT, TOWN};
use num_traits::Zero;
use std::collections::HashMap;
use std::path::Path;

#[path = "../common/rational.rs"]
mod rational;
pub use rational::*;

/// A `datetime` cell (`%Y-%m-%d %H:%M:%S`) in seconds.
pub fn parse_time(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("bad date-time {s:?}: {e}"))
        .and_utc()
        .timestamp()
}

/// A row of tickets.csv, as the rules read it.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub dispatched_row: bool,
    /// The unit, old names resolved (None for an empty cell).
    pub unit: Option<String>,
    pub dispatched: Option<i64>,
    pub signed: Option<i64>,
    pub deadline: Option<i64>,
    pub done: Option<i64>,
    pub solve: Option<String>,
    pub sat: Option<Q>,
}

/// One month's files.
pub struct MonthData {
    pub ym: Ym,
    pub tickets: Vec<Ticket>,
    /// (unit resolved, points).
    pub deductions: Vec<(String, Q)>,
}

/// The header of the Dong'e ticket export, in its order.
pub const TICKET_HEADERS: [&str; 18] = [
    "工单编号",
    "受理时间",
    "来源",
    "诉求类型",
    "一级分类",
    "二级分类",
    "三级分类",
    "涉及对象",
    "办理方式",
    "承办单位",
    "派单时间",
    "签收时间",
    "办理时限",
    "办结时间",
    "回访解决情况",
    "满意度评分",
    "市级重办",
    "诉求内容",
];

fn known_unit(name: &str) -> String {
    let u = resolve(name);
    assert!(
        registry().iter().any(|(_, r)| *r == u),
        "unknown unit {name:?}"
    );
    u.to_string()
}

/// Reads `folder` (one month): tickets.csv (UTF-8) and deductions.xlsx (sheet 质效考核).
pub fn read_month(folder: &Path, ym: Ym) -> MonthData {
    let mut r = csv::ReaderBuilder::new()
        .from_path(folder.join("tickets.csv"))
        .unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(headers, TICKET_HEADERS, "tickets.csv headers");
    let col = |name: &str| TICKET_HEADERS.iter().position(|h| *h == name).unwrap();
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut tickets = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let get = |name: &str| rec.get(col(name)).unwrap();
        let how = get("办理方式");
        assert!(how == "派单" || how == "直办", "办理方式 {how}");
        tickets.push(Ticket {
            dispatched_row: how == "派单",
            unit: opt(get("承办单位")).map(|u| known_unit(&u)),
            dispatched: opt(get("派单时间")).map(|s| parse_time(&s)),
            signed: opt(get("签收时间")).map(|s| parse_time(&s)),
            deadline: opt(get("办理时限")).map(|s| parse_time(&s)),
            done: opt(get("办结时间")).map(|s| parse_time(&s)),
            solve: opt(get("回访解决情况")),
            sat: opt(get("满意度评分")).map(|s| parse_decimal(&s)),
        });
    }

    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut book: Xlsx<_> = open_workbook(folder.join("deductions.xlsx")).unwrap();
    let range = book.worksheet_range("质效考核").unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header, ["单位", "扣分事项", "扣分"]);
    let deductions = rows
        .map(|row| {
            let unit = match &row[0] {
                Data::String(s) => known_unit(s),
                other => panic!("单位 {other:?}"),
            };
            let points = match &row[2] {
                // The shortest text that reads back as the stored double.
                Data::Float(f) => parse_decimal(&format!("{f}")),
                Data::Int(i) => int(*i),
                other => panic!("扣分 {other:?}"),
            };
            (unit, points)
        })
        .collect();
    MonthData {
        ym,
        tickets,
        deductions,
    }
}

/// One unit's figures of a month.
#[derive(Clone, Debug)]
pub struct UnitMonth {
    pub group: &'static str,
    pub name: &'static str,
    pub count: i64,
    pub resp: Q,
    pub ontime: Q,
    pub solve: Q,
    pub sat: Q,
    pub deduction: Q,
    pub total: Q,
    pub band: Option<&'static str>,
    /// 月度得分: round(总得分, 2) where 承办量 > 0.
    pub score: Option<Q>,
    /// 镇街排名 / 县直排名 of the monthly policy.
    pub rank: Option<i64>,
    /// 镇街倒数 / 县直倒数 of the annual policy.
    pub bottom: Option<i64>,
}

impl UnitMonth {
    /// The quotients behind 总得分 (a total is held exactly by hotline only when they are
    /// finite decimals).
    pub fn rates(&self) -> [&Q; 4] {
        [&self.resp, &self.ontime, &self.solve, &self.sat]
    }
}

/// A month's figures.
#[derive(Clone, Debug)]
pub struct Month {
    pub ym: Ym,
    /// 收件总量: every row; 派单总量: the 派单 rows.
    pub tickets: i64,
    pub dispatched: i64,
    pub units: Vec<UnitMonth>,
}

fn mean(values: &[Q]) -> Option<Q> {
    if values.is_empty() {
        return None;
    }
    let n = int(values.len() as i64);
    Some(values.iter().fold(Q::zero(), |a, b| a + b) / n)
}

pub fn band(count: i64) -> Option<&'static str> {
    match count {
        100.. => Some("大"),
        10..=99 => Some("中"),
        1..=9 => Some("小"),
        _ => None,
    }
}

/// Every figure of a month.
pub fn compute_month(data: &MonthData) -> Month {
    let mut by_unit: HashMap<&str, Vec<&Ticket>> = HashMap::new();
    for t in data.tickets.iter().filter(|t| t.dispatched_row) {
        let u = t.unit.as_deref().expect("a 派单 row without 承办单位");
        by_unit.entry(u).or_default().push(t);
    }
    let hundred = int(100);
    let share = |rows: &[&Ticket], f: &dyn Fn(&Ticket) -> bool| -> Q {
        if rows.is_empty() {
            return hundred.clone(); // default 100%
        }
        let hits = rows.iter().filter(|t| f(t)).count() as i64;
        frac(100 * hits, rows.len() as i64)
    };
    let mut units = Vec::new();
    for (group, name) in registry() {
        let rows = by_unit.get(name).cloned().unwrap_or_default();
        let count = rows.len() as i64;
        let resp = share(&rows, &|t| match (t.signed, t.dispatched) {
            (Some(s), Some(d)) => s - d <= 7200,
            _ => false,
        });
        let ontime = share(&rows, &|t| match (t.done, t.deadline) {
            (Some(a), Some(b)) => a <= b,
            _ => false,
        });
        let answers: Vec<Q> = rows
            .iter()
            .filter_map(|t| t.solve.as_deref())
            .map(|s| match s {
                "已解决" => int(100),
                "基本解决" => int(80),
                "未解决" => int(0),
                other => panic!("回访解决情况 {other}"),
            })
            .collect();
        let solve = mean(&answers).unwrap_or_else(|| hundred.clone());
        let scores: Vec<Q> = rows.iter().filter_map(|t| t.sat.clone()).collect();
        let sat = mean(&scores).unwrap_or_else(|| hundred.clone());
        let deduction = data
            .deductions
            .iter()
            .filter(|(u, _)| u == name)
            .fold(Q::zero(), |a, (_, p)| a + p);
        let total = frac(5, 100) * &resp
            + frac(5, 100) * &ontime
            + frac(40, 100) * &solve
            + frac(50, 100) * &sat
            + &deduction;
        let score = (count > 0).then(|| round_half_up(&total, 2));
        units.push(UnitMonth {
            group,
            name,
            count,
            resp,
            ontime,
            solve,
            sat,
            deduction,
            total,
            band: band(count),
            score,
            rank: None,
            bottom: None,
        });
    }

    // Rankings: the units of a group with tickets; 县直 partitioned by 规模.
    for group in [TOWN, DEPARTMENT] {
        let members: Vec<usize> = (0..units.len())
            .filter(|&i| units[i].group == group && units[i].count > 0)
            .collect();
        let partition = |i: usize| {
            if group == DEPARTMENT {
                units[i].band
            } else {
                None
            }
        };
        let keys: Vec<(usize, Option<&str>, Q, i64)> = members
            .iter()
            .map(|&i| {
                (
                    i,
                    partition(i),
                    units[i].score.clone().unwrap(),
                    units[i].count,
                )
            })
            .collect();
        for (i, part, score, count) in &keys {
            let same: Vec<&(usize, Option<&str>, Q, i64)> =
                keys.iter().filter(|k| k.1 == *part).collect();
            // Ordered: higher rounded score first, then fewer tickets, then registry order.
            let before = same
                .iter()
                .filter(|(j, _, s, c)| {
                    s > score || (s == score && (c < count || (c == count && j < i)))
                })
                .count() as i64;
            let lower = same.iter().filter(|(_, _, s, _)| s < score).count() as i64;
            units[*i].rank = Some(before + 1);
            units[*i].bottom = Some(lower + 1);
        }
    }

    Month {
        ym: data.ym,
        tickets: data.tickets.len() as i64,
        dispatched: data.tickets.iter().filter(|t| t.dispatched_row).count() as i64,
        units,
    }
}

/// One unit's figures over a period.
#[derive(Clone, Debug)]
pub struct UnitPeriod {
    pub group: &'static str,
    pub name: &'static str,
    /// 承办量 of the period: the 派单 rows of all its months.
    pub count: i64,
    /// 考核月数: months with 承办量 > 0.
    pub months: i64,
    /// 月均得分: the mean of 月度得分 over the months where it is not empty.
    pub mean: Option<Q>,
    /// 最低月度得分.
    pub min: Option<Q>,
    /// 镇街后三位月数 / 县直后三位月数: months with 镇街倒数 ≤ 3 / 县直倒数 ≤ 3.
    pub town_bottom: i64,
    pub dept_bottom: i64,
    /// 镇街年度排名 / 县直年度排名: among the group's units with 考核月数 > 0, by
    /// round(月均得分, 2) desc, the period's 承办量 asc, registry order.
    pub rank: Option<i64>,
}

/// The period's figures.
#[derive(Clone, Debug)]
pub struct Period {
    pub units: Vec<UnitPeriod>,
    /// 收件总量, 派单总量: every row / the 派单 rows of the period's months.
    pub tickets: i64,
    pub dispatched: i64,
    /// 去年同期收件总量: every row of `last_year`'s months.
    pub last_year_tickets: i64,
    /// 月均收件量: the mean over the period's months of each month's 收件总量.
    pub mean_tickets: Option<Q>,
}

/// The figures of a period evaluated over `months` (the period's months with data), with
/// `last_year` the months of the same period a year earlier.
pub fn period(months: &[&Month], last_year: &[&Month]) -> Period {
    let mut units = Vec::new();
    for (k, (group, name)) in registry().into_iter().enumerate() {
        let of = |m: &&Month| {
            let u = &m.units[k];
            assert_eq!(u.name, name);
            u.clone()
        };
        let ms: Vec<UnitMonth> = months.iter().map(of).collect();
        let scores: Vec<Q> = ms.iter().filter_map(|u| u.score.clone()).collect();
        let bottom = |g: &str| {
            ms.iter()
                .filter(|u| u.group == g && u.bottom.is_some_and(|b| b <= 3))
                .count() as i64
        };
        units.push(UnitPeriod {
            group,
            name,
            count: ms.iter().map(|u| u.count).sum(),
            months: ms.iter().filter(|u| u.count > 0).count() as i64,
            mean: mean(&scores),
            min: scores.iter().min().cloned(),
            town_bottom: bottom(TOWN),
            dept_bottom: bottom(DEPARTMENT),
            rank: None,
        });
    }
    for group in [TOWN, DEPARTMENT] {
        let keys: Vec<(usize, Q, i64)> = (0..units.len())
            .filter(|&i| units[i].group == group && units[i].months > 0)
            .map(|i| {
                (
                    i,
                    round_half_up(units[i].mean.as_ref().unwrap(), 2),
                    units[i].count,
                )
            })
            .collect();
        for (i, mean, count) in &keys {
            let before = keys
                .iter()
                .filter(|(j, m, c)| m > mean || (m == mean && (c < count || (c == count && j < i))))
                .count() as i64;
            units[*i].rank = Some(before + 1);
        }
    }
    let per_month: Vec<Q> = months.iter().map(|m| int(m.tickets)).collect();
    Period {
        units,
        tickets: months.iter().map(|m| m.tickets).sum(),
        dispatched: months.iter().map(|m| m.dispatched).sum(),
        last_year_tickets: last_year.iter().map(|m| m.tickets).sum(),
        mean_tickets: mean(&per_month),
    }
}
