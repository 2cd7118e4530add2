//! A deterministic generator of Dong'e hotline data, for benchmarks.
//!
//! It writes one month of data in the format of `tests/data/dong-e/2023-03/` (what
//! `policies/dong-e-monthly.policy` reads), and the month before it, because the policy's
//! `上月工单 = 工单 previous month` reads that folder too:
//!
//! ```sh
//! cargo run --release --example generate -- --rows 1000000 --out /tmp/gen1m
//! cargo run --release -- render policies/dong-e-monthly.policy --data /tmp/gen1m --month 2023-03
//! ```
//!
//! `--rows N --out DIR [--month 2023-03] [--previous-rows M] [--seed S]` writes
//! `DIR/<month>/` with N tickets and `DIR/<month before>/` with M tickets (default N), each
//! folder holding
//!
//! - `tickets.csv`: UTF-8, CRLF, RFC 4180, the header of the sample export (with the free-text
//!   column 诉求内容 last), written row by row through a large buffer (constant memory);
//! - `spot-checks.csv`: GBK, one city spot check per 30 tickets (at least 20), drawn from the
//!   dispatched tickets; the two town offices keep their old names 新城办事处 and 铜城办事处 as
//!   in the real data;
//! - `deductions.xlsx`: sheet 质效考核 (单位, 扣分事项, 扣分), a few dozen negative points.
//!
//! The same arguments give byte-identical files on every machine: all randomness comes from a
//! SplitMix64 generator seeded from `--seed` (default 1) and the month (a month's data does not
//! depend on which month asked for it), integer arithmetic only; numbers with decimals are
//! formatted from integers (a score of 875 tenths is `87.5`), and the workbook's creation time
//! is fixed.
//!
//! The mix follows the March 2023 sample: the policy's units with the sample's Zipf-like
//! volumes (towns and the big departments take most tickets, a few units almost none), the
//! sample's 37 category / topic / sub-topic combinations with their frequencies, its
//! deadlines (3, 5, 7 or 10 days), objects (小区, companies) for the topics that have them and
//! its wording of 诉求内容. Deliberately different from the sample: 10% of the tickets are
//! handled directly (直办, no unit or dispatch times), 2% are signed for after more than two
//! hours, 10% finish late, and 诉求内容 sometimes holds ASCII commas, doubled quotes, LF and
//! CRLF, so every quoting path of a CSV reader is exercised.
//!
//! Ticket numbers are `DE<yymm><7 digits>` in order of receipt (the 10,000,000th takes an
//! eighth digit). A ticket is about 320 bytes, as in the sample: 1M rows are 319 MB written
//! in about 1.5 s, 10M rows 3.2 GB in about 13 s (release build); memory stays under 100 MB
//! (the tickets drawn for spot checks are the only thing kept).

use clap::Parser;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

// ---------------------------------------------------------------- command line

