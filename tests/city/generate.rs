//! A deterministic month of data for `policies/city-monthly.policy`: tickets, irregular
//! handling records and bonus points, with the edge cases the scheme's rules turn on.

use super::calendar::{days_from_civil, format_datetime, weekday, Calendar, DAY};
use super::{Rng, GROUPS};
use std::fmt::Write as _;
use std::path::Path;

/// What a unit's month is made of: counts of tickets in each state. The tickets' times are
/// drawn at random around these states.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Signed within 1 working day, later, never.
    pub sign: [u32; 3],
    /// Due in the month and finished on time, finished late, not finished; not due in the
    /// month and finished, not finished.
    pub done: [u32; 5],
    /// Visits: 满意, 基本满意, 不满意 (among finished tickets).
    pub visit: [u32; 3],
    /// 解决情况: 已解决, 未解决 (among finished tickets).
    pub solved: [u32; 2],
    /// Rows in irregular.csv.
    pub irregular: u32,
    /// Rows in bonus.csv.
    pub bonus: Vec<&'static str>,
    /// Whether the unit also takes the month's calendar edge tickets (signing around
    /// weekends, holidays and make-up working days).
    pub specials: bool,
}

impl Profile {
    pub fn tickets(&self) -> u32 {
        self.sign.iter().sum()
    }

    fn finished(&self) -> u32 {
        self.done[0] + self.done[1] + self.done[3]
    }

    fn check(&self, role: &str) {
        assert_eq!(
            self.tickets(),
            self.done.iter().sum::<u32>(),
            "{role}: done states"
        );
        assert!(
            self.visit.iter().sum::<u32>() <= self.finished(),
            "{role}: visits"
        );
        assert!(
            self.solved.iter().sum::<u32>() <= self.finished(),
            "{role}: 解决情况"
        );
    }

    /// Everything on time, every visit 满意, every ticket solved: 100 points before bonus.
    fn perfect(n: u32, rng: &mut Rng) -> Profile {
        let not_due = rng.range(0, (n / 5) as i64) as u32;
        let not_due_done = rng.range(0, not_due as i64) as u32;
        let finished = n - not_due + not_due_done;
        let visits = (finished * 4 / 5).max(1);
        Profile {
            sign: [n, 0, 0],
            done: [n - not_due, 0, 0, not_due_done, not_due - not_due_done],
            visit: [visits, 0, 0],
            solved: [finished * 3 / 4, 0],
            ..Profile::default()
        }
    }

    /// A unit of ordinary, imperfect work: at most 97.5 points (three or more irregular
    /// records, at most 0.5 bonus).
    fn random(rng: &mut Rng) -> Profile {
        let n = if rng.chance(100) {
            rng.range(8, 29)
        } else {
            rng.range(30, 150)
        } as u32;
        let none = rng.range(0, 2) as u32;
        let on = ((n - none) as i64 * rng.range(780, 1000) / 1000) as u32;
        let not_due = rng.range(n as i64 / 20, n as i64 / 4) as u32;
        let due = n - not_due;
        let open = rng.range(0, 2).min(due as i64) as u32;
        let due_on = ((due - open) as i64 * rng.range(700, 1000) / 1000) as u32;
        let not_due_done = rng.range(0, not_due as i64) as u32;
        let finished = due - open + not_due_done;
        let v = (finished as i64 * rng.range(500, 900) / 1000) as u32;
        let a = (v as i64 * rng.range(600, 980) / 1000) as u32;
        let b = ((v - a) as i64 * rng.range(300, 900) / 1000) as u32;
        let m = (finished as i64 * rng.range(600, 950) / 1000) as u32;
        let s = (m as i64 * rng.range(700, 1000) / 1000) as u32;
        Profile {
            sign: [on, n - none - on, none],
            done: [
                due_on,
                due - open - due_on,
                open,
                not_due_done,
                not_due - not_due_done,
            ],
            visit: [a, b, v - a - b],
            solved: [s, m - s],
            irregular: rng.range(3, 6) as u32,
            bonus: if rng.chance(200) { vec!["0.5"] } else { vec![] },
            specials: true,
        }
    }
}

