//! Streaming evaluation (CSV read in blocks on several threads, folded into
//! aggregates) gives exactly what evaluating whole tables gives: the same
//! report model, the same errors, the same lines.

use hotline::eval::{self, Options};
use hotline::span::SourceFile;
use hotline::{Month, Problem};
use std::path::{Path, PathBuf};

const FULL: Options = Options {
    with_report: true,
    explain: true,
};

fn dong_e() -> hotline::check::Checked {
    dong_e_with("")
}

/// The Dong'e policy with `settings` added to its header.
fn dong_e_with(settings: &str) -> hotline::check::Checked {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/dong-e-monthly.policy");
    let text = std::fs::read_to_string(&path).expect("policy");
    let text = text.replacen("  decimals 2\n", &format!("  decimals 2\n{settings}"), 1);
    let file = SourceFile::new(path.display().to_string(), text);
    hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"))
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dong-e")
}

fn month(m: &str) -> Month {
    Month::parse(m).expect("month")
}

/// The month evaluated from whole tables and the month's commentary, as the watch does.
fn whole(
    checked: &hotline::check::Checked,
    dir: &Path,
    m: Month,
) -> Result<hotline::report::ReportModel, Vec<Problem>> {
    let tables = eval::load(checked, dir, m)?;
    let commentary = eval::read_commentaries(checked, dir, hotline::Period::month(m))?;
    let tables = tables.into_iter().map(std::sync::Arc::new).collect();
    eval::evaluate_shared_with(checked, tables, commentary, m, FULL)
}

#[test]
fn blocks_fold_to_the_whole_table_result() {
    let checked = dong_e();
    for m in ["2023-03"] {
        let whole = whole(&checked, &data_dir(), month(m)).expect("whole");
        // From the default blocks (four for a month of tickets on two cores) to blocks of a
        // few records.
        for block in [hotline::data::BLOCK_BYTES, 1 << 16, 4096, 700, 1] {
            let streamed = eval::evaluate_in_blocks(&checked, &data_dir(), month(m), FULL, block)
                .expect("streamed");
            assert_eq!(streamed, whole, "{m}, blocks of {block} bytes");
        }
    }
}

/// BLAKE3 digests taken block by block, on the machine's cores, are those of
/// the whole files (every file the month reads), as SHA-256 digests are.
#[test]
fn blake3_digests_in_blocks_are_those_of_the_whole_files() {
    let checked = dong_e_with("  fingerprint blake3\n");
    let m = month("2023-03");
    let whole = whole(&checked, &data_dir(), m).expect("whole");
    let expected: Vec<(String, String)> = [
        "2023-03/tickets.csv",
        "2023-02/tickets.csv",
        "2023-03/spot-checks.csv",
        "2023-03/deductions.xlsx",
        "2023-03/commentary.md",
    ]
    .iter()
    .map(|file| {
        let bytes = std::fs::read(data_dir().join(file)).expect("data file");
        let digest = blake3::hash(&bytes).to_hex().chars().take(12).collect();
        (file.to_string(), digest)
    })
    .collect();
    assert_eq!(whole.fingerprint.data, expected);
    for block in [1 << 16, 4096, 700] {
        let streamed =
            eval::evaluate_in_blocks(&checked, &data_dir(), m, FULL, block).expect("streamed");
        assert_eq!(streamed, whole, "blocks of {block} bytes");
    }
}

/// A folder `2023-03/tickets.csv` with `csv` in it, for a small policy.
fn folder(name: &str, csv: impl AsRef<[u8]>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-stream-{}-{name}", std::process::id()));
    let month = dir.join("2023-03");
    std::fs::create_dir_all(&month).expect("mkdir");
    std::fs::write(month.join("tickets.csv"), csv).expect("write");
    dir
}

const POLICY: &str = r#"
policy "t" { }
source 工单 from csv "tickets.csv" {
  单位 unit?
  分类 text
  分 decimal?
  时 datetime
}
units { 镇街: 甲镇, 乙镇 }
metric 件数 from 工单 by 单位 = count()
metric 分类件数 from 工单 by 分类 = count()
metric 均分 from 工单 by 单位 = mean(分)
metric 最高 from 工单 = max(分)
metric 最早 from 工单 = min(时)
metric 主要 from 工单 = mode(分类)
"#;