/// Generates Dong'e hotline ticket data (tickets, spot checks, deductions) for benchmarks.
#[derive(Debug, Parser)]
#[command(name = "generate")]
struct Args {
    /// Tickets of the month.
    #[arg(long)]
    rows: u64,
    /// The data folder: one folder per month is written under it.
    #[arg(long)]
    out: PathBuf,
    /// The month, `YYYY-MM`.
    #[arg(long, default_value = "2023-03")]
    month: String,
    /// Tickets of the month before (default: as many as `--rows`).
    #[arg(long)]
    previous_rows: Option<u64>,
    /// Seed of the generator: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(month) = Month::parse(&args.month) else {
        eprintln!("generate: --month must be YYYY-MM, not `{}`", args.month);
        return ExitCode::from(2);
    };
    let months = [
        (month, args.rows),
        (month.previous(), args.previous_rows.unwrap_or(args.rows)),
    ];
    for (month, rows) in months {
        match generate_month(&args.out, month, rows, args.seed) {
            Ok(files) => {
                for f in files {
                    eprintln!(
                        "{}: {} rows, {} bytes, {:.2} s",
                        f.path.display(),
                        f.rows,
                        f.bytes,
                        f.seconds
                    );
                }
            }
            Err(e) => {
                eprintln!(
                    "generate: {}: {e}",
                    args.out.join(month.to_string()).display()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// What was written to one file.
struct Written {
    path: PathBuf,
    rows: u64,
    bytes: u64,
    seconds: f64,
}

/// Writes `out/<month>/{tickets.csv, spot-checks.csv, deductions.xlsx}`.
fn generate_month(out: &Path, month: Month, rows: u64, seed: u64) -> io::Result<Vec<Written>> {
    let dir = out.join(month.to_string());
    std::fs::create_dir_all(&dir)?;
    let calendar = Calendar::new(month);
    let month_seed = mix(seed ^ mix(month.index()));
    let mut written = Vec::new();

    let started = Instant::now();
    let path = dir.join("tickets.csv");
    let mut file = BufWriter::with_capacity(8 << 20, File::create(&path)?);
    let tickets = write_tickets(&mut file, &calendar, rows, month_seed)?;
    drop(file.into_inner().map_err(|e| e.into_error())?);
    written.push(Written {
        path,
        rows,
        bytes: tickets.bytes,
        seconds: started.elapsed().as_secs_f64(),
    });

    let started = Instant::now();
    let path = dir.join("spot-checks.csv");
    let spot = spot_checks(&calendar, &tickets.sampled, month_seed);
    std::fs::write(&path, &spot.bytes)?;
    written.push(Written {
        path,
        rows: spot.rows,
        bytes: spot.bytes.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
    });

    let started = Instant::now();
    let path = dir.join("deductions.xlsx");
    let (bytes, deduction_rows) = deductions(month, month_seed).map_err(io::Error::other)?;
    std::fs::write(&path, &bytes)?;
    written.push(Written {
        path,
        rows: deduction_rows,
        bytes: bytes.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
    });
    Ok(written)
}

// ---------------------------------------------------------------- tables

/// The units of `policies/dong-e-monthly.policy`, in its registry order, each with its ticket
/// count in the March 2023 sample (at least 1), used as its weight.
const TOWNS: &[(&str, u32)] = &[
    ("鱼山镇", 88),
    ("姚寨镇", 103),
    ("姜楼镇", 97),
    ("大桥镇", 74),
    ("陈集镇", 66),
    ("铜城街道", 378),
    ("高集镇", 109),
    ("刘集镇", 234),
    ("新城街道", 440),
    ("牛角店镇", 132),
];

const DEPARTMENTS: &[(&str, u32)] = &[
    ("东阿交警大队", 264),
    ("县市场监督管理局", 326),
    ("县公安局", 100),
    ("县交通运输局", 251),
    ("县行政执法局", 243),
    ("东阿吉电（综合执法局）", 271),
    ("县住建局", 530),
    ("县教育体育局", 260),
    ("县水利局", 145),
    ("县人社局", 137),
    ("县行政审批服务局", 12),
    ("东阿公路事业发展中心", 12),
    ("县文化旅游局", 13),
    ("县税务局", 28),
    ("县医疗保障局", 33),
    ("县民政局", 15),
    ("县退役军人事务局", 12),
    ("经济开发区", 38),
    ("东阿生态环境分局", 42),
    ("县供电公司", 18),
    ("县东财公司", 46),
    ("县卫生健康局", 92),
    ("县农业农村局", 48),
    ("县自然资源规划局", 30),
    ("县工信局", 1),
    ("县住房公积金", 1),
    ("县工业公司", 1),
    ("县应急管理局", 1),
    ("县司法局", 2),
    ("东阿黄河河务局", 2),
    ("县烟草公司", 2),
    ("县残联", 7),
    ("县消防大队", 7),
    ("县融媒体中心", 6),
    ("县商务投资促进局", 6),
    ("县发改局", 2),
    ("县人民武装部", 2),
    ("县财政局", 1),
];

/// The old names the spot checks use for two towns (aliases of the policy).
const SPOT_CHECK_NAMES: &[(&str, &str)] = &[("新城街道", "新城办事处"), ("铜城街道", "铜城办事处")];

/// Every unit, towns first, in the policy's registry order.
fn units() -> impl Iterator<Item = &'static (&'static str, u32)> {
    TOWNS.iter().chain(DEPARTMENTS)
}

/// A category / topic / sub-topic combination of the sample, its count there, and the objects
/// (涉及对象) the sample names for it with their counts.
struct Combo {
    category: &'static str,
    topic: &'static str,
    subtopic: &'static str,
    weight: u32,
    objects: &'static [(&'static str, u32)],
}

const fn combo(
    category: &'static str,
    topic: &'static str,
    subtopic: &'static str,
    weight: u32,
) -> Combo {
    Combo {
        category,
        topic,
        subtopic,
        weight,
        objects: &[],
    }
}

const COMBOS: &[Combo] = &[
    Combo {
        objects: &[
            ("西城悦府小区", 138),
            ("喜园小区", 104),
            ("阿胶城小区", 24),
            ("曙光小区", 17),
            ("幸福家园", 16),
            ("府前花园", 15),
            ("金水湾小区", 10),
        ],
        ..combo("城乡建设类", "物业管理", "物业服务", 324)
    },
    combo("城市综合类", "环境卫生", "环境卫生", 175),
    combo("三农问题类", "土地承包", "土地承包", 170),
    combo("城市综合类", "市政设施", "市政设施", 170),
    combo("市场监管类", "消费者维权", "实体店售后", 170),
    combo("城市综合类", "供水", "供水", 165),
    combo("三农问题类", "农村道路", "农村道路", 160),
    Combo {
        objects: &[
            ("名仕丽都小区", 93),
            ("曙光小区", 22),
            ("金水湾小区", 18),
            ("东苑小区", 16),
            ("府前花园", 11),
        ],
        ..combo("城市综合类", "供暖", "供暖温度不达标", 160)
    },
    combo("教育文体类", "学校管理", "学校管理", 160),
    Combo {
        objects: &[
            ("县联谊建筑安装工程有限公司", 90),
            ("东阿宏达建设有限公司", 22),
            ("鲁西建工第三分公司", 16),
        ],
        ..combo("社会保障类", "农民工工资", "建筑领域欠薪", 150)
    },
    combo("交通运输类", "公交出行", "公交出行", 150),
    combo("三农问题类", "农村饮水", "农村饮水", 150),
    combo("交通运输类", "道路交通", "道路交通", 150),
    combo("城市综合类", "噪音扰民", "噪音扰民", 150),
    combo("三农问题类", "惠农补贴", "惠农补贴", 140),
    combo("公安政法类", "治安管理", "治安管理", 136),
    combo("三农问题类", "农业耕地灌溉", "沟渠无黄河水", 130),
    combo("城市综合类", "燃气", "燃气", 130),
    combo("城乡建设类", "房屋质量", "房屋质量", 130),
    combo("市场监管类", "食品安全", "食品安全", 128),
    combo("城乡建设类", "违章建筑", "违章建筑", 128),
    combo("城市综合类", "停车管理", "停车管理", 123),
    combo("市场监管类", "消费者维权", "网购直播", 122),
    combo("城乡建设类", "拆迁安置", "拆迁安置", 120),
    combo("教育文体类", "文体设施", "文体设施", 120),
    combo("社会保障类", "社保医保", "社保医保", 120),
    Combo {
        objects: &[("阳光小镇小区", 86), ("东润府", 14), ("御景园", 10)],
        ..combo("城乡建设类", "商品房开发与销售", "延期交房", 110)
    },
    Combo {
        objects: &[
            ("水岸丽景小区", 74),
            ("东苑小区", 16),
            ("阿胶城小区", 11),
            ("喜园小区", 7),
        ],
        ..combo("城市综合类", "供暖", "延长供暖期停暖", 108)
    },
    combo("卫生健康类", "医疗服务", "医疗服务", 100),
    combo("城市综合类", "其他城市管理", "其他城市管理", 100),
    combo("三农问题类", "农业耕地灌溉", "机井故障未通电", 94),
    combo("三农问题类", "宅基地", "宅基地", 90),
    Combo {
        objects: &[("阳光小镇小区", 62), ("东润府", 12), ("御景园", 6)],
        ..combo("城乡建设类", "商品房开发与销售", "交房质量", 80)
    },
    combo("社会保障类", "就业创业", "就业创业", 78),
    combo("三农问题类", "其他三农", "其他三农", 64),
    combo("社会保障类", "农民工工资", "其他行业欠薪", 32),
    Combo {
        objects: &[("幸福家园", 8), ("喜园小区", 2)],
        ..combo("城乡建设类", "物业管理", "物业收费", 14)
    },
];

/// The header of the sample export, in its order.
const HEADER: &[&str] = &[
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

/// 来源, weighted as in the sample.
const SOURCES: &[(&str, u32)] = &[("市平台", 67), ("省平台", 33)];
/// 诉求类型, weighted as in the sample. Consultations and suggestions have no 回访解决情况.
const KINDS: &[(&str, u32)] = &[
    ("投诉", 1214),
    ("求助", 1207),
    ("举报", 1181),
    ("咨询", 624),
    ("建议", 575),
];
/// Days from dispatch to deadline, weighted as in the sample.
const DEADLINE_DAYS: &[(u64, u32)] = &[(3, 944), (5, 1970), (7, 913), (10, 900)];
/// 回访解决情况 of a callback.
const RESOLUTIONS: &[(&str, u32)] = &[("已解决", 930), ("基本解决", 50), ("未解决", 20)];
/// 满意度评分 in tenths of a point (a score is given on every callback); 6% more are drawn
/// between 80 and 99.5 in half points.
const SCORES: &[(u64, u32)] = &[(1000, 800), (900, 120), (800, 20)];
/// 满意度评分 in tenths when the problem was not solved.
const LOW_SCORES: &[(u64, u32)] = &[(0, 3), (200, 1), (500, 2), (600, 3), (800, 1)];
/// Where a caller places the problem when no object is named.
const PLACES: &[(&str, u32)] = &[
    ("所在小区", 4),
    ("本村", 3),
    ("单位附近", 2),
    ("东阿县城区", 3),
];
/// Surnames for the callers' details.
const SURNAMES: &[(&str, u32)] = &[
    ("王", 5),
    ("李", 5),
    ("张", 4),
    ("刘", 3),
    ("陈", 2),
    ("杨", 2),
    ("赵", 1),
];
/// 扣分事项 of the deductions sheet.
const DEDUCTION_ITEMS: &[(&str, u32)] = &[
    ("回访不满意扣分", 5),
    ("市级重办件扣分", 3),
    ("市级抽访问题扣分", 4),
    ("超期办结扣分", 3),
];
/// (是否解决, 过程是否满意) of a spot check, weighted as in the sample.
const SPOT_RESULTS: &[((bool, bool), u32)] = &[
    ((true, true), 499),
    ((false, true), 182),
    ((false, false), 153),
    ((true, false), 14),
];

// ---------------------------------------------------------------- randomness

/// SplitMix64's finaliser: a good 64-bit mix.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    /// An independent stream of a month's seed.
    fn stream(seed: u64, stream: u64) -> Rng {
        Rng(mix(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0), by multiply-high: exact integer arithmetic.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True `per_mille` times in a thousand.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

/// A weighted choice among a table's entries.
struct Weighted<T: Copy> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T: Copy> Weighted<T> {
    fn new(entries: impl IntoIterator<Item = (T, u32)>) -> Weighted<T> {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0;
        for (item, weight) in entries {
            total += u64::from(weight);
            items.push(item);
            cumulative.push(total);
        }
        assert!(total > 0, "a weighted table needs a positive weight");
        Weighted { items, cumulative }
    }

    fn of(table: &[(T, u32)]) -> Weighted<T> {
        Weighted::new(table.iter().copied())
    }

    fn pick(&self, rng: &mut Rng) -> T {
        let total = self.cumulative[self.cumulative.len() - 1];
        let r = rng.below(total);
        self.items[self.cumulative.partition_point(|&c| c <= r)]
    }
}

// ---------------------------------------------------------------- time

/// A month of the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Month {
    year: i32,
    month: u32,
}

impl Month {
    fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        chrono::NaiveDate::from_ymd_opt(month.year, month.month, 1)?;
        Some(month)
    }

    fn previous(self) -> Month {
        match self.month {
            1 => Month {
                year: self.year - 1,
                month: 12,
            },
            m => Month {
                year: self.year,
                month: m - 1,
            },
        }
    }

    fn next(self) -> Month {
        match self.month {
            12 => Month {
                year: self.year + 1,
                month: 1,
            },
            m => Month {
                year: self.year,
                month: m + 1,
            },
        }
    }

    /// Months since year 0, to seed the month's data.
    fn index(self) -> u64 {
        (i64::from(self.year) * 12 + i64::from(self.month)) as u64
    }

    fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }

    /// `2303` of March 2023, for ticket numbers.
    fn yymm(self) -> String {
        format!("{:02}{:02}", self.year.rem_euclid(100), self.month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Time stamps as seconds since the month's first midnight, formatted `%Y-%m-%d %H:%M:%S`
/// from a table of dates (formatting is the hot path of the ticket writer).
struct Calendar {
    month: Month,
    /// Seconds in the month.
    seconds: u64,
    /// `2023-03-01`, … for the month and the two after it.
    dates: Vec<[u8; 10]>,
}

impl Calendar {
    const DAY: u64 = 86_400;

    fn new(month: Month) -> Calendar {
        let first = month.first_day();
        let days = (month.next().first_day() - first).num_days() as u64;
        let dates = (0..days + 62)
            .map(|d| {
                let date = first + chrono::Days::new(d);
                let text = date.format("%Y-%m-%d").to_string();
                text.as_bytes().try_into().expect("a date of 10 characters")
            })
            .collect();
        Calendar {
            month,
            seconds: days * Self::DAY,
            dates,
        }
    }

    fn push(&self, out: &mut Vec<u8>, t: u64) {
        out.extend_from_slice(&self.dates[(t / Self::DAY) as usize]);
        let s = t % Self::DAY;
        let two = |n: u64| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        let (h, m, s) = (two(s / 3600), two(s / 60 % 60), two(s % 60));
        out.extend_from_slice(&[b' ', h[0], h[1], b':', m[0], m[1], b':', s[0], s[1]]);
    }
}

// ---------------------------------------------------------------- tickets

/// What the ticket writer passes on.
struct Tickets {
    bytes: u64,
    /// The tickets drawn for spot checks (reservoir sampling over the dispatched ones).
    sampled: Vec<Sampled>,
}

/// A dispatched ticket drawn for a spot check.
#[derive(Clone, Copy)]
struct Sampled {
    seq: u64,
    unit: &'static str,
    unresolved: bool,
}

/// The tables of the ticket writer, built once.
struct Mix {
    sources: Weighted<&'static str>,
    kinds: Weighted<&'static str>,
    combos: Weighted<usize>,
    objects: Vec<Option<Weighted<&'static str>>>,
    units: Weighted<&'static str>,
    deadlines: Weighted<u64>,
    resolutions: Weighted<&'static str>,
    scores: Weighted<u64>,
    low_scores: Weighted<u64>,
    places: Weighted<&'static str>,
    surnames: Weighted<&'static str>,
}

impl Mix {
    fn new() -> Mix {
        Mix {
            sources: Weighted::of(SOURCES),
            kinds: Weighted::of(KINDS),
            combos: Weighted::new(COMBOS.iter().enumerate().map(|(i, c)| (i, c.weight))),
            objects: COMBOS
                .iter()
                .map(|c| (!c.objects.is_empty()).then(|| Weighted::of(c.objects)))
                .collect(),
            units: Weighted::new(units().copied()),
            deadlines: Weighted::of(DEADLINE_DAYS),
            resolutions: Weighted::of(RESOLUTIONS),
            scores: Weighted::of(SCORES),
            low_scores: Weighted::of(LOW_SCORES),
            places: Weighted::of(PLACES),
            surnames: Weighted::of(SURNAMES),
        }
    }
}

/// Appends a CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn push_field(out: &mut Vec<u8>, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.push(b'"');
        for part in text.split_inclusive('"') {
            out.extend_from_slice(part.as_bytes());
            if part.ends_with('"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Appends a number with leading zeros to `width` digits (more digits when it needs them).
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    let mut rest = n;
    while rest > 0 || start == digits.len() {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let start = start.min(digits.len() - width);
    out.extend_from_slice(&digits[start..]);
}

/// Appends a score given in tenths: 1000 → `100`, 875 → `87.5`.
fn push_tenths(out: &mut Vec<u8>, tenths: u64) {
    push_padded(out, tenths / 10, 1);
    if !tenths.is_multiple_of(10) {
        out.extend_from_slice(&[b'.', b'0' + (tenths % 10) as u8]);
    }
}

/// Writes `rows` tickets of the calendar's month. Constant memory, but for the sample of
/// tickets drawn for spot checks (one in 30).
fn write_tickets(
    out: &mut impl Write,
    calendar: &Calendar,
    rows: u64,
    seed: u64,
) -> io::Result<Tickets> {
    const MINUTE: u64 = 60;
    const DAY: u64 = Calendar::DAY;
    let mix = Mix::new();
    let mut rng = Rng::stream(seed, 1);
    let mut sampler = Rng::stream(seed, 2);
    let wanted = (rows / 30).max(20);
    let mut sampled = Vec::with_capacity(wanted.min(rows) as usize);
    let mut dispatched = 0u64;
    let prefix = format!("DE{}", calendar.month.yymm());
    let step = calendar.seconds / rows.max(1);

    let mut line = Vec::with_capacity(1024);
    for (i, field) in HEADER.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        push_field(&mut line, field);
    }
    line.extend_from_slice(b"\r\n");
    out.write_all(&line)?;
    let mut bytes = line.len() as u64;

    let mut text = String::with_capacity(512);
    for i in 0..rows {
        let seq = i + 1;
        // Received in order, spread over the month.
        let received = i * calendar.seconds / rows + rng.below(step);
        let source = mix.sources.pick(&mut rng);
        let kind = mix.kinds.pick(&mut rng);
        let c = mix.combos.pick(&mut rng);
        let combo = &COMBOS[c];
        let object = match &mix.objects[c] {
            Some(objects) if rng.chance(950) => Some(objects.pick(&mut rng)),
            _ => None,
        };
        let direct = rng.chance(100);

        line.clear();
        line.extend_from_slice(prefix.as_bytes());
        push_padded(&mut line, seq, 7);
        line.push(b',');
        calendar.push(&mut line, received);
        for field in [
            source,
            kind,
            combo.category,
            combo.topic,
            combo.subtopic,
            object.unwrap_or(""),
            if direct { "直办" } else { "派单" },
        ] {
            line.push(b',');
            push_field(&mut line, field);
        }

        let mut repeated = false;
        if direct {
            // Answered on the line: no unit, no dispatch, no callback.
            line.extend_from_slice(b",,,,,");
            calendar.push(&mut line, received + MINUTE * rng.between(5, 30));
            line.extend_from_slice(b",,,");
        } else {
            let unit = mix.units.pick(&mut rng);
            let dispatch = received + MINUTE * rng.below(56);
            let signed = dispatch
                + MINUTE
                    * if rng.chance(20) {
                        rng.between(120, 600) // 2 h exactly counts as on time
                    } else {
                        1 + rng.below(119).min(rng.below(119))
                    };
            let days = mix.deadlines.pick(&mut rng);
            let deadline = dispatch + days * DAY;
            let finished = if rng.chance(100) {
                deadline + MINUTE * rng.between(1, 72 * 60)
            } else if rng.chance(5) {
                deadline
            } else {
                dispatch + MINUTE * rng.between(30, days * 24 * 60 - 1)
            };
            let called_back = rng.chance(880);
            let resolution = (called_back && !matches!(kind, "咨询" | "建议"))
                .then(|| mix.resolutions.pick(&mut rng));
            let unresolved = resolution == Some("未解决");
            let score = called_back.then(|| {
                if unresolved {
                    mix.low_scores.pick(&mut rng)
                } else if rng.chance(60) {
                    5 * rng.between(160, 199) // 80 to 99.5, sometimes with a half point
                } else {
                    mix.scores.pick(&mut rng)
                }
            });
            repeated = rng.chance(if unresolved { 150 } else { 2 });

            line.push(b',');
            push_field(&mut line, unit);
            for t in [dispatch, signed, deadline, finished] {
                line.push(b',');
                calendar.push(&mut line, t);
            }
            line.push(b',');
            line.extend_from_slice(resolution.unwrap_or("").as_bytes());
            line.push(b',');
            if let Some(score) = score {
                push_tenths(&mut line, score);
            }
            line.push(b',');

            // Reservoir sampling: every dispatched ticket is equally likely to be checked.
            let drawn = Sampled {
                seq,
                unit,
                unresolved,
            };
            if dispatched < wanted {
                sampled.push(drawn);
            } else {
                let r = sampler.below(dispatched + 1);
                if r < wanted {
                    sampled[r as usize] = drawn;
                }
            }
            dispatched += 1;
        }
        line.extend_from_slice(if repeated { "是," } else { "否," }.as_bytes());

        text.clear();
        let place = object.unwrap_or_else(|| mix.places.pick(&mut rng));
        match rng.below(3) {
            0 => {
                for part in [
                    "来电人咨询",
                    combo.topic,
                    "相关政策，并反映\"",
                    combo.subtopic,
                    "\"情况，请协调解决。",
                ] {
                    text.push_str(part);
                }
            }
            1 => {
                for part in [
                    "来电人反映",
                    place,
                    combo.subtopic,
                    "问题，希望相关部门尽快核实处理。",
                ] {
                    text.push_str(part);
                }
            }
            _ => {
                for part in [
                    "市民称",
                    place,
                    "存在",
                    combo.topic,
                    "方面问题（",
                    combo.subtopic,
                    "），已多次反映未果，要求给予答复。",
                ] {
                    text.push_str(part);
                }
            }
        }
        if rng.chance(50) {
            // Typed in a hurry: ASCII punctuation.
            let title = if rng.chance(500) { "先生" } else { "女士" };
            for part in [
                "（补充: 具体位置在",
                place,
                "附近, 联系人",
                mix.surnames.pick(&mut rng),
                title,
                ", 电话已留存）",
            ] {
                text.push_str(part);
            }
        }
        match rng.below(100) {
            0 | 1 => text.push_str("\n补充：来电人要求办理结果电话回复，联系时段为工作日白天。"),
            2 => text.push_str("\r\n补充：来电人表示此前已反映过，问题仍未解决。"),
            _ => {}
        }
        push_field(&mut line, &text);
        line.extend_from_slice(b"\r\n");
        out.write_all(&line)?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(Tickets { bytes, sampled })
}

// ---------------------------------------------------------------- spot checks and deductions

/// A GBK file of spot checks.
struct SpotChecks {
    bytes: Vec<u8>,
    rows: u64,
}

/// One spot check per drawn ticket, in the first week of the next month.
fn spot_checks(calendar: &Calendar, sampled: &[Sampled], seed: u64) -> SpotChecks {
    let mut rng = Rng::stream(seed, 3);
    let results = Weighted::of(SPOT_RESULTS);
    let prefix = format!("DE{}", calendar.month.yymm());
    let mut text = "工单编号,承办单位,是否解决,过程是否满意,抽访时间\r\n"
        .as_bytes()
        .to_vec();
    let yes_no = |b: bool| if b { "是" } else { "否" };
    for s in sampled {
        let (resolved, satisfied) = results.pick(&mut rng);
        let resolved = resolved && !s.unresolved;
        let unit = SPOT_CHECK_NAMES
            .iter()
            .find(|(unit, _)| *unit == s.unit)
            .map_or(s.unit, |(_, old)| *old);
        let at = calendar.seconds
            + Calendar::DAY * rng.below(7)
            + 3600 * rng.between(9, 17)
            + 60 * rng.below(60);
        text.extend_from_slice(format!("{prefix}{:07},", s.seq).as_bytes());
        push_field(&mut text, unit);
        text.extend_from_slice(format!(",{},{},", yes_no(resolved), yes_no(satisfied)).as_bytes());
        calendar.push(&mut text, at);
        text.extend_from_slice(b"\r\n");
    }
    let text = String::from_utf8(text).expect("UTF-8 text");
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(
        !unmappable,
        "every character of the spot checks has a GBK code"
    );
    SpotChecks {
        bytes: bytes.into_owned(),
        rows: sampled.len() as u64,
    }
}

/// The deductions workbook: 24 to 48 rows of negative points, grouped by unit in registry
/// order, a unit possibly several times. Returns the file's bytes and its rows.
fn deductions(month: Month, seed: u64) -> Result<(Vec<u8>, u64), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
    let mut rng = Rng::stream(seed, 4);
    let units = Weighted::new(units().enumerate().map(|(i, (name, w))| ((i, *name), *w)));
    let items = Weighted::of(DEDUCTION_ITEMS);
    let n = rng.between(24, 48);
    let mut rows: Vec<((usize, &str), Option<&str>, u32)> = (0..n)
        .map(|_| {
            let unit = units.pick(&mut rng);
            let item = (!rng.chance(50)).then(|| items.pick(&mut rng));
            // Points in hundredths: mostly small, sometimes a quarter, a half or a whole point.
            let points = if rng.chance(200) {
                [25, 50, 100][rng.below(3) as usize]
            } else {
                rng.between(1, 20) as u32
            };
            (unit, item, points)
        })
        .collect();
    rows.sort_by_key(|((i, _), _, _)| *i);

    let mut book = Workbook::new();
    // A fixed creation time (the default is now) keeps the file's bytes reproducible.
    let made = month.next();
    let created = ExcelDateTime::from_ymd(made.year as u16, made.month as u8, 1)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = book.add_worksheet();
    sheet.set_name("质效考核")?;
    for (col, title) in ["单位", "扣分事项", "扣分"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, title)?;
    }
    for (r, ((_, unit), item, points)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *unit)?;
        if let Some(item) = item {
            sheet.write_string(r, 1, *item)?;
        }
        // The double nearest to -points/100: Excel's own value for that decimal.
        sheet.write_number(r, 2, -f64::from(*points) / 100.0)?;
    }
    Ok((book.save_to_buffer()?, n))
}

// ---------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use super::*;
    use hotline::report::ReportModel;
    use hotline::span::SourceFile;

    const FILES: [&str; 3] = ["tickets.csv", "spot-checks.csv", "deductions.xlsx"];

    /// A fresh folder under the system's temporary folder, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir()
                .join(format!("hotline-generate-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn march() -> Month {
        Month::parse("2023-03").expect("month")
    }

    fn read(dir: &Path, month: Month) -> Vec<Vec<u8>> {
        FILES
            .iter()
            .map(|f| std::fs::read(dir.join(month.to_string()).join(f)).expect("read"))
            .collect()
    }

    fn policy() -> SourceFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/dong-e-monthly.policy");
        let text = std::fs::read_to_string(path).expect("policy");
        SourceFile::new("dong-e-monthly.policy", text)
    }

    fn value<'a>(model: &'a ReportModel, name: &str) -> Option<&'a str> {
        model
            .values
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.value.as_deref())
    }

    #[test]
    fn fields_are_written_exactly() {
        let text = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            f(&mut out);
            String::from_utf8(out).expect("UTF-8")
        };
        assert_eq!(text(&|o| push_padded(o, 0, 7)), "0000000");
        assert_eq!(text(&|o| push_padded(o, 42, 7)), "0000042");
        assert_eq!(text(&|o| push_padded(o, 12_345_678, 7)), "12345678");
        assert_eq!(text(&|o| push_tenths(o, 1000)), "100");
        assert_eq!(text(&|o| push_tenths(o, 875)), "87.5");
        assert_eq!(text(&|o| push_tenths(o, 0)), "0");
        assert_eq!(text(&|o| push_field(o, "物业服务")), "物业服务");
        assert_eq!(
            text(&|o| push_field(o, "反映\"供水\"情况, 补充\r\n完")),
            "\"反映\"\"供水\"\"情况, 补充\r\n完\""
        );
        let calendar = Calendar::new(march());
        assert_eq!(text(&|o| calendar.push(o, 0)), "2023-03-01 00:00:00");
        assert_eq!(
            text(&|o| calendar.push(o, calendar.seconds + 3 * 86_400 + 45_296)),
            "2023-04-04 12:34:56"
        );
        assert_eq!(
            Month::parse("2023-01").map(Month::previous),
            Month::parse("2022-12")
        );
        assert_eq!(Month::parse("2023-13"), None);
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        let (a, b, c) = (
            TempDir::new("seed-a"),
            TempDir::new("seed-b"),
            TempDir::new("seed-c"),
        );
        generate_month(&a.0, march(), 500, 1).expect("generate");
        generate_month(&b.0, march(), 500, 1).expect("generate");
        generate_month(&c.0, march(), 500, 2).expect("generate");
        let (a, b, c) = (
            read(&a.0, march()),
            read(&b.0, march()),
            read(&c.0, march()),
        );
        for (i, name) in FILES.iter().enumerate() {
            assert!(a[i] == b[i], "{name} differs between two runs with seed 1");
            assert!(a[i] != c[i], "{name} is the same with seeds 1 and 2");
        }
    }

    #[test]
    fn the_months_differ_and_months_do_not_depend_on_who_asked() {
        let (a, b) = (TempDir::new("month-a"), TempDir::new("month-b"));
        generate_month(&a.0, march(), 300, 7).expect("generate");
        generate_month(&a.0, march().previous(), 300, 7).expect("generate");
        generate_month(&b.0, march().previous(), 300, 7).expect("generate");
        let (this, before) = (read(&a.0, march()), read(&a.0, march().previous()));
        assert!(this[0] != before[0], "March and February are the same");
        assert!(before == read(&b.0, march().previous()));
    }

    #[test]
    fn tickets_are_rfc4180_csv_with_the_samples_header() {
        let dir = TempDir::new("csv");
        let rows = 3000;
        generate_month(&dir.0, march(), rows, 1).expect("generate");
        let bytes = &read(&dir.0, march())[0];
        let sample =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dong-e/2023-03/tickets.csv");
        let sample = std::fs::read(sample).expect("sample");
        let first_line =
            |b: &[u8]| b[..b.iter().position(|&c| c == b'\n').expect("a line")].to_vec();
        assert_eq!(first_line(bytes), first_line(&sample), "the header");

        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let records: Vec<csv::StringRecord> =
            reader.records().map(|r| r.expect("a record")).collect();
        assert_eq!(records.len() as u64, rows);
        let count =
            |f: &dyn Fn(&csv::StringRecord) -> bool| records.iter().filter(|r| f(r)).count();
        assert_eq!(&records[0][0], "DE23030000001");
        assert_eq!(&records[2999][0], "DE23030003000");
        assert!(records
            .iter()
            .all(|r| r.len() == HEADER.len() && r[1].starts_with("2023-03-")));
        let direct = count(&|r| &r[8] == "直办");
        assert!((200..400).contains(&direct), "{direct} 直办 of {rows}");
        assert_eq!(
            count(&|r| &r[8] == "直办"
                && (r[9].is_empty() && r[10].is_empty() && r[11].is_empty() && r[12].is_empty())),
            direct
        );
        assert_eq!(count(&|r| &r[8] == "派单" && r[9].is_empty()), 0);
        for (what, n) in [
            (
                "LF",
                count(&|r| r[17].contains('\n') && !r[17].contains('\r')),
            ),
            ("CRLF", count(&|r| r[17].contains("\r\n"))),
            ("comma", count(&|r| r[17].contains(','))),
            ("quote", count(&|r| r[17].contains('"'))),
            ("an empty 涉及对象", count(&|r| r[7].is_empty())),
            ("a 涉及对象", count(&|r| !r[7].is_empty())),
            (
                "no 满意度评分",
                count(&|r| &r[8] == "派单" && r[15].is_empty()),
            ),
            ("a half point", count(&|r| r[15].ends_with(".5"))),
            ("市级重办", count(&|r| &r[16] == "是")),
        ] {
            assert!(n > 0, "no ticket with {what}");
        }
    }

    #[test]
    fn the_units_are_the_policys_registry() {
        let checked = hotline::compile(&policy()).unwrap_or_else(|p| panic!("{p:?}"));
        let registry: Vec<&str> = checked.env.units.iter().map(|u| u.name.as_str()).collect();
        let ours: Vec<&str> = units().map(|(name, _)| *name).collect();
        assert_eq!(ours, registry);
    }

    #[test]
    fn the_policy_checks_clean_and_evaluates_on_generated_data() {
        let file = policy();
        let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
        assert!(checked.warnings.is_empty(), "{:?}", checked.warnings);

        let dir = TempDir::new("policy");
        generate_month(&dir.0, march(), 3000, 1).expect("generate");
        generate_month(&dir.0, march().previous(), 2000, 1).expect("generate");
        let month = hotline::Month::parse("2023-03").expect("month");
        let model = hotline::evaluate(&checked, &dir.0, month).unwrap_or_else(|problems| {
            let text: Vec<String> = problems
                .into_iter()
                .map(|p| hotline::render_diagnostic(&file, p, false))
                .collect();
            panic!("{}", text.join("\n"))
        });
        assert_eq!(value(&model, "收件总量"), Some("3000"));
        assert_eq!(value(&model, "抽访总数"), Some("100"));
        let rows: Vec<(&str, usize)> = model
            .sources
            .iter()
            .map(|s| (s.name.as_str(), s.rows))
            .collect();
        assert!(rows.contains(&("上月工单", 2000)), "{rows:?}");
        let dispatched: u64 = value(&model, "派单总量")
            .expect("派单总量")
            .parse()
            .expect("a count");
        assert!(
            (2600..2800).contains(&dispatched),
            "{dispatched} dispatched"
        );
    }
}