/// The role of a unit in a generated month, and the profile it gets.
pub fn profile(role: &str, rng: &mut Rng) -> Option<Profile> {
    let mut p = match role {
        "无工单" => return None,
        "随机" => Profile::random(rng),
        "满分" => Profile::perfect(rng.range(30, 90) as u32, rng),
        // 100 before bonus, bonus 2 + 1.5 = 3.5 → 3: 103 → 100.
        "满分加分封顶" => Profile {
            bonus: vec!["2", "1.5"],
            ..Profile::perfect(64, rng)
        },
        // 34/40 = 85%: 签收得分 exactly 0.
        "签收85%" => Profile {
            sign: [34, 5, 1],
            ..Profile::perfect(40, rng)
        },
        // 57/60 = 95%: 签收得分 exactly 10.
        "签收95%" => Profile {
            sign: [57, 3, 0],
            irregular: 3,
            ..Profile::perfect(60, rng)
        },
        // 30/40 due = 75%: 办结得分 exactly 0.
        "办结75%" => Profile {
            done: [30, 8, 2, 5, 3],
            irregular: 2,
            ..Profile::perfect(48, rng)
        },
        // 19/20 due = 95%: 办结得分 exactly 20.
        "办结95%" => Profile {
            done: [19, 1, 0, 5, 0],
            irregular: 3,
            ..Profile::perfect(25, rng)
        },
        // (13×100 + 2×80 + 5×0) / 20 = 73%: 满意得分 exactly 12.5.
        "满意73%" => Profile {
            visit: [13, 2, 5],
            ..Profile::perfect(36, rng)
        },
        // (9×100 + 80) / 10 = 98%: 满意得分 exactly 25.
        "满意98%" => Profile {
            visit: [9, 1, 0],
            irregular: 3,
            ..Profile::perfect(30, rng)
        },
        // 29/32 = 90.625%: 签收得分 5.625, total 95.625: shown 95.63 (half up).
        "半数进位" => Profile {
            sign: [29, 3, 0],
            ..Profile::perfect(32, rng)
        },
        // The three units tied at 98.00: exactly 98; 98.00149 (满意 (17×100 + 4×80)/21,
        // 解决 31/32); 97.99700 (满意 (8×100 + 80)/9, 解决 35/37).
        "并列98" => Profile {
            irregular: 2,
            ..Profile::perfect(50, rng)
        },
        "并列98上" => Profile {
            visit: [17, 4, 0],
            solved: [31, 1],
            ..Profile::perfect(45, rng)
        },
        "并列98下" => Profile {
            visit: [8, 1, 0],
            solved: [35, 2],
            ..Profile::perfect(46, rng)
        },
        // 30 points: sign 70%, done 60%, 满意 60% (12.5), 解决 50% (17.5), 12 irregular.
        "末位" => Profile {
            sign: [21, 9, 0],
            done: [12, 6, 2, 4, 6],
            visit: [6, 0, 4],
            solved: [5, 5],
            irregular: 12,
            ..Profile::default()
        },
        // 0 + 0 + 25 + 35 + 0 = 60 exactly: 合格.
        "合格60" => Profile {
            sign: [34, 6, 0],
            done: [24, 8, 0, 8, 0],
            visit: [9, 1, 0],
            solved: [20, 0],
            irregular: 10,
            ..Profile::default()
        },
        // 10 + 10 + 25 + 35 + 0 = 80 exactly: 良好.
        "良好80" => Profile {
            done: [17, 3, 0, 10, 2],
            irregular: 10,
            ..Profile::perfect(32, rng)
        },
        // 90 exactly: 优秀.
        "优秀90" => Profile {
            irregular: 10,
            ..Profile::perfect(40, rng)
        },
        // 89.99700: shown 90 but 良好 (the grade is on the exact score).
        "差一点90" => Profile {
            done: [40, 0, 0, 0, 0],
            visit: [8, 1, 0],
            solved: [35, 2],
            irregular: 8,
            ..Profile::perfect(40, rng)
        },
        // Three tickets, none due, none visited: every rate by its default.
        "小单位" => Profile {
            sign: [3, 0, 0],
            done: [0, 0, 0, 1, 2],
            irregular: 1,
            ..Profile::default()
        },
        // 11 irregular records: 规范得分 0, not -1.
        "不规范11" => Profile {
            irregular: 11,
            ..Profile::random(rng)
        },
        // bonus 1.5 + 1 + 0.8 = 3.3 → 3.
        "加分超3" => Profile {
            bonus: vec!["1.5", "1", "0.8"],
            ..Profile::random(rng)
        },
        // Exactly 60 through thirds: 满意 500/6 = 83.33…% (17.666… points), 解决 1/15 =
        // 6.66…% (2.333… points): 10 + 20 + 17.666… + 2.333… + 10 = 60, 合格.
        "三分之一合格60" => Profile {
            sign: [15, 0, 0],
            done: [15, 0, 0, 0, 0],
            visit: [5, 0, 1],
            solved: [1, 14],
            ..Profile::default()
        },
        // Exactly 64.125 through thirds: 签收 14/15 (8.333… points), 满意 440/6 = 73.33…%
        // (12.666… points), 解决 3/8 (13.125): shown 64.13 (half up).
        "三分之一中点" => Profile {
            sign: [14, 1, 0],
            done: [15, 0, 0, 0, 0],
            visit: [2, 3, 1],
            solved: [3, 5],
            ..Profile::default()
        },
        other => panic!("unknown role {other}"),
    };
    if role != "随机" && role != "不规范11" && role != "加分超3" {
        p.specials = false;
    }
    p.check(role);
    Some(p)
}

