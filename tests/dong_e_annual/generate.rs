//! Deterministic months of Dong'e-format data, in the files the Dong'e policies read:
//! `DIR/YYYY-MM/tickets.csv` (UTF-8, CRLF, RFC 4180 quoting, the columns of `source 工单`),
//! `spot-checks.csv` (GBK, the columns of `source 抽访`) and `deductions.xlsx` (sheet
//! 质效考核: 单位, 扣分事项, 扣分).
//!
//! The months hold the edge cases the rules turn on (see [`plan_month`]): units without
//! tickets in some months and one department with tickets in a single month of 2023 (May),
//! empty 签收时间 / 办结时间 / 回访解决情况 / 满意度评分 cells, 直办 rows, signing exactly 2 h and
//! 2 h 1 s after dispatch, finishing exactly at the deadline and one second after, the old
//! names 新城办事处 / 铜城办事处, negative deductions with decimals (several rows per unit, units
//! without tickets, a month without any), many units tied at 100.00, units tied at 99.99 with
//! different exact totals, a total that is exactly a rounding midpoint (94.275) reached
//! through thirds, ties at the bottom of the 镇街 ranking, units of exactly 9, 10 and 100
//! tickets, and months in which one of the bands 大 / 中 / 小 of the departments is empty.

use super::{Rng, Ym, DEPARTMENTS, TOWNS};
use std::collections::BTreeMap;
use std::path::Path;

/// What a unit's tickets of a month are made of: counts of tickets in each state. Times and
/// the other columns are drawn at random around these states; the states are shuffled
/// independently over the unit's tickets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// Signed within 2 h of dispatch (≤ 7,200 s), later, never (empty 签收时间).
    pub sign: [u32; 3],
    /// Finished by the deadline (≤), after it, not finished (empty 办结时间).
    pub done: [u32; 3],
    /// 回访解决情况: 已解决, 基本解决, 未解决, no answer (empty).
    pub solve: [u32; 4],
    /// The 满意度评分 cells that are not empty (the unit's other tickets have none).
    pub sat: Vec<&'static str>,
}

impl Profile {
    pub fn tickets(&self) -> u32 {
        self.sign.iter().sum()
    }

    fn check(&self, role: &str) {
        let n = self.tickets();
        assert!(n > 0, "{role}: no tickets");
        assert_eq!(self.done.iter().sum::<u32>(), n, "{role}: done states");
        assert_eq!(self.solve.iter().sum::<u32>(), n, "{role}: 解决 states");
        assert!(self.sat.len() as u32 <= n, "{role}: 满意度评分");
    }

    /// Everything on time, every answer 已解决, every score 100: exactly 100 points. Some
    /// tickets have no callback (empty cells), which changes nothing.
    pub fn perfect(n: u32) -> Profile {
        let answered = n - n / 3;
        Profile {
            sign: [n, 0, 0],
            done: [n, 0, 0],
            solve: [answered, 0, 0, n - answered],
            sat: vec!["100"; (n - n / 4) as usize],
        }
    }

    /// Ordinary work, drawn ticket by ticket: mostly on time, mostly solved and satisfied.
    pub fn random(n: u32, rng: &mut Rng) -> Profile {
        let mut p = Profile::default();
        for _ in 0..n {
            let r = rng.below(1000);
            p.sign[if r < 840 {
                0
            } else if r < 980 {
                1
            } else {
                2
            }] += 1;
            let r = rng.below(1000);
            p.done[if r < 880 {
                0
            } else if r < 970 {
                1
            } else {
                2
            }] += 1;
            let r = rng.below(1000);
            p.solve[if r < 700 {
                0
            } else if r < 820 {
                1
            } else if r < 870 {
                2
            } else {
                3
            }] += 1;
            let r = rng.below(1000);
            let score = match r {
                0..750 => Some("100"),
                750..830 => Some("90"),
                830..860 => Some("95.5"),
                860..880 => Some("87.5"),
                880..888 => Some("60"),
                888..893 => Some("0"),
                893..900 => Some("99.9"),
                _ => None,
            };
            if let Some(s) = score {
                p.sat.push(s);
            }
        }
        p
    }

