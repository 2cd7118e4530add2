//! Load arbitrary bytes as a CSV source against a fixed schema that has every column type,
//! nullable and not.
//!
//! Input layout: the first byte picks the declared encoding (`byte % 3`: 0 = none, i.e.
//! detect; 1 = `utf8`; 2 = `gbk` — so seeds can start with the ASCII digit `0`, `1` or `2`);
//! the rest is the file. The file is written to one temporary path per process
//! (`hotline-fuzz-csv-<pid>.csv`, see [`path`]) because `load_table` reads from a path.
//!
//! Besides "no panic, no hang": a loaded table has one value per row in every column and
//! strictly increasing line numbers; a bad-cells error counts at least what it keeps; with
//! the encoding declared, reading the file in blocks of 1 and 64 bytes gives the same table
//! (or an error too).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use hotline::data::{
    load_csv_in_blocks, load_table, ColumnSpec, ColumnType, Encoding, FileFormat, LoadError,
    UnitResolver, MAX_KEPT_CELL_ERRORS,
};
use libfuzzer_sys::fuzz_target;
use miette::Diagnostic;

/// A small unit registry: three units, one with an alias.
struct Units;

const UNITS: &[(&str, u32)] = &[
    ("姜楼镇", 0),
    ("姜楼", 0),
    ("新城街道", 1),
    ("东阿吉电（综合执法局）", 2),
];

impl UnitResolver for Units {
    fn resolve(&self, name: &str) -> Option<u32> {
        UNITS.iter().find(|(n, _)| *n == name).map(|&(_, i)| i)
    }

    fn names(&self) -> Vec<String> {
        UNITS.iter().map(|(n, _)| n.to_string()).collect()
    }
}

fn col(name: &str, header: &str, ty: ColumnType, nullable: bool) -> ColumnSpec {
    ColumnSpec {
        name: name.to_string(),
        header: header.to_string(),
        ty,
        nullable,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The schema: the headers of the seed files in `corpus/csv_load/`.
fn specs() -> Vec<ColumnSpec> {
    let yes_no = || ColumnType::Bool {
        true_spellings: strings(&["是"]),
        false_spellings: strings(&["否"]),
    };
    vec![
        col("工单编号", "工单编号", ColumnType::Text, false),
        col("备注", "备注", ColumnType::Text, true),
        col("件数", "数量", ColumnType::Integer, false),
        col("次数", "次数", ColumnType::Integer, true),
        col("金额", "金额", ColumnType::Decimal, false),
        col("补贴", "补贴", ColumnType::Decimal, true),
        col("满意度评分", "满意度评分", ColumnType::Percent, true),
        col("及时率", "及时率", ColumnType::Percent, false),
        col("市级重办", "市级重办", yes_no(), false),
        col("已回访", "已回访", yes_no(), true),
        col(
            "派单时间",
            "派单时间",
            ColumnType::DateTime {
                format: "%Y-%m-%d %H:%M:%S".to_string(),
            },
            false,
        ),
        col(
            "受理日期",
            "受理日期",
            ColumnType::DateTime {
                format: "%Y/%m/%d".to_string(),
            },
            true,
        ),
        col(
            "办理方式",
            "办理方式",
            ColumnType::Enum {
                labels: strings(&["派单", "直办"]),
            },
            false,
        ),
        col(
            "回访解决情况",
            "回访解决情况",
            ColumnType::Enum {
                labels: strings(&["已解决", "基本解决", "未解决"]),
            },
            true,
        ),
        col("承办单位", "承办单位", ColumnType::Unit, false),
        col("协办单位", "协办单位", ColumnType::Unit, true),
    ]
}

/// One file per process. `$TMPDIR` when set, else `/dev/shm` where it exists (a memory file
/// system: on this machine's disk-backed `/tmp` the write costs most of each execution,
/// 535 against 4,770 exec/s), else the system's temporary directory.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("hotline-fuzz-csv-{}.csv", std::process::id()))
    })
}

fn schema() -> &'static [ColumnSpec] {
    static SPECS: OnceLock<Vec<ColumnSpec>> = OnceLock::new();
    SPECS.get_or_init(specs)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let encoding = match selector % 3 {
        0 => None,
        1 => Some(Encoding::Utf8),
        _ => Some(Encoding::Gbk),
    };
    let path = path();
    std::fs::write(path, bytes).expect("write the temporary CSV file");
    let specs = schema();
    let whole = load_table(path, &FileFormat::Csv { encoding }, specs, &Units);
    // Read in blocks of a few records, as a big file is (with the encoding declared, the
    // first block is small too): GBK blocks after the first are then typed from their
    // bytes. The table is the same; the first problem found may differ (a block's quotes
    // are checked before its records), but there is one.
    if encoding.is_some() {
        for block in [1, 64] {
            let blocks = load_csv_in_blocks(path, encoding, specs, &Units, block);
            match (&whole, &blocks) {
                (Ok(whole), Ok(blocks)) => assert_eq!(whole, blocks, "blocks of {block} bytes"),
                (whole, blocks) => assert_eq!(
                    whole.is_ok(),
                    blocks.is_ok(),
                    "blocks of {block} bytes: {whole:?} against {blocks:?}"
                ),
            }
        }
    }
    match whole {
        Ok(table) => {
            assert_eq!(table.columns.len(), specs.len(), "one column per spec");
            for column in &table.columns {
                assert_eq!(
                    column.len(),
                    table.len(),
                    "every column has one value per row"
                );
            }
            // Each row starts on a later line than the one before, and after the header's
            // (a bare `\r` ends a line too: regressions/csv_load/, fixed in 2a5f066).
            assert!(
                table.lines.windows(2).all(|w| w[0] < w[1]),
                "two rows on one line, or lines going backwards: {:?}",
                table.lines
            );
            assert!(
                table.lines.first().is_none_or(|&l| l >= 2),
                "a row on the header's line: {:?}",
                table.lines
            );
            let (used, detected) = table.encoding.expect("a CSV table reports its encoding");
            match encoding {
                Some(declared) => assert!(used == declared && !detected),
                None => assert!(detected),
            }
        }
        Err(error) => {
            if let LoadError::BadCells { errors, total, .. } = &error {
                assert!(*total >= errors.len() && *total > 0);
                assert!(errors.len() <= MAX_KEPT_CELL_ERRORS);
            }
            // The messages, help and related cell errors the CLI prints (Display and
            // Diagnostic are hotline's; miette's own layout is not what is fuzzed here).
            let _ = error.to_string();
            let _ = error.help().map(|h| h.to_string());
            for related in error.related().into_iter().flatten() {
                let _ = related.to_string();
                let _ = related.help().map(|h| h.to_string());
            }
        }
    }
});