/// The roles of each group's units for a seed, in the group's order after a shuffle.
fn roles(group: &str, seed: u64) -> Vec<&'static str> {
    let even = seed.is_multiple_of(2);
    match group {
        "县（市、区）" => vec![
            "满分",
            "满分",
            "满分",
            "无工单",
            "签收85%",
            "满意73%",
            "良好80",
            "随机",
        ],
        "功能区（开发区）" if even => vec!["小单位", "半数进位", "随机"],
        "功能区（开发区）" => vec!["无工单", "半数进位", "小单位"],
        "市直部门" => vec![
            "满分加分封顶",
            "满分",
            "并列98",
            "并列98上",
            "并列98下",
            "签收95%",
            "办结75%",
            "办结95%",
            "满意98%",
            "末位",
            "末位",
            "合格60",
            "不规范11",
            "无工单",
            "无工单",
            "随机",
            "随机",
            "随机",
            "随机",
            "随机",
        ],
        // Even seeds: three scored units, no 黑榜.
        "公共服务企业" if even => vec!["优秀90", "差一点90", "加分超3", "无工单", "无工单"],
        "公共服务企业" => vec!["优秀90", "差一点90", "加分超3", "随机", "随机"],
        other => panic!("unknown group {other}"),
    }
}

/// One ticket before it is written.
struct Ticket {
    unit: &'static str,
    dispatched: i64,
    signed: Option<i64>,
    deadline: i64,
    done: Option<i64>,
    visit: Option<&'static str>,
    solved: Option<&'static str>,
}

/// The month being generated.
struct Month<'a> {
    first: i64,
    last: i64,
    cal: &'a Calendar,
}

