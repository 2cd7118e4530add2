//! XLSX reading throughput: writes a workbook of N ticket-like rows and times
//! `hotline::data::load_table` on it (the whole read: unzip, XML, typing):
//!
//! ```text
//! cargo run --release --example xlsx -- [--rows 200000] [--runs 3] [--keep DIR]
//! ```
//!
//! The workbook is written once into DIR (default: the system's temporary folder,
//! `hotline-xlsx-bench/`) and reused by later runs.
//!
//! Each row has a unit, an enum, a text, a decimal, a percent-formatted number, a
//! date-time and a yes/no cell, as spreadsheets exported by hotline centres do. Prints the
//! median and fastest time of the runs and the rows per second of the median.

use hotline::data::{load_table, ColumnSpec, ColumnType, FileFormat, UnitResolver};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const UNITS: [&str; 6] = [
    "鱼山镇",
    "姚寨镇",
    "姜楼镇",
    "县公安局",
    "县住建局",
    "县供电公司",
];

struct Units;

impl UnitResolver for Units {
    fn resolve(&self, name: &str) -> Option<u32> {
        UNITS.iter().position(|u| *u == name).map(|i| i as u32)
    }
    fn names(&self) -> Vec<String> {
        UNITS.iter().map(|u| u.to_string()).collect()
    }
}

fn spec(name: &str, ty: ColumnType) -> ColumnSpec {
    ColumnSpec {
        name: name.to_string(),
        header: name.to_string(),
        ty,
        nullable: false,
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut rows = 200_000usize;
    let mut runs = 3usize;
    let mut keep: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--rows", Some(v)) => rows = v.parse().unwrap_or(rows),
            ("--runs", Some(v)) => runs = v.parse().unwrap_or(runs),
            ("--keep", Some(v)) => keep = Some(PathBuf::from(v)),
            _ => {
                eprintln!("usage: xlsx [--rows N] [--runs N] [--keep DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let dir = keep.unwrap_or_else(|| std::env::temp_dir().join("hotline-xlsx-bench"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot make {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    // The workbook is the same for the same number of rows: written once, then reused.
    let path = dir.join(format!("tickets-{rows}.xlsx"));
    if !path.exists() {
        let started = Instant::now();
        let partial = dir.join(format!("tickets-{rows}.partial.xlsx"));
        if let Err(e) = write_workbook(&partial, rows)
            .map_err(|e| e.to_string())
            .and_then(|()| std::fs::rename(&partial, &path).map_err(|e| e.to_string()))
        {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!(
            "wrote {} in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());

    let specs = [
        spec("单位", ColumnType::Unit),
        spec(
            "诉求类型",
            ColumnType::Enum {
                labels: vec!["投诉".into(), "求助".into(), "咨询".into()],
            },
        ),
        spec("二级分类", ColumnType::Text),
        spec("扣分", ColumnType::Decimal),
        spec("满意度", ColumnType::Percent),
        spec(
            "受理时间",
            ColumnType::DateTime {
                format: "%Y-%m-%d %H:%M:%S".into(),
            },
        ),
        spec(
            "市级重办",
            ColumnType::Bool {
                true_spellings: vec!["是".into()],
                false_spellings: vec!["否".into()],
            },
        ),
    ];
    let format = FileFormat::Xlsx {
        sheet: "工单".to_string(),
    };
    let mut took: Vec<Duration> = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        match load_table(&path, &format, &specs, &Units) {
            Ok(table) if table.len() == rows => {}
            Ok(table) => {
                eprintln!("read {} rows, expected {rows}", table.len());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
        took.push(start.elapsed());
    }
    took.sort();
    let median = took[took.len() / 2];
    println!(
        "xlsx: {rows} rows, {:.1} MB: median {:.2} s (fastest {:.2} s), {:.0} rows/s",
        size as f64 / 1e6,
        median.as_secs_f64(),
        took[0].as_secs_f64(),
        rows as f64 / median.as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn write_workbook(path: &std::path::Path, rows: usize) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("工单")?;
    let headers = [
        "单位",
        "诉求类型",
        "二级分类",
        "扣分",
        "满意度",
        "受理时间",
        "市级重办",
    ];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    let percent = Format::new().set_num_format("0.0%");
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let kinds = ["投诉", "求助", "咨询"];
    let topics = ["路灯照明", "供暖", "物业服务", "道路交通", "噪音扰民"];
    let mut state: u64 = 1;
    let mut next = || {
        // SplitMix64: the same workbook every time.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in 0..rows {
        let r = (i + 1) as u32;
        let n = next();
        sheet.write_string(r, 0, UNITS[(n % 6) as usize])?;
        sheet.write_string(r, 1, kinds[(n / 7 % 3) as usize])?;
        sheet.write_string(r, 2, topics[(n / 31 % 5) as usize])?;
        sheet.write_number(r, 3, -((n / 101 % 20) as f64) / 10.0)?;
        sheet.write_number_with_format(r, 4, (n / 307 % 101) as f64 / 100.0, &percent)?;
        let day = 1 + (n / 1009 % 28);
        let second = n / 3001 % 86_400;
        let at = ExcelDateTime::from_ymd(2023, 3, day as u8)?.and_hms(
            (second / 3600) as u16,
            (second / 60 % 60) as u8,
            (second % 60) as f64,
        )?;
        sheet.write_datetime_with_format(r, 5, &at, &when)?;
        sheet.write_string(r, 6, if n % 9 == 0 { "是" } else { "否" })?;
    }
    workbook.save(path)
}