    /// The lowest towns: 50.07 points (响应 and 按时 5/12, 解决 46, 满意 55).
    pub fn weak_a() -> Profile {
        Profile {
            sign: [5, 5, 2],
            done: [5, 4, 3],
            solve: [3, 2, 5, 2],
            sat: vec!["60", "0", "100", "80", "50", "60", "0", "90"],
        }
    }

    /// The next lowest towns: 69.20 points (响应 and 按时 62.5, 解决 920/14, 满意 880/12).
    pub fn weak_b() -> Profile {
        Profile {
            sign: [10, 5, 1],
            done: [10, 4, 2],
            solve: [6, 4, 4, 2],
            sat: vec![
                "100", "80", "60", "90", "70", "60", "100", "50", "80", "90", "60", "40",
            ],
        }
    }

    /// Two small departments tied: 69 points.
    pub fn weak_small() -> Profile {
        Profile {
            sign: [2, 1, 1],
            done: [2, 1, 1],
            solve: [1, 1, 1, 1],
            sat: vec!["60", "100"],
        }
    }

    /// Exactly 94.275 through thirds: 响应 7/8 (4.375), 按时 100% (5), 解决 280/3
    /// (37.333…), 满意 285.4/3 (47.566…). Shown 94.28 (half up); hotline's 28-digit sum is
    /// 94.27499…, which must not round to 94.27.
    pub fn midpoint() -> Profile {
        Profile {
            sign: [7, 1, 0],
            done: [8, 0, 0],
            solve: [2, 1, 0, 5],
            sat: vec!["100", "95.5", "89.9"],
        }
    }

    /// 99.991666…: perfect but one score of 99.9 of six (满意 599.9/6), shown 99.99 — the
    /// same as a perfect unit with a deduction of −0.01 (exactly 99.99).
    pub fn almost() -> Profile {
        Profile {
            sat: vec!["100", "100", "100", "100", "100", "99.9"],
            ..Profile::perfect(6)
        }
    }

    /// Tickets without any callback: 解决率 and 综合满意率 by their default (100%).
    pub fn no_callbacks(n: u32, rng: &mut Rng) -> Profile {
        let mut p = Profile::random(n, rng);
        p.solve = [0, 0, 0, n];
        p.sat.clear();
        p
    }

    /// Tickets never signed for: 响应率 0.
    pub fn unsigned(n: u32, rng: &mut Rng) -> Profile {
        let mut p = Profile::random(n, rng);
        p.sign = [0, 0, n];
        p
    }
}

/// One unit's month: its role and its tickets (none for `None`).
#[derive(Clone, Debug)]
pub struct Role {
    pub unit: &'static str,
    pub role: &'static str,
    pub profile: Option<Profile>,
}

/// The months whose department bands are empty, by index from 2022-01: 大 in every fourth
/// month from 2022-03 (县公安局 then has 40–60 tickets), 中 in 2022-08 and 2023-06, 小 in
/// 2022-12 and 2023-04.
pub fn big_empty(idx: usize) -> bool {
    idx % 4 == 2
}
pub const MIDDLE_EMPTY: [usize; 2] = [7, 17];
pub const SMALL_EMPTY: [usize; 2] = [11, 15];

/// The month in which 县人民武装部 has its only tickets: 2023-05.
pub const SINGLE_MONTH: usize = 16;