impl Month<'_> {
    fn end(&self) -> i64 {
        (self.last + 1) * DAY - 1
    }

    /// A dispatch time in the month; `due` ones by 20:00 of the last day.
    fn dispatch(&self, rng: &mut Rng, due: bool) -> i64 {
        let day = rng.range(self.first, self.last);
        let secs = match rng.below(10) {
            0 => 17 * 3600,
            1 | 2 => rng.range(0, DAY - 1),
            _ => rng.range(8 * 3600, 18 * 3600),
        };
        let t = day * DAY + secs;
        if due {
            t.min(self.last * DAY + 20 * 3600)
        } else {
            t
        }
    }

    fn sign(&self, rng: &mut Rng, dispatched: i64, state: usize) -> Option<i64> {
        match state {
            0 => {
                let u = if rng.chance(100) {
                    DAY
                } else {
                    rng.range(60, DAY)
                };
                Some(self.cal.add_working(dispatched, u))
            }
            1 => {
                let u = if rng.chance(150) {
                    DAY + 1
                } else {
                    rng.range(DAY + 1, 3 * DAY)
                };
                Some(self.cal.add_working(dispatched, u))
            }
            _ => None,
        }
    }

    /// Deadline and finishing time for done state `state` (see [`Profile::done`]).
    fn finish(&self, rng: &mut Rng, dispatched: i64, state: usize) -> (i64, Option<i64>) {
        let deadline = if state <= 2 {
            match rng.below(10) {
                0 => self.end(),
                1 if self.last * DAY + 18 * 3600 >= dispatched + 3600 => {
                    self.last * DAY + 18 * 3600
                }
                _ => (dispatched + rng.range(1, 10) * DAY + rng.range(-4 * 3600, 4 * 3600))
                    .max(dispatched + 3600)
                    .min(self.end()),
            }
        } else if rng.chance(200) {
            (self.last + 1) * DAY // the first of next month, 00:00:00: not due
        } else {
            (self.last + rng.range(1, 15)) * DAY + rng.range(0, DAY - 1)
        }
        .max(dispatched);
        let between = |rng: &mut Rng, hi: i64| {
            if hi - dispatched < 600 {
                hi
            } else {
                rng.range(dispatched + 600, hi)
            }
        };
        let done = match state {
            0 => Some(if rng.chance(100) {
                deadline
            } else {
                between(rng, deadline)
            }),
            1 => Some(if rng.chance(150) {
                deadline + 1
            } else {
                deadline + rng.range(3600, 5 * DAY)
            }),
            3 => Some(between(rng, deadline.min(self.end().max(dispatched)))),
            _ => None,
        };
        (deadline, done)
    }

    /// Pairs of dispatch and signing times around rest days: Friday 17:00 to Monday 17:00
    /// and 17:00:01, the last working day before rest days to the first after, make-up
    /// working days, dispatches on holidays.
    fn specials(&self) -> Vec<(i64, i64)> {
        let cal = self.cal;
        let next_working = |mut d: i64| {
            d += 1;
            while !cal.is_working(d) {
                d += 1;
            }
            d
        };
        let h17 = 17 * 3600;
        let mut pairs = Vec::new();
        for d in self.first..=self.last {
            if weekday(d) == 4 {
                pairs.push((d * DAY + h17, (d + 3) * DAY + h17));
                pairs.push((d * DAY + h17, (d + 3) * DAY + h17 + 1));
            }
            if cal.is_working(d) && !cal.is_working(d + 1) {
                let n = next_working(d);
                pairs.push((d * DAY + h17, n * DAY + h17));
                pairs.push((d * DAY + h17, n * DAY + h17 + 1));
                pairs.push((d * DAY, n * DAY));
            }
            if cal.workdays.contains(&d) && d > self.first {
                pairs.push(((d - 1) * DAY + h17, (d + 1) * DAY + h17));
                let n = next_working(d);
                pairs.push((d * DAY + h17, n * DAY + h17));
                pairs.push((d * DAY + h17, n * DAY + h17 + 1));
                pairs.push((d * DAY + 9 * 3600, d * DAY + 18 * 3600));
            }
            if cal.holidays.contains(&d) && weekday(d) < 5 {
                let n = next_working(d);
                pairs.push((d * DAY + 10 * 3600, (n + 1) * DAY));
                pairs.push((d * DAY + 10 * 3600, (n + 1) * DAY + 1));
                pairs.push((d * DAY + 10 * 3600, n * DAY + 10 * 3600));
            }
        }
        pairs
    }
}

/// Shuffles `states` given as counts into one state per ticket.
fn states(counts: &[u32], rng: &mut Rng) -> Vec<usize> {
    let mut v: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| std::iter::repeat_n(i, n as usize))
        .collect();
    rng.shuffle(&mut v);
    v
}