fn small() -> hotline::check::Checked {
    let file = SourceFile::new("t.policy", POLICY.to_string());
    hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"))
}

/// Both paths' problems, rendered without colour.
fn problems(
    checked: &hotline::check::Checked,
    dir: &Path,
    block: usize,
) -> (Vec<String>, Vec<String>) {
    let file = SourceFile::new("t.policy", POLICY.to_string());
    let render = |ps: Vec<Problem>| -> Vec<String> {
        ps.into_iter()
            .map(|p| hotline::render_diagnostic(&file, p, false))
            .collect()
    };
    let whole = match eval::load(checked, dir, month("2023-03")) {
        Ok(tables) => match eval::evaluate_with(checked, tables, month("2023-03"), FULL) {
            Ok(_) => Vec::new(),
            Err(p) => render(p),
        },
        Err(p) => render(p),
    };
    let streamed = match eval::evaluate_in_blocks(checked, dir, month("2023-03"), FULL, block) {
        Ok(_) => Vec::new(),
        Err(p) => render(p),
    };
    (whole, streamed)
}

/// Streaming `dir` in blocks of each of `blocks` bytes reports what loading it
/// whole does, and that is a problem.
fn assert_same_problems(
    checked: &hotline::check::Checked,
    dir: &Path,
    name: &str,
    blocks: &[usize],
) {
    for &block in blocks {
        let (whole, streamed) = problems(checked, dir, block);
        assert!(!whole.is_empty(), "{name}");
        assert_eq!(streamed, whole, "{name}, blocks of {block} bytes");
    }
}

fn rows(n: usize, row: impl Fn(usize) -> String) -> String {
    let mut csv = String::from("单位,分类,分,时\r\n");
    for i in 0..n {
        csv.push_str(&row(i));
        csv.push_str("\r\n");
    }
    csv
}