/// Each unit's role in month `idx` (0 = 2022-01), in registry order.
pub fn plan_month(idx: usize, rng: &mut Rng) -> Vec<Role> {
    let mut roles = Vec::new();

    // Towns: some without tickets in some months; the lowest tied in three patterns
    // (1, 2, 2, 2 / 1, 1, 3, 3 / 1, 1, 1 then 4 / 1, 2); perfect towns tied at 100.
    let absent =
        |u: &str| (u == "牛角店镇" && idx % 5 == 3) || (u == "刘集镇" && (idx == 9 || idx == 20));
    let mut present: Vec<&'static str> = TOWNS.iter().copied().filter(|u| !absent(u)).collect();
    rng.shuffle(&mut present);
    let weak: &[&str] = match idx % 4 {
        0 => &["A", "B", "B", "B"],
        1 => &["A", "A", "B", "B"],
        2 => &["A", "A", "A"],
        _ => &["A", "B"],
    };
    let perfect = match idx % 3 {
        0 => 2,
        1 => 1,
        _ => 0,
    };
    let perfect_n = rng.range(12, 20) as u32;
    let mut town_role: BTreeMap<&str, (&'static str, Profile)> = BTreeMap::new();
    for (k, &u) in present.iter().enumerate() {
        let r = if k < weak.len() {
            if weak[k] == "A" {
                ("末位A", Profile::weak_a())
            } else {
                ("末位B", Profile::weak_b())
            }
        } else if k < weak.len() + perfect {
            ("满分", Profile::perfect(perfect_n))
        } else {
            ("随机", Profile::random(rng.range(15, 40) as u32, rng))
        };
        town_role.insert(u, r);
    }
    for &u in TOWNS {
        match town_role.remove(u) {
            Some((role, p)) => roles.push(Role {
                unit: u,
                role,
                profile: Some(p),
            }),
            None => roles.push(Role {
                unit: u,
                role: "无工单",
                profile: None,
            }),
        }
    }

    // Departments.
    let twins_n = 2 + (idx % 2) as u32;
    for &u in DEPARTMENTS {
        let small = |rng: &mut Rng, absent_permille: u64| -> (&'static str, Option<Profile>) {
            if rng.chance(absent_permille) {
                ("无工单", None)
            } else {
                let n = rng.range(1, 9) as u32;
                ("随机", Some(Profile::random(n, rng)))
            }
        };
        let random = |rng: &mut Rng, lo: i64, hi: i64| {
            let n = rng.range(lo, hi) as u32;
            ("随机", Some(Profile::random(n, rng)))
        };
        let (role, profile): (&'static str, Option<Profile>) = match u {
            "县公安局" if idx == 5 => ("恰100件", Some(Profile::random(100, rng))),
            "县公安局" if big_empty(idx) => random(rng, 40, 60),
            "县公安局" => random(rng, 101, 125),
            "东阿交警大队" if idx == 12 => random(rng, 100, 110),
            "东阿交警大队" => random(rng, 15, 40),
            "县市场监督管理局"
            | "县交通运输局"
            | "县行政执法局"
            | "东阿吉电（综合执法局）"
            | "县住建局"
            | "县教育体育局" => {
                if rng.chance(150) {
                    ("无工单", None)
                } else {
                    random(rng, 10, 45)
                }
            }
            "县水利局" if idx.is_multiple_of(6) => ("恰10件", Some(Profile::random(10, rng))),
            "县水利局" if idx % 6 == 3 => ("恰9件", Some(Profile::random(9, rng))),
            "县水利局" => random(rng, 3, 20),
            "县东财公司" | "县卫生健康局" if idx.is_multiple_of(3) => {
                ("小单位并列", Some(Profile::weak_small()))
            }
            "县农业农村局" if idx % 4 == 1 => ("满分扣0.01", Some(Profile::perfect(5))),
            "县自然资源规划局" if idx % 4 == 1 => ("99.9916", Some(Profile::almost())),
            "县工信局" => {
                let n = rng.range(3, 6) as u32;
                ("无回访", Some(Profile::no_callbacks(n, rng)))
            }
            "县住房公积金" if idx % 3 == 2 => {
                let n = rng.range(2, 5) as u32;
                ("未签收", Some(Profile::unsigned(n, rng)))
            }
            "县烟草公司" => {
                if rng.chance(400) {
                    ("无工单", None)
                } else {
                    ("满分", Some(Profile::perfect(rng.range(1, 4) as u32)))
                }
            }
            "县残联" if idx % 6 == 1 || idx == 17 => ("中点", Some(Profile::midpoint())),
            "县消防大队" | "县融媒体中心" if idx % 7 == 6 => ("无工单", None),
            "县消防大队" | "县融媒体中心" => {
                ("满分双胞", Some(Profile::perfect(twins_n)))
            }
            "县商务投资促进局" if idx.is_multiple_of(2) => {
                ("满分", Some(Profile::perfect(1)))
            }
            "县商务投资促进局" => ("无工单", None),
            "县发改局" => ("满分", Some(Profile::perfect(rng.range(1, 6) as u32))),
            "县人民武装部" if idx == SINGLE_MONTH => {
                ("仅一月", Some(Profile::random(3, rng)))
            }
            "县人民武装部" | "县财政局" => ("无工单", None),
            _ => small(rng, 300),
        };
        // Empty bands: no department of that size this month.
        let n = profile.as_ref().map_or(0, Profile::tickets);
        let (role, profile) = if (SMALL_EMPTY.contains(&idx) && (1..10).contains(&n))
            || (MIDDLE_EMPTY.contains(&idx) && (10..100).contains(&n))
        {
            ("无工单", None)
        } else {
            (role, profile)
        };
        roles.push(Role {
            unit: u,
            role,
            profile,
        });
    }
    for r in &roles {
        if let Some(p) = &r.profile {
            p.check(r.role);
        }
    }
    roles
}

/// The deduction rows of a month: (unit as written, 扣分事项, 扣分 as a decimal text).
pub fn plan_deductions(
    idx: usize,
    roles: &[Role],
    rng: &mut Rng,
) -> Vec<(String, Option<String>, String)> {
    const POINTS: &[&str] = &[
        "-0.5", "-1.25", "-0.25", "-0.1", "-0.05", "-0.03", "-0.2", "-0.75", "-0.01", "-1", "-0.15",
    ];
    const ITEMS: &[&str] = &[
        "回访不满意扣分",
        "市级重办件扣分",
        "市级抽访问题扣分",
        "超期办结扣分",
    ];
    let mut rows = Vec::new();
    if idx == 2 {
        return rows; // 2022-03: a workbook with the header only
    }
    let written = |u: &str, rng: &mut Rng| -> String {
        match u {
            "新城街道" if rng.chance(400) => "新城办事处".to_string(),
            "铜城街道" if rng.chance(400) => "铜城办事处".to_string(),
            _ => u.to_string(),
        }
    };
    for r in roles {
        let rows_of_unit = match r.role {
            "随机" | "恰100件" | "恰10件" | "恰9件" | "无回访" | "未签收" if rng.chance(300) => {
                rng.range(1, 3)
            }
            // Not scored: deductions must change nothing of the period figures.
            "无工单" if rng.chance(80) => 1,
            _ => 0,
        };
        for _ in 0..rows_of_unit {
            let item = (!rng.chance(150)).then(|| rng.pick(ITEMS).to_string());
            rows.push((written(r.unit, rng), item, rng.pick(POINTS).to_string()));
        }
        match r.role {
            "满分扣0.01" => rows.push((
                r.unit.to_string(),
                Some("回访不满意扣分".into()),
                "-0.01".into(),
            )),
            // Both twins −0.5 every fifth month: tied at 99.50.
            "满分双胞" if idx.is_multiple_of(5) => rows.push((
                r.unit.to_string(),
                Some("超期办结扣分".into()),
                "-0.5".into(),
            )),
            _ => {}
        }
    }
    rng.shuffle(&mut rows);
    rows
}

/// What was generated for a month.
#[derive(Clone, Debug)]
pub struct MonthPlan {
    pub ym: Ym,
    pub roles: Vec<Role>,
    pub deductions: Vec<(String, Option<String>, String)>,
    /// All rows of tickets.csv, and the 派单 ones.
    pub tickets: usize,
    pub dispatched: usize,
    pub spot_checks: usize,
}

/// Topics: 一级分类, 二级分类, two 三级分类 each (every topic with both sub-topics every
/// month: the monthly report's prose reads the two most frequent). None of the topics the
/// monthly report writes special prose for.
const TOPICS: &[(&str, &str, [&str; 2])] = &[
    ("城市综合类", "环境卫生", ["垃圾清运", "道路保洁"]),
    ("城市综合类", "市政设施", ["路灯维修", "井盖缺失"]),
    ("城市综合类", "供水", ["停水", "水压低"]),
    ("三农问题类", "土地承包", ["土地承包", "土地流转"]),
    ("三农问题类", "农村道路", ["道路破损", "道路修建"]),
    ("城乡建设类", "房屋质量", ["墙体开裂", "房屋漏水"]),
    ("城乡建设类", "违章建筑", ["私搭乱建", "违规加层"]),
    ("市场监管类", "食品安全", ["过期食品", "无证经营"]),
    ("社会保障类", "社保医保", ["医保报销", "社保缴费"]),
    ("交通运输类", "公交出行", ["线路调整", "班次不足"]),
    ("教育文体类", "学校管理", ["招生入学", "校园安全"]),
    ("公安政法类", "治安管理", ["噪音扰民", "邻里纠纷"]),
    ("卫生健康类", "医疗服务", ["服务态度", "收费问题"]),
];

const OBJECTS: &[&str] = &[
    "西城悦府小区",
    "喜园小区",
    "东润府",
    "东阿宏达建设有限公司",
    "名仕丽都小区",
];

const KINDS: &[&str] = &["投诉", "求助", "咨询", "举报", "建议"];

/// A ticket before it is written.
struct Ticket {
    accepted: i64,
    source: &'static str,
    kind: &'static str,
    topic: usize,
    sub: usize,
    object: Option<&'static str>,
    direct: bool,
    unit: String,
    dispatched: Option<i64>,
    signed: Option<i64>,
    deadline: Option<i64>,
    done: Option<i64>,
    solve: Option<&'static str>,
    sat: Option<&'static str>,
    redo: bool,
    text: String,
}

/// Seconds since 1970-01-01 00:00:00 (naive local time).
fn secs(y: i32, m: u32, d: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

pub fn format_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Counts as one state per ticket, shuffled.
fn states(counts: &[u32], rng: &mut Rng) -> Vec<usize> {
    let mut v: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| std::iter::repeat_n(i, n as usize))
        .collect();
    rng.shuffle(&mut v);
    v
}

fn complaint(topic: usize, sub: usize, rng: &mut Rng) -> String {
    let (_, t, subs) = TOPICS[topic];
    let s = subs[sub];
    match rng.below(4) {
        0 => format!("来电人反映{t}问题（{s}），要求尽快处理。"),
        1 => format!("来电人咨询{t}相关政策，并反映\"{s}\"情况，请协调解决。"),
        2 => format!("市民称{s}问题已多次反映未果，要求给予答复，谢谢。\n补充：来电人要求回电。"),
        _ => format!("来电人称\"{t}\"，{s}，\r\n\"情况紧急\"，请核实。"),
    }
}

/// Writes one month's three files into `dir/YYYY-MM/` and returns what it holds. `idx` is
/// the month's index from 2022-01 (negative for months before).
pub fn generate_month(dir: &Path, seed: u64, ym: Ym, idx: usize) -> MonthPlan {
    let mut rng = Rng::new(seed ^ ((ym.year as u64) << 32) ^ ((ym.month as u64) << 40));
    let roles = plan_month(idx, &mut rng);
    let deductions = plan_deductions(idx, &roles, &mut rng);

    let start = secs(ym.year, ym.month, 1);
    let days = ym.days() as i64;
    let accepted = |rng: &mut Rng| start + rng.range(0, days * 86_400 - 1);
    let mut tickets: Vec<Ticket> = Vec::new();
    let blank = |rng: &mut Rng, direct: bool, unit: String| {
        let topic = rng.below(TOPICS.len() as u64) as usize;
        let sub = rng.below(2) as usize;
        Ticket {
            accepted: accepted(rng),
            source: if rng.chance(330) {
                "省平台"
            } else {
                "市平台"
            },
            kind: rng.pick::<&str>(KINDS),
            topic,
            sub,
            object: if rng.chance(500) {
                None
            } else {
                Some(*rng.pick(OBJECTS))
            },
            direct,
            unit,
            dispatched: None,
            signed: None,
            deadline: None,
            done: None,
            solve: None,
            sat: None,
            redo: rng.chance(30),
            text: complaint(topic, sub, rng),
        }
    };

    for r in &roles {
        let Some(p) = &r.profile else { continue };
        let first = tickets.len();
        let sign = states(&p.sign, &mut rng);
        let done = states(&p.done, &mut rng);
        let solve = states(&p.solve, &mut rng);
        for k in 0..p.tickets() as usize {
            let unit = match r.unit {
                "新城街道" if rng.chance(200) => "新城办事处".to_string(),
                "铜城街道" if rng.chance(200) => "铜城办事处".to_string(),
                u => u.to_string(),
            };
            let mut t = blank(&mut rng, false, unit);
            let dispatched = t.accepted + rng.range(60, 7200);
            t.dispatched = Some(dispatched);
            t.signed = match sign[k] {
                0 => Some(
                    dispatched
                        + match rng.below(10) {
                            0 => 7200,
                            1 => 0,
                            _ => rng.range(60, 7200),
                        },
                ),
                1 => Some(
                    dispatched
                        + if rng.chance(150) {
                            7201
                        } else {
                            rng.range(7201, 3 * 86_400)
                        },
                ),
                _ => None,
            };
            let deadline = dispatched
                + if rng.chance(500) {
                    rng.range(3, 7) * 86_400
                } else {
                    rng.range(86_400, 10 * 86_400)
                };
            t.deadline = Some(deadline);
            t.done = match done[k] {
                0 => Some(if rng.chance(100) {
                    deadline
                } else {
                    rng.range(dispatched + 600, deadline)
                }),
                1 => Some(if rng.chance(150) {
                    deadline + 1
                } else {
                    deadline + rng.range(3600, 5 * 86_400)
                }),
                _ => None,
            };
            t.solve = match solve[k] {
                0 => Some("已解决"),
                1 => Some("基本解决"),
                2 => Some("未解决"),
                _ => None,
            };
            tickets.push(t);
        }
        let mut order: Vec<usize> = (first..tickets.len()).collect();
        rng.shuffle(&mut order);
        for (&i, s) in order.iter().zip(&p.sat) {
            tickets[i].sat = Some(s);
        }
    }
    let dispatched = tickets.len();

    // 直办: answered by the centre itself, no unit; some with a callback score, which no
    // unit's figure may count.
    let direct = dispatched / 12 + rng.range(1, 8) as usize;
    for _ in 0..direct {
        let mut t = blank(&mut rng, true, String::new());
        t.done = Some(t.accepted + rng.range(300, 3600));
        if rng.chance(300) {
            t.sat = Some("100");
            t.solve = Some("已解决");
        }
        t.redo = false;
        tickets.push(t);
    }
    // Every topic with both sub-topics: the first 26 tickets (after shuffling into time
    // order below, wherever they fall) take each pair once.
    for (k, t) in tickets.iter_mut().take(TOPICS.len() * 2).enumerate() {
        t.topic = k / 2;
        t.sub = k % 2;
        t.text = complaint(t.topic, t.sub, &mut rng);
    }

    // Rows in order of acceptance; numbers in that order.
    let mut order: Vec<usize> = (0..tickets.len()).collect();
    order.sort_by_key(|&i| (tickets[i].accepted, i));
    let yy = ym.year % 100;
    let mut ids = vec![String::new(); tickets.len()];
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(super::exact::TICKET_HEADERS).unwrap();
    let dt = |t: Option<i64>| t.map(format_time).unwrap_or_default();
    for (k, &i) in order.iter().enumerate() {
        let t = &tickets[i];
        ids[i] = format!("DE{yy:02}{:02}{:05}", ym.month, k + 1);
        let (cat, topic, subs) = TOPICS[t.topic];
        w.write_record([
            ids[i].as_str(),
            &format_time(t.accepted),
            t.source,
            t.kind,
            cat,
            topic,
            subs[t.sub],
            t.object.unwrap_or(""),
            if t.direct { "直办" } else { "派单" },
            &t.unit,
            &dt(t.dispatched),
            &dt(t.signed),
            &dt(t.deadline),
            &dt(t.done),
            t.solve.unwrap_or(""),
            t.sat.unwrap_or(""),
            if t.redo { "是" } else { "否" },
            &t.text,
        ])
        .unwrap();
    }
    let tickets_csv = w.into_inner().unwrap();

    // Spot checks (GBK): tickets of the month, by the unit as written (old names included),
    // and 县财政局, which has no tickets.
    let mut spot = String::from("工单编号,承办单位,是否解决,过程是否满意,抽访时间\r\n");
    let next = ym.next();
    let n_spot = rng.range(5, 15) as usize;
    for k in 0..n_spot {
        let (id, unit) = if k == 0 {
            (
                format!("DE{yy:02}{:02}99999", ym.month),
                "县财政局".to_string(),
            )
        } else {
            let i = rng.below(dispatched as u64) as usize;
            (ids[i].clone(), tickets[i].unit.clone())
        };
        let at = secs(next.year, next.month, 1) + rng.range(0, 20 * 86_400);
        spot.push_str(&format!(
            "{id},{unit},{},{},{}\r\n",
            if rng.chance(800) { "是" } else { "否" },
            if rng.chance(850) { "是" } else { "否" },
            format_time(at)
        ));
    }
    let (spot_gbk, _, unmappable) = encoding_rs::GBK.encode(&spot);
    assert!(
        !unmappable,
        "every character of the spot checks has a GBK code"
    );

    let folder = dir.join(ym.label());
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("tickets.csv"), tickets_csv).unwrap();
    std::fs::write(folder.join("spot-checks.csv"), &spot_gbk[..]).unwrap();
    write_deductions(&folder.join("deductions.xlsx"), ym, &deductions);

    MonthPlan {
        ym,
        roles,
        deductions,
        tickets: tickets.len(),
        dispatched,
        spot_checks: n_spot,
    }
}

