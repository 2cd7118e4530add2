//! Hostile and broken inputs: a clear error or a correct load, never a panic, never a
//! silently dropped row.

use hotline::data::{load_table, ColumnData, ColumnSpec, ColumnType, FileFormat, UnitResolver};
use std::path::PathBuf;

struct Units;

impl UnitResolver for Units {
    fn resolve(&self, name: &str) -> Option<u32> {
        ["甲镇", "乙镇"]
            .iter()
            .position(|u| *u == name)
            .map(|i| i as u32)
    }
    fn names(&self) -> Vec<String> {
        vec!["甲镇".into(), "乙镇".into()]
    }
}

fn specs() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec {
            name: "单位".into(),
            header: "单位".into(),
            ty: ColumnType::Unit,
            nullable: false,
        },
        ColumnSpec {
            name: "内容".into(),
            header: "内容".into(),
            ty: ColumnType::Text,
            nullable: true,
        },
    ]
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-bad-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

#[test]
fn a_ten_megabyte_field_loads_whole() {
    let path = temp("big").join("t.csv");
    let big = "诉".repeat(10 * 1024 * 1024 / 3);
    std::fs::write(&path, format!("单位,内容\n甲镇,\"{big}\"\n乙镇,短\n")).expect("write");
    let table =
        load_table(&path, &FileFormat::Csv { encoding: None }, &specs(), &Units).expect("loads");
    assert_eq!(table.len(), 2);
    let Some(ColumnData::Text(texts)) = table.columns.get(1) else {
        panic!("text column")
    };
    assert_eq!(texts[0].as_deref().map(str::len), Some(big.len()));
    assert_eq!(table.lines, vec![2, 3]);
}

#[test]
fn a_workbook_with_a_stray_cell_far_away_is_read_without_a_huge_allocation() {
    let path = temp("stray").join("d.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("质效考核").expect("name");
    sheet.write_string(0, 0, "单位").expect("cell");
    sheet.write_string(0, 1, "内容").expect("cell");
    sheet.write_string(1, 0, "甲镇").expect("cell");
    // The last cell a sheet can have: a dense range would be 17 billion cells.
    sheet.write_string(1_048_575, 16_383, "x").expect("cell");
    book.save(&path).expect("save");
    let result = load_table(
        &path,
        &FileFormat::Xlsx {
            sheet: "质效考核".into(),
        },
        &specs(),
        &Units,
    );
    match result {
        Ok(table) => {
            // The stray row has no unit: it must not vanish silently.
            panic!(
                "loaded {} rows without reporting the stray row",
                table.len()
            );
        }
        Err(e) => {
            let text = format!("{e}");
            assert!(text.contains("d.xlsx"), "{text}");
        }
    }
}

#[test]
fn a_file_of_random_bytes_is_an_error_not_a_panic() {
    let dir = temp("random");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..200 {
        let mut bytes = b"\xe5\x8d\x95\xe4\xbd\x8d,\xe5\x86\x85\xe5\xae\xb9\n".to_vec();
        for _ in 0..(round * 7 % 300) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(b",\"\n\r\xe7\x94\xb2\xe9\x95\x87a"[(seed % 11) as usize]);
        }
        let path = dir.join(format!("{round}.csv"));
        std::fs::write(&path, &bytes).expect("write");
        let _ = load_table(&path, &FileFormat::Csv { encoding: None }, &specs(), &Units);
        let xlsx = dir.join(format!("{round}.xlsx"));
        std::fs::write(&xlsx, &bytes).expect("write");
        assert!(load_table(
            &xlsx,
            &FileFormat::Xlsx { sheet: "s".into() },
            &specs(),
            &Units
        )
        .is_err());
    }
}

#[test]
fn rows_of_a_file_with_bare_cr_line_ends_have_their_own_line_numbers() {
    let path = temp("cr").join("t.csv");
    std::fs::write(&path, "单位,内容\r甲镇,a\r乙镇,b\r丙镇,c\r").expect("write");
    let err = load_table(&path, &FileFormat::Csv { encoding: None }, &specs(), &Units)
        .expect_err("丙镇 is no unit");
    let rendered = format!("{:?}", err);
    assert!(rendered.contains("line: 4"), "{rendered}");
    let ok = temp("cr2").join("t.csv");
    std::fs::write(&ok, "单位,内容\r甲镇,a\r\n乙镇,b\r").expect("write");
    let table =
        load_table(&ok, &FileFormat::Csv { encoding: None }, &specs(), &Units).expect("loads");
    assert_eq!(table.lines, vec![2, 3]);
}

#[test]
fn a_long_chain_of_definitions_does_not_overflow_the_stack() {
    // Found by fuzzing: the dependency sort was recursive, one frame per link.
    let mut text = String::from("source 工单 from csv \"t.csv\" { 单位 text }\n");
    let depth = 20_000;
    for i in 0..depth {
        text.push_str(&format!("metric m{i} = m{} + 1\n", i + 1));
    }
    text.push_str(&format!(
        "metric m{depth} = 1\nreport {{ text \"{{{{ m0 }}}}\" }}\n"
    ));
    let file = hotline::span::SourceFile::new("chain.policy", text);
    let errors = match hotline::compile(&file) {
        Ok(_) => 0,
        Err(p) => p.iter().filter(|p| !p.is_warning()).count(),
    };
    assert_eq!(errors, 0);
}