#[test]
fn extremes_and_modes_across_blocks() {
    // Equal extremes written differently (`7.0`, `7.00`): the first in the file is kept.
    let csv = rows(300, |i| {
        let score = match i % 50 {
            3 => "7.0".to_string(),
            40 => "7.00".to_string(),
            k => format!("{}.5", k % 7),
        };
        let unit = if i % 3 == 0 { "甲镇" } else { "乙镇" };
        let class = ["\"路灯, 照明\"", "供暖", "\"物业\"\"服务\"\"\""][(i % 7).min(2)];
        format!("{unit},{class},{score},2023-03-{:02} 08:00:00", 28 - i % 27)
    });
    let dir = folder("extremes", &csv);
    let checked = small();
    let tables = eval::load(&checked, &dir, month("2023-03")).expect("load");
    let whole = eval::evaluate_with(&checked, tables, month("2023-03"), FULL).expect("whole");
    let value = |name: &str| {
        whole
            .values
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.value.clone())
    };
    // The equal maxima (`7.0`, `7.00`) are one value; the most frequent class.
    assert_eq!(value("最高").as_deref(), Some("7"));
    assert_eq!(value("主要").as_deref(), Some("物业\"服务\""));
    for block in [1usize, 64, 1000] {
        let streamed = eval::evaluate_in_blocks(&checked, &dir, month("2023-03"), FULL, block)
            .expect("streamed");
        assert_eq!(streamed, whole, "blocks of {block} bytes");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_cells_in_many_blocks_are_reported_in_file_order() {
    // 44 bad scores and one bad date, spread over the file: the first 20 kept in
    // order with their lines, all 45 counted.
    let csv = rows(400, |i| {
        let score = if i % 9 == 4 { "九十" } else { "90" };
        let time = if i == 333 {
            "2023-03-32 08:00:00"
        } else {
            "2023-03-02 08:00:00"
        };
        format!("甲镇,供暖,{score},{time}")
    });
    let dir = folder("bad-cells", &csv);
    let checked = small();
    for block in [1usize, 100, 4096] {
        let (whole, streamed) = problems(&checked, &dir, block);
        assert_eq!(whole.len(), 1, "{whole:?}");
        assert!(whole[0].contains("20 of 45"), "{}", whole[0]);
        assert_eq!(streamed, whole, "blocks of {block} bytes");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A record that starts with U+FEFF (a byte-order mark's character) keeps it
/// when it starts a block: only the file's first bytes are a byte-order mark.
#[test]
fn a_byte_order_mark_only_starts_the_file() {
    let csv = rows(120, |i| {
        let bom = if i == 50 { "\u{feff}" } else { "" };
        format!("{bom}甲镇,供暖,90,2023-03-02 08:00:00")
    });
    let dir = folder("bom-inside", format!("\u{feff}{csv}"));
    let checked = small();
    // The whole file (one block) has the record's U+FEFF, not a unit's name.
    let (whole, _) = problems(&checked, &dir, 1);
    assert!(whole.iter().any(|p| p.contains("line 52")), "{whole:?}");
    assert_same_problems(&checked, &dir, "bom-inside", &[1, 100, 4096]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn structural_errors_name_the_same_line() {
    let checked = small();
    // A ragged row far into the file, and an unclosed quote.
    let ragged = rows(500, |i| {
        if i == 432 {
            "甲镇,供暖,90".to_string()
        } else {
            "乙镇,供暖,90,2023-03-02 08:00:00".to_string()
        }
    });
    let unclosed = rows(500, |i| {
        if i == 250 {
            "乙镇,\"供暖,90,2023-03-02 08:00:00".to_string()
        } else {
            "乙镇,供暖,90,2023-03-02 08:00:00".to_string()
        }
    });
    let empty_unit = rows(500, |i| {
        let unit = if i % 100 == 7 { "" } else { "甲镇" };
        format!("{unit},供暖,90,2023-03-02 08:00:00")
    });
    for (name, csv) in [
        ("ragged", ragged),
        ("unclosed", unclosed),
        ("empty-unit", empty_unit),
    ] {
        let dir = folder(name, &csv);
        assert_same_problems(&checked, &dir, name, &[1, 333, 8192]);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn the_encoding_is_found_on_the_whole_first_block() {
    // The first rows (over half a block) are plain ASCII; the GBK further on (still
    // in the first block) decides the encoding, as it does when the file is read whole.
    let policy = r#"
policy "t" { }
source t from csv "tickets.csv" {
  class text
  at    datetime
}
metric n from t by class = count()
"#;
    let file = SourceFile::new("t.policy", policy.to_string());
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let block = hotline::data::BLOCK_BYTES;
    let row = |class: &str| format!("{class},2023-03-01 08:00:00\n");
    let ascii_rows = block * 6 / 10 / row("lamps").len();
    let gbk_rows = block * 3 / 10 / row("路灯").len();
    let mut csv = String::from("class,at\n");
    for i in 0..ascii_rows + gbk_rows {
        csv.push_str(&row(if i < ascii_rows { "lamps" } else { "路灯" }));
    }
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable);
    assert!(gbk.len() > block / 2 && gbk.len() < block);
    let dir = folder("gbk", &gbk);
    let tables = eval::load(&checked, &dir, month("2023-03")).expect("load");
    let whole = eval::evaluate_with(&checked, tables, month("2023-03"), FULL).expect("whole");
    let streamed = eval::evaluate_in_blocks(&checked, &dir, month("2023-03"), FULL, block)
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(streamed, whole);
    let encoding = streamed.sources.first().and_then(|s| s.encoding.clone());
    assert!(
        encoding.as_deref() == Some("gbk (detected)"),
        "{encoding:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_deep_in_a_block_name_the_lines_of_the_file() {
    // A file of most of a block read in the default blocks: the lines named by
    // errors far into it (after quoted fields that span lines) are those of the file.
    let checked = small();
    let block = hotline::data::BLOCK_BYTES;
    // About 40 bytes a row.
    let n = block * 3 / 4 / 40;
    let class = |i: usize| {
        if i.is_multiple_of(7) {
            "\"供\r\n暖\""
        } else {
            "供暖"
        }
    };
    let bad_cells = rows(n, |i| {
        let score = if i % 1000 == 999 { "九十" } else { "90" };
        format!("甲镇,{},{score},2023-03-02 08:00:00", class(i))
    });
    let ragged = rows(n, |i| {
        if i == n - 100 {
            "甲镇,供暖,90".to_string()
        } else {
            format!("甲镇,{},90,2023-03-02 08:00:00", class(i))
        }
    });
    for (name, csv) in [("cut-bad-cells", bad_cells), ("cut-ragged", ragged)] {
        assert!(csv.len() > block / 2 && csv.len() < block, "{name}");
        let dir = folder(name, &csv);
        let (whole, streamed) = problems(&checked, &dir, block);
        assert_eq!(whole.len(), 1, "{name}: {whole:?}");
        assert_eq!(streamed, whole, "{name}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn every_source_s_problem_is_reported_together() {
    // The previous month's folder is missing and this month's file has a bad cell:
    // both are reported, whichever worker reads what, as the whole-table path does.
    let policy = format!(
        "{POLICY}\nsource 上月 = 工单 previous month\nmetric 上月件数 from 上月 = count()\n"
    );
    let file = SourceFile::new("t.policy", policy.clone());
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let csv = rows(3000, |i| {
        let score = if i == 2500 { "九十" } else { "90" };
        format!("甲镇,供暖,{score},2023-03-02 08:00:00")
    });
    let dir = folder("two-problems", &csv);
    let render = |ps: Vec<Problem>| -> Vec<String> {
        ps.into_iter()
            .map(|p| hotline::render_diagnostic(&file, p, false))
            .collect()
    };
    let whole = match eval::load(&checked, &dir, month("2023-03")) {
        Ok(_) => Vec::new(),
        Err(p) => render(p),
    };
    assert_eq!(whole.len(), 2, "{whole:?}");
    for block in [hotline::data::BLOCK_BYTES, 4096, 1] {
        let streamed = match eval::evaluate_in_blocks(&checked, &dir, month("2023-03"), FULL, block)
        {
            Ok(_) => Vec::new(),
            Err(p) => render(p),
        };
        assert_eq!(streamed, whole, "blocks of {block} bytes");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn progress_is_of_all_the_files_together_and_never_goes_back() {
    // The workers read both months' tickets at once: progress adds up the blocks of
    // all the CSV files, in order, and ends at their total size.
    let checked = dong_e();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |path: &Path, read: u64, size: u64| {
        seen.lock()
            .expect("lock")
            .push((path.to_path_buf(), read, size));
    };
    hotline::evaluate_with_progress(&checked, &data_dir(), month("2023-03"), &record)
        .expect("evaluates");
    let seen = seen.into_inner().expect("lock");
    let total: u64 = [
        "2023-03/tickets.csv",
        "2023-02/tickets.csv",
        "2023-03/spot-checks.csv",
    ]
    .iter()
    .map(|f| std::fs::metadata(data_dir().join(f)).expect("file").len())
    .sum();
    // At least two blocks a tickets file (one core) and the spot checks.
    assert!(seen.len() >= 5, "{} calls", seen.len());
    assert!(seen.iter().all(|(_, _, size)| *size == total));
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(seen.last().map(|s| s.1), Some(total));
    let files: std::collections::HashSet<_> = seen.iter().map(|s| s.0.clone()).collect();
    assert_eq!(files.len(), 3, "{files:?}");
}

/// The Dong'e months re-encoded as GBK: the blocks after the first are typed
/// from their GBK bytes, decoding only the declared cells that are not ASCII;
/// the report is the one the whole-file decoding gives, and the one the UTF-8
/// files give (but for the footer's digests).
#[test]
fn gbk_blocks_typed_from_their_bytes_give_the_utf8_report() {
    let utf8 = dong_e();
    let m = month("2023-03");
    let expected = whole(&utf8, &data_dir(), m).expect("utf-8");

    let dir =
        std::env::temp_dir().join(format!("hotline-stream-{}-gbk-dong-e", std::process::id()));
    for month_dir in ["2023-02", "2023-03"] {
        let from = data_dir().join(month_dir);
        let to = dir.join(month_dir);
        std::fs::create_dir_all(&to).expect("mkdir");
        for entry in std::fs::read_dir(&from).expect("data") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_owned();
            let bytes = std::fs::read(&path).expect("read");
            let bytes = if name == "tickets.csv" {
                let text = String::from_utf8(bytes).expect("utf-8 tickets");
                let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
                assert!(!unmappable, "{month_dir}: a character GBK lacks");
                gbk.into_owned()
            } else {
                bytes
            };
            std::fs::write(to.join(name), bytes).expect("write");
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/dong-e-monthly.policy");
    let text = std::fs::read_to_string(&path).expect("policy");
    let text = text.replacen(
        "\"tickets.csv\" encoding utf8",
        "\"tickets.csv\" encoding gbk",
        1,
    );
    assert!(text.contains("\"tickets.csv\" encoding gbk"));
    let gbk = hotline::compile(&SourceFile::new("gbk.policy", text)).expect("gbk policy");
    let whole = whole(&gbk, &dir, m).expect("whole gbk");
    for block in [1 << 16, 4096, 700] {
        let streamed = eval::evaluate_in_blocks(&gbk, &dir, m, FULL, block).expect("streamed");
        assert!(streamed == whole, "blocks of {block} bytes");
    }
    // The same figures and texts as from UTF-8; the files, their encoding and
    // digests differ.
    let same_files = hotline::report::ReportModel {
        sources: expected.sources.clone(),
        fingerprint: expected.fingerprint.clone(),
        ..whole
    };
    assert!(same_files == expected, "the GBK months give another report");
    let _ = std::fs::remove_dir_all(dir);
}

/// GBK blocks with quoted cells (`""`, commas and line breaks inside, spaces
/// after), a euro sign (the lone byte 0x80) and a four-byte GB18030 character
/// (both decoded with the whole block), bad cells and a byte that is not GBK:
/// every block size gives the whole file's result or its problems.
#[test]
fn gbk_blocks_with_quotes_rare_characters_and_problems_match_the_whole_file() {
    let checked = small();
    let row = |i: usize| -> String {
        let unit = ["甲镇", "乙镇", "乙镇"][i % 3];
        let topic = match i % 7 {
            0 => "\"供暖,\"\"集中\"\"\n换热站\"".to_string(),
            1 => "\"路灯\"  ".to_string(),
            2 => "lamps".to_string(),
            3 => format!("\"道路{}\"", i % 5),
            _ => ["供暖", "路灯", "噪音扰民"][i % 3].to_string(),
        };
        let score = if i.is_multiple_of(5) {
            String::new()
        } else {
            format!("{}.5", 60 + i % 40)
        };
        format!(
            "{unit},{topic},{score},2023-03-{:02} 08:{:02}:00",
            1 + i % 28,
            i % 60
        )
    };
    let plain = rows(300, row);
    let with = |at: usize, cell: &str| {
        rows(300, |i| {
            if i == at {
                format!("甲镇,{cell},90,2023-03-02 08:00:00")
            } else {
                row(i)
            }
        })
    };
    let bad_cells = rows(300, |i| {
        if i % 9 == 4 {
            "甲镇,供暖,九十,2023-03-02 08:00:00".to_string()
        } else {
            row(i)
        }
    });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("plain", encoding_rs::GBK.encode(&plain).0.into_owned()),
        (
            "euro",
            encoding_rs::GBK.encode(&with(200, "€供暖")).0.into_owned(),
        ),
        (
            "four-byte",
            encoding_rs::GB18030
                .encode(&with(150, "𠀀供暖"))
                .0
                .into_owned(),
        ),
        (
            "bad-cells",
            encoding_rs::GBK.encode(&bad_cells).0.into_owned(),
        ),
        ("bad-byte", {
            let mut bytes = encoding_rs::GBK.encode(&with(220, "供暖XY")).0.into_owned();
            let at = bytes.windows(2).position(|w| w == b"XY").expect("marker");
            bytes[at] = 0xFF;
            bytes
        }),
    ];
    for (name, csv) in cases {
        assert!(std::str::from_utf8(&csv).is_err(), "{name} is not GBK-only");
        let dir = folder(&format!("gbk-{name}"), &csv);
        let whole = eval::load(&checked, &dir, month("2023-03"))
            .and_then(|tables| eval::evaluate_with(&checked, tables, month("2023-03"), FULL));
        let ok = matches!(name, "plain" | "euro" | "four-byte");
        match &whole {
            Ok(_) => assert!(ok, "{name} has no problem"),
            Err(problems) => assert!(!ok, "{name}: {problems:?}"),
        }
        for block in [1usize, 100, 333, 4096] {
            if ok {
                let streamed =
                    eval::evaluate_in_blocks(&checked, &dir, month("2023-03"), FULL, block);
                assert_eq!(
                    streamed.as_ref().ok(),
                    whole.as_ref().ok(),
                    "{name}, blocks of {block} bytes"
                );
            } else {
                assert_same_problems(&checked, &dir, name, &[block]);
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A text column nothing reads is only checked for blanks, and its GBK cells
/// are not decoded for that: a cell of ideographic spaces (U+3000, two GBK
/// encodings) is blank as when decoded, at every block size.
#[test]
fn unread_gbk_text_blanks_are_found_as_when_decoded() {
    let policy = r#"
policy "t" { }
source 工单 from csv "tickets.csv" encoding gbk {
  单位 unit
  备注 text
  时 datetime
}
units { 镇街: 甲镇, 乙镇 }
metric 件数 from 工单 by 单位 = count()
"#;
    let checked = hotline::compile(&SourceFile::new("t.policy", policy.to_string()))
        .unwrap_or_else(|p| panic!("{p:?}"));
    let csv = |blank: &str| {
        let mut csv = String::from("单位,备注,时\n");
        for i in 0..300 {
            let note = match i {
                120 => blank.to_string(),
                _ => ["路灯", "\u{3000}路灯\u{3000}", "lamps", " 供暖 "][i % 4].to_string(),
            };
            csv.push_str(&format!("甲镇,{note},2023-03-02 08:00:00\n"));
        }
        csv
    };
    // `A3 A0` is the other GBK encoding of U+3000.
    let other_space = |text: String| {
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        let mut bytes = bytes.into_owned();
        let at = bytes.windows(2).position(|w| w == b"@@").expect("marker");
        bytes.splice(at..at + 2, [0xA3, 0xA0]);
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "filled",
            encoding_rs::GBK.encode(&csv("备注")).0.into_owned(),
            true,
        ),
        (
            "ideographic",
            encoding_rs::GBK
                .encode(&csv("\u{3000}\u{3000}"))
                .0
                .into_owned(),
            false,
        ),
        (
            "mixed",
            encoding_rs::GBK.encode(&csv(" \u{3000}\t")).0.into_owned(),
            false,
        ),
        ("other-encoding", other_space(csv("\u{3000}@@")), false),
    ];
    let m = month("2023-03");
    for (name, bytes, ok) in cases {
        let dir = folder(&format!("gbk-unread-{name}"), &bytes);
        let whole = eval::load(&checked, &dir, m)
            .and_then(|tables| eval::evaluate_with(&checked, tables, m, FULL));
        assert_eq!(whole.is_ok(), ok, "{name}: {whole:?}");
        if let Err(problems) = &whole {
            assert!(
                format!("{problems:?}").contains("line: 122"),
                "{name}: {problems:?}"
            );
        }
        for block in [1usize, 100, 4096] {
            let streamed = eval::evaluate_in_blocks(&checked, &dir, m, FULL, block);
            assert_eq!(
                format!("{streamed:?}"),
                format!("{whole:?}"),
                "{name}, blocks of {block} bytes"
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