fn write_deductions(path: &Path, ym: Ym, rows: &[(String, Option<String>, String)]) {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
    let mut book = Workbook::new();
    // A fixed creation time keeps the bytes reproducible.
    let made = ym.next();
    let created = ExcelDateTime::from_ymd(made.year as u16, made.month as u8, 1).unwrap();
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = book.add_worksheet();
    sheet.set_name("质效考核").unwrap();
    for (col, title) in ["单位", "扣分事项", "扣分"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, title).unwrap();
    }
    for (r, (unit, item, points)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, unit).unwrap();
        if let Some(item) = item {
            sheet.write_string(r, 1, item).unwrap();
        }
        // The double nearest to the decimal, as Excel stores it.
        sheet
            .write_number(r, 2, points.parse::<f64>().unwrap())
            .unwrap();
    }
    book.save(path).unwrap();
}

/// Writes the 24 months 2022-01 … 2023-12 (and, with `lead_in`, 2021-12, which the monthly
/// policy's `上月工单 previous month` reads for 2022-01; the period runs do without it).
pub fn generate(dir: &Path, seed: u64, lead_in: bool) -> Vec<MonthPlan> {
    let mut plans = Vec::new();
    if lead_in {
        // Its roles are those of a month with index 23 (any would do).
        generate_month(dir, seed, Ym::new(2021, 12), 23);
    }
    for (idx, ym) in super::generated_months().into_iter().enumerate() {
        plans.push(generate_month(dir, seed, ym, idx));
    }
    plans
}