/// Each unit with its group and role, as generated.
pub struct Plan {
    pub roles: Vec<(&'static str, &'static str, &'static str)>,
    pub tickets: usize,
    pub specials: usize,
}

/// Writes `dir/YYYY-MM/{tickets,irregular,bonus}.csv` for `seed` and the month.
pub fn generate(dir: &Path, seed: u64, year: i64, month: i64, cal: &Calendar) -> Plan {
    generate_with(dir, seed, year, month, cal, false)
}

/// [`generate`]; with `thirds`, two units of 市直部门 reach a grade bound (60) and a
/// rounding midpoint (64.125) exactly through quotients that are not finite decimals.
pub fn generate_with(
    dir: &Path,
    seed: u64,
    year: i64,
    month: i64,
    cal: &Calendar,
    thirds: bool,
) -> Plan {
    let mut rng = Rng::new(seed ^ (year as u64) << 32 ^ (month as u64) << 40);
    let first = days_from_civil(year, month, 1);
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    let m = Month {
        first,
        last: next - 1,
        cal,
    };

    let mut plan = Plan {
        roles: Vec::new(),
        tickets: 0,
        specials: 0,
    };
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut irregular: Vec<(usize, &'static str)> = Vec::new(); // (a ticket index or usize::MAX, unit)
    let mut bonus: Vec<(&'static str, &'static str)> = Vec::new();
    let mut special_units: Vec<&'static str> = Vec::new();

    for &(group, units) in GROUPS {
        let mut shuffled: Vec<&'static str> = units.to_vec();
        rng.shuffle(&mut shuffled);
        let mut roles = roles(group, seed);
        roles.resize(units.len(), "随机");
        if thirds && group == "市直部门" {
            roles[15] = "三分之一合格60";
            roles[16] = "三分之一中点";
        }
        for (&unit, role) in shuffled.iter().zip(roles) {
            plan.roles.push((group, unit, role));
            let Some(p) = profile(role, &mut rng) else {
                // A unit without tickets may still have records: they must not score it.
                if rng.chance(600) {
                    irregular.push((usize::MAX, unit));
                }
                if rng.chance(600) {
                    bonus.push((unit, "0.5"));
                }
                continue;
            };
            if p.specials {
                special_units.push(unit);
            }
            let start = tickets.len();
            let sign = states(&p.sign, &mut rng);
            let done = states(&p.done, &mut rng);
            for (&s, &d) in sign.iter().zip(&done) {
                let dispatched = m.dispatch(&mut rng, d <= 2);
                let (deadline, finished) = m.finish(&mut rng, dispatched, d);
                tickets.push(Ticket {
                    unit,
                    dispatched,
                    signed: m.sign(&mut rng, dispatched, s),
                    deadline,
                    done: finished,
                    visit: None,
                    solved: None,
                });
            }
            let mut finished: Vec<usize> = (start..tickets.len())
                .filter(|&i| tickets[i].done.is_some())
                .collect();
            rng.shuffle(&mut finished);
            for (k, &i) in states(&p.visit, &mut rng).iter().zip(&finished) {
                tickets[i].visit = Some(["满意", "基本满意", "不满意"][*k]);
            }
            rng.shuffle(&mut finished);
            for (k, &i) in states(&p.solved, &mut rng).iter().zip(&finished) {
                tickets[i].solved = Some(["已解决", "未解决"][*k]);
            }
            for _ in 0..p.irregular {
                irregular.push((
                    rng.range(start as i64, tickets.len() as i64 - 1) as usize,
                    unit,
                ));
            }
            for b in &p.bonus {
                bonus.push((unit, b));
            }
        }
    }

    for (k, (dispatched, signed)) in m.specials().into_iter().enumerate() {
        let unit = special_units[k % special_units.len()];
        let (deadline, _) = m.finish(&mut rng, dispatched, 4);
        tickets.push(Ticket {
            unit,
            dispatched,
            signed: Some(signed),
            deadline,
            done: None,
            visit: None,
            solved: None,
        });
        plan.specials += 1;
    }
    plan.tickets = tickets.len();

    // Rows in dispatch order; numbers in that order.
    let mut order: Vec<usize> = (0..tickets.len()).collect();
    order.sort_by_key(|&i| (tickets[i].dispatched, i));
    let mut number = vec![String::new(); tickets.len()];
    let dt = |t: Option<i64>| t.map(format_datetime).unwrap_or_default();
    let mut csv =
        String::from("工单编号,承办单位,派单时间,签收时间,办理时限,办结时间,回访结果,解决情况\n");
    for (k, &i) in order.iter().enumerate() {
        let t = &tickets[i];
        number[i] = format!("SL{year:04}{month:02}{:05}", k + 1);
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{}",
            number[i],
            t.unit,
            format_datetime(t.dispatched),
            dt(t.signed),
            format_datetime(t.deadline),
            dt(t.done),
            t.visit.unwrap_or(""),
            t.solved.unwrap_or("")
        )
        .unwrap();
    }
    let problems = [
        "超时签收未说明原因",
        "办结答复内容不规范",
        "未联系诉求人即办结",
        "退单理由不充分",
        "重复派单未合并",
    ];
    let mut irr = String::from("工单编号,承办单位,问题\n");
    for (k, &(i, unit)) in irregular.iter().enumerate() {
        let id = if i == usize::MAX {
            format!("SL{year:04}{:02}99999", (month + 10) % 12 + 1)
        } else {
            number[i].clone()
        };
        writeln!(irr, "{id},{unit},{}", problems[k % problems.len()]).unwrap();
    }
    let reasons = ["获市领导批示肯定", "群众来信表扬", "典型经验被推广"];
    let mut bon = String::from("承办单位,加分,事由\n");
    for (k, (unit, b)) in bonus.iter().enumerate() {
        writeln!(bon, "{unit},{b},{}", reasons[k % reasons.len()]).unwrap();
    }

    let folder = dir.join(format!("{year:04}-{month:02}"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("tickets.csv"), csv).unwrap();
    std::fs::write(folder.join("irregular.csv"), irr).unwrap();
    std::fs::write(folder.join("bonus.csv"), bon).unwrap();
    plan
}
