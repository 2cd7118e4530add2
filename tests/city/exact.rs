//! Every figure of `policies/city-monthly.policy`, computed from the month's CSV files with
//! exact rationals (`BigRational`), by the scheme's rules as written in the brief and the
//! policy's header: no hotline code, no floating point.

use super::calendar::{days_from_civil, parse_datetime, Calendar, DAY};
use super::GROUPS;
use num_traits::Zero;
use std::collections::HashMap;
use std::path::Path;

#[path = "../common/rational.rs"]
mod rational;
pub use rational::*;

fn clamp(x: Q, lo: i64, hi: i64) -> Q {
    x.max(int(lo)).min(int(hi))
}

/// A ticket as read from tickets.csv.
pub struct Ticket {
    pub unit: String,
    pub dispatched: i64,
    pub signed: Option<i64>,
    pub deadline: i64,
    pub done: Option<i64>,
    pub visit: Option<String>,
    pub solved: Option<String>,
}

/// The month's three files.
pub struct Data {
    pub tickets: Vec<Ticket>,
    /// The unit of each irregular.csv row.
    pub irregular: Vec<String>,
    /// Each bonus.csv row: unit, points.
    pub bonus: Vec<(String, Q)>,
}

fn rows(path: &Path, header: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header), "{}", path.display());
    lines
        .map(|l| {
            assert!(!l.contains('"'), "the generator writes no quotes");
            l.split(',').map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Reads a month folder.
pub fn read(folder: &Path) -> Data {
    let tickets = rows(
        &folder.join("tickets.csv"),
        "工单编号,承办单位,派单时间,签收时间,办理时限,办结时间,回访结果,解决情况",
    )
    .into_iter()
    .map(|r| {
        assert_eq!(r.len(), 8);
        Ticket {
            unit: r[1].clone(),
            dispatched: parse_datetime(&r[2]),
            signed: opt(&r[3]).map(|s| parse_datetime(&s)),
            deadline: parse_datetime(&r[4]),
            done: opt(&r[5]).map(|s| parse_datetime(&s)),
            visit: opt(&r[6]),
            solved: opt(&r[7]),
        }
    })
    .collect();
    let irregular = rows(&folder.join("irregular.csv"), "工单编号,承办单位,问题")
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    let bonus = rows(&folder.join("bonus.csv"), "承办单位,加分,事由")
        .into_iter()
        .map(|r| (r[0].clone(), parse_decimal(&r[1])))
        .collect();
    Data {
        tickets,
        irregular,
        bonus,
    }
}

/// One unit's figures; the `Option`s are empty for a unit without tickets.
#[derive(Clone, Debug)]
pub struct Unit {
    pub group: &'static str,
    pub name: &'static str,
    pub count: i64,
    pub sign_rate: Option<Q>,
    pub sign_score: Option<Q>,
    pub done_rate: Option<Q>,
    pub done_score: Option<Q>,
    pub sat_rate: Option<Q>,
    pub sat_score: Option<Q>,
    pub solve_rate: Option<Q>,
    pub solve_score: Option<Q>,
    pub norm_score: Option<Q>,
    pub bonus: Option<Q>,
    pub total: Option<Q>,
    pub grade: Option<&'static str>,
    /// Shared rank within the group by the total rounded to 2 decimals, descending.
    pub rank: Option<i64>,
    /// The same, ascending.
    pub rank_asc: Option<i64>,
    /// Another scored unit of the group has the same rounded total.
    pub tied: Option<bool>,
    pub red: bool,
    pub black: bool,
    /// The base total before the 100 cap exceeded 100.
    pub capped: bool,
    /// Counts behind the figures, for the summary.
    pub on_time_signs: i64,
    pub due: i64,
}

/// The city-wide figures.
#[derive(Debug)]
pub struct Overall {
    pub tickets: i64,
    pub scored: i64,
    /// 优秀, 良好, 合格, 不合格.
    pub grades: [i64; 4],
    pub mean_sign: Option<Q>,
    pub mean_done: Option<Q>,
    pub mean_sat: Option<Q>,
    pub mean_solve: Option<Q>,
    pub mean_total: Option<Q>,
    /// Scored units per group, in group order.
    pub scored_per_group: Vec<i64>,
}

pub const GRADES: [&str; 4] = ["优秀", "良好", "合格", "不合格"];

fn grade(total: &Q) -> &'static str {
    if *total >= int(90) {
        "优秀"
    } else if *total >= int(80) {
        "良好"
    } else if *total >= int(60) {
        "合格"
    } else {
        "不合格"
    }
}

fn mean(values: impl Iterator<Item = Q>) -> Option<Q> {
    let v: Vec<Q> = values.collect();
    if v.is_empty() {
        return None;
    }
    let n = int(v.len() as i64);
    Some(v.into_iter().fold(Q::zero(), |a, b| a + b) / n)
}

/// Every figure of the month `year-month` from `data`.
pub fn compute(data: &Data, cal: &Calendar, year: i64, month: i64) -> (Vec<Unit>, Overall) {
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    let month_end = next - 1;
    let mut by_unit: HashMap<&str, Vec<&Ticket>> = HashMap::new();
    for t in &data.tickets {
        by_unit.entry(t.unit.as_str()).or_default().push(t);
    }
    let known: Vec<&str> = GROUPS.iter().flat_map(|(_, u)| u.iter().copied()).collect();
    let named = by_unit.keys().copied();
    let named = named.chain(data.irregular.iter().map(String::as_str));
    for u in named.chain(data.bonus.iter().map(|(u, _)| u.as_str())) {
        assert!(known.contains(&u), "unknown unit {u}");
    }

    let mut units = Vec::new();
    for &(group, names) in GROUPS {
        for &name in names {
            let tickets = by_unit.get(name).cloned().unwrap_or_default();
            let n = tickets.len() as i64;
            let mut u = Unit {
                group,
                name,
                count: n,
                sign_rate: None,
                sign_score: None,
                done_rate: None,
                done_score: None,
                sat_rate: None,
                sat_score: None,
                solve_rate: None,
                solve_score: None,
                norm_score: None,
                bonus: None,
                total: None,
                grade: None,
                rank: None,
                rank_asc: None,
                tied: None,
                red: false,
                black: false,
                capped: false,
                on_time_signs: 0,
                due: 0,
            };
            if n == 0 {
                units.push(u);
                continue;
            }
            // 及时签收率: signed, and at most 1 working day (86,400 s on working days) after.
            let on_time = tickets
                .iter()
                .filter(|t| match t.signed {
                    Some(s) => frac(cal.working_seconds(t.dispatched, s), DAY) <= int(1),
                    None => false,
                })
                .count() as i64;
            let sign_rate = frac(100 * on_time, n);
            u.on_time_signs = on_time;
            u.sign_score = Some(clamp(sign_rate.clone() - int(85), 0, 10));
            u.sign_rate = Some(sign_rate);

            // 按时办结率: among tickets whose deadline's day is at most the month's last day.
            let due: Vec<&&Ticket> = tickets
                .iter()
                .filter(|t| t.deadline.div_euclid(DAY) <= month_end)
                .collect();
            let done_on_time = due
                .iter()
                .filter(|t| matches!(t.done, Some(d) if d <= t.deadline))
                .count() as i64;
            u.due = due.len() as i64;
            let done_rate = if due.is_empty() {
                int(100)
            } else {
                frac(100 * done_on_time, due.len() as i64)
            };
            u.done_score = Some(clamp(done_rate.clone() - int(75), 0, 20));
            u.done_rate = Some(done_rate);

            // 满意率: 满意 100, 基本满意 80, 不满意 0; 100 when no visit.
            let visits: Vec<Q> = tickets
                .iter()
                .filter_map(|t| t.visit.as_deref())
                .map(|v| match v {
                    "满意" => int(100),
                    "基本满意" => int(80),
                    "不满意" => int(0),
                    other => panic!("bad 回访结果 {other}"),
                })
                .collect();
            let sat_rate = mean(visits.into_iter()).unwrap_or_else(|| int(100));
            u.sat_score = Some(if sat_rate <= int(73) {
                frac(25, 2)
            } else if sat_rate >= int(98) {
                int(25)
            } else {
                frac(25, 2) + (sat_rate.clone() - int(73)) / int(2)
            });
            u.sat_rate = Some(sat_rate);

            // 解决率: 已解决 among tickets with a 解决情况; 100 when none. 35% of it in points.
            let with: Vec<&str> = tickets.iter().filter_map(|t| t.solved.as_deref()).collect();
            let solved = with.iter().filter(|s| **s == "已解决").count() as i64;
            let solve_rate = if with.is_empty() {
                int(100)
            } else {
                frac(100 * solved, with.len() as i64)
            };
            u.solve_score = Some(solve_rate.clone() * frac(35, 100));
            u.solve_rate = Some(solve_rate);

            let irregular = data.irregular.iter().filter(|x| *x == name).count() as i64;
            u.norm_score = Some(int((10 - irregular).max(0)));
            let bonus: Q = data
                .bonus
                .iter()
                .filter(|(x, _)| x == name)
                .fold(Q::zero(), |a, (_, b)| a + b);
            u.bonus = Some(bonus.min(int(3)));

            let base = [
                &u.sign_score,
                &u.done_score,
                &u.sat_score,
                &u.solve_score,
                &u.norm_score,
                &u.bonus,
            ]
            .iter()
            .fold(Q::zero(), |a, b| a + b.as_ref().unwrap());
            u.capped = base > int(100);
            let total = base.min(int(100));
            u.grade = Some(grade(&total));
            u.total = Some(total);
            units.push(u);
        }
    }

    // Ranks within each group by the total rounded to 2 decimals; ties share a rank.
    let mut scored_per_group = Vec::new();
    for &(group, _) in GROUPS {
        let rounded: Vec<(usize, Q)> = units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.group == group && u.total.is_some())
            .map(|(i, u)| (i, round_half_up(u.total.as_ref().unwrap(), 2)))
            .collect();
        let scored = rounded.len();
        scored_per_group.push(scored as i64);
        for (i, r) in &rounded {
            let higher = rounded.iter().filter(|(_, s)| s > r).count() as i64;
            let lower = rounded.iter().filter(|(_, s)| s < r).count() as i64;
            let equal = rounded.iter().filter(|(_, s)| s == r).count();
            let u = &mut units[*i];
            u.rank = Some(higher + 1);
            u.rank_asc = Some(lower + 1);
            u.tied = Some(equal > 1);
            u.red = u.rank <= Some(3);
            u.black = scored > 3 && u.rank_asc <= Some(3);
        }
    }

    let scored: Vec<&Unit> = units.iter().filter(|u| u.total.is_some()).collect();
    let mut grades = [0; 4];
    for u in &scored {
        grades[GRADES.iter().position(|g| Some(*g) == u.grade).unwrap()] += 1;
    }
    let overall = Overall {
        tickets: data.tickets.len() as i64,
        scored: scored.len() as i64,
        grades,
        mean_sign: mean(scored.iter().map(|u| u.sign_rate.clone().unwrap())),
        mean_done: mean(scored.iter().map(|u| u.done_rate.clone().unwrap())),
        mean_sat: mean(scored.iter().map(|u| u.sat_rate.clone().unwrap())),
        mean_solve: mean(scored.iter().map(|u| u.solve_rate.clone().unwrap())),
        mean_total: mean(scored.iter().map(|u| u.total.clone().unwrap())),
        scored_per_group,
    };
    (units, overall)
}
