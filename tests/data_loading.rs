//! Tests of the data-loading stage (`hotline::data`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hotline::data::{
    load_table, CellError, ColumnData, ColumnSpec, ColumnType, Encoding, FileFormat, LoadError,
    Table, UnitResolver, MAX_KEPT_CELL_ERRORS,
};
use miette::Diagnostic;
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------
// Helpers

/// The handling units of the Dong'e data, with the old names of two offices.
const UNITS: &[&str] = &[
    "东阿交警大队",
    "县供电公司",
    "县行政执法局",
    "县教育体育局",
    "县市场监督管理局",
    "牛角店镇",
    "新城街道",
    "鱼山镇",
    "刘集镇",
    "县住建局",
    "姚寨镇",
    "县人社局",
    "县交通运输局",
    "县卫生健康局",
    "姜楼镇",
    "县东财公司",
    "陈集镇",
    "东阿吉电（综合执法局）",
    "县民政局",
    "铜城街道",
    "县农业农村局",
    "经济开发区",
    "高集镇",
    "县医疗保障局",
    "县水利局",
    "县自然资源规划局",
    "东阿生态环境分局",
    "县文化旅游局",
    "县公安局",
    "大桥镇",
    "县行政审批服务局",
    "县融媒体中心",
    "东阿公路事业发展中心",
    "县司法局",
    "县发改局",
    "县残联",
    "县工信局",
    "县税务局",
    "县退役军人事务局",
    "县商务投资促进局",
    "县消防大队",
    "县应急管理局",
    "县烟草公司",
    "县人民武装部",
    "县工业公司",
    "县住房公积金",
    "东阿黄河河务局",
    // Appears only in the spot checks.
    "县财政局",
];

const ALIASES: &[(&str, &str)] = &[("新城办事处", "新城街道"), ("铜城办事处", "铜城街道")];

struct Units;

impl UnitResolver for Units {
    fn resolve(&self, name: &str) -> Option<u32> {
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, real)| real);
        UNITS.iter().position(|u| *u == name).map(|i| i as u32)
    }
    fn names(&self) -> Vec<String> {
        UNITS.iter().map(|s| s.to_string()).collect()
    }
}

fn unit(name: &str) -> u32 {
    Units.resolve(name).unwrap()
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dong-e")
}

/// A fresh temporary folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!(
        "hotline-data-loading-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn write(dir: &Path, file: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn spec(header: &str, ty: ColumnType, nullable: bool) -> ColumnSpec {
    ColumnSpec {
        name: format!("f_{header}"),
        header: header.to_string(),
        ty,
        nullable,
    }
}

fn text(header: &str) -> ColumnSpec {
    spec(header, ColumnType::Text, false)
}

fn datetime(header: &str, nullable: bool) -> ColumnSpec {
    spec(
        header,
        ColumnType::DateTime {
            format: "%Y-%m-%d %H:%M:%S".to_string(),
        },
        nullable,
    )
}

fn enumeration(header: &str, labels: &[&str], nullable: bool) -> ColumnSpec {
    spec(
        header,
        ColumnType::Enum {
            labels: labels.iter().map(|s| s.to_string()).collect(),
        },
        nullable,
    )
}

fn yes_no(header: &str) -> ColumnSpec {
    spec(
        header,
        ColumnType::Bool {
            true_spellings: vec!["是".to_string()],
            false_spellings: vec!["否".to_string()],
        },
        false,
    )
}

fn csv() -> FileFormat {
    FileFormat::Csv { encoding: None }
}

fn csv_in(encoding: Encoding) -> FileFormat {
    FileFormat::Csv {
        encoding: Some(encoding),
    }
}

fn seconds(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn texts(table: &Table, i: usize) -> &[Option<std::sync::Arc<str>>] {
    match &table.columns[i] {
        ColumnData::Text(v) => v,
        other => panic!("not text: {other:?}"),
    }
}

fn decimals(table: &Table, i: usize) -> &[Option<Decimal>] {
    match &table.columns[i] {
        ColumnData::Decimal(v) => v,
        other => panic!("not decimal: {other:?}"),
    }
}

fn datetimes(table: &Table, i: usize) -> &[Option<i64>] {
    match &table.columns[i] {
        ColumnData::DateTime(v) => v,
        other => panic!("not date-time: {other:?}"),
    }
}

fn units_of(table: &Table, i: usize) -> &[Option<u32>] {
    match &table.columns[i] {
        ColumnData::Unit(v) => v,
        other => panic!("not unit: {other:?}"),
    }
}

fn enums(table: &Table, i: usize) -> &[Option<u32>] {
    match &table.columns[i] {
        ColumnData::Enum(v) => v,
        other => panic!("not enum: {other:?}"),
    }
}

fn bools(table: &Table, i: usize) -> &[Option<bool>] {
    match &table.columns[i] {
        ColumnData::Bool(v) => v,
        other => panic!("not bool: {other:?}"),
    }
}

fn help(e: &dyn Diagnostic) -> String {
    e.help().map(|h| h.to_string()).unwrap_or_default()
}

fn bad_cells(result: Result<Table, LoadError>) -> (Vec<CellError>, usize) {
    match result {
        Err(LoadError::BadCells { errors, total, .. }) => (errors, total),
        other => panic!("expected bad cells, got {other:?}"),
    }
}

fn malformed(result: Result<Table, LoadError>) -> (u64, String, String) {
    match result {
        Err(e @ LoadError::Malformed { .. }) => {
            let h = help(&e);
            let LoadError::Malformed { line, message, .. } = e else {
                unreachable!()
            };
            (line, message, h)
        }
        other => panic!("expected malformed, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The real data

fn ticket_specs() -> Vec<ColumnSpec> {
    vec![
        text("工单编号"),
        datetime("受理时间", false),
        enumeration("来源", &["市平台", "省平台"], false),
        enumeration("诉求类型", &["投诉", "求助", "举报", "咨询", "建议"], false),
        text("一级分类"),
        text("二级分类"),
        text("三级分类"),
        spec("涉及对象", ColumnType::Text, true),
        enumeration("办理方式", &["派单", "直办"], false),
        spec("承办单位", ColumnType::Unit, true),
        datetime("派单时间", true),
        datetime("签收时间", true),
        datetime("办理时限", true),
        datetime("办结时间", true),
        enumeration("回访解决情况", &["已解决", "基本解决", "未解决"], true),
        spec("满意度评分", ColumnType::Decimal, true),
        yes_no("市级重办"),
        text("诉求内容"),
    ]
}

#[test]
fn loads_the_march_tickets() {
    let path = data_dir().join("2023-03/tickets.csv");
    let table = load_table(&path, &csv(), &ticket_specs(), &Units).unwrap();
    assert_eq!(table.len(), 4801);
    assert_eq!(table.columns.len(), 18);
    assert!(table.columns.iter().all(|c| c.len() == 4801));
    assert_eq!(table.encoding, Some((Encoding::Utf8, true)));

    let ids = texts(&table, 0);
    assert_eq!(ids[0].as_deref(), Some("DE230300001"));
    assert_eq!(ids[4800].as_deref(), Some("DE230304801"));
    // Line numbers count the newlines inside quoted fields.
    assert_eq!(table.lines[0], 2);
    assert_eq!(table.lines[33], 35); // DE230300034 spans two lines
    assert_eq!(table.lines[34], 37);
    assert_eq!(table.lines[4800], 4904);
    let content = texts(&table, 17)[33].as_deref().unwrap();
    assert!(content.contains("请协调解决。\n补充："), "{content:?}");

    // DE230300089: score 91.5, accepted 2023-03-01 14:02:02, 陈集镇.
    let i = ids
        .iter()
        .position(|id| id.as_deref() == Some("DE230300089"))
        .unwrap();
    assert_eq!(i, 88);
    assert_eq!(table.lines[i], 92);
    assert_eq!(decimals(&table, 15)[i], Some(dec("91.5")));
    assert_eq!(decimals(&table, 15)[i].unwrap().to_string(), "91.5");
    assert_eq!(
        datetimes(&table, 1)[i],
        Some(seconds("2023-03-01 14:02:02"))
    );
    assert_eq!(units_of(&table, 9)[i], Some(unit("陈集镇")));
    assert_eq!(enums(&table, 14)[i], None);
    assert_eq!(texts(&table, 7)[i], None);

    // First row.
    assert_eq!(enums(&table, 2)[0], Some(1)); // 省平台
    assert_eq!(enums(&table, 14)[0], Some(0)); // 已解决
    assert_eq!(bools(&table, 16)[0], Some(false));
    assert_eq!(
        datetimes(&table, 13)[0],
        Some(seconds("2023-03-09 23:02:42"))
    );

    // Aggregates, checked against an independent reading of the file.
    let scores = decimals(&table, 15);
    assert_eq!(scores.iter().flatten().count(), 4168);
    assert_eq!(scores.iter().flatten().sum::<Decimal>(), dec("414358.0"));
    assert_eq!(
        bools(&table, 16)
            .iter()
            .filter(|b| **b == Some(true))
            .count(),
        9
    );
    assert_eq!(
        units_of(&table, 9).iter().filter(|u| u.is_none()).count(),
        74
    );
    let zhujian = unit("县住建局");
    assert_eq!(
        units_of(&table, 9)
            .iter()
            .filter(|u| **u == Some(zhujian))
            .count(),
        530
    );
    let unresolved = enums(&table, 14).iter().filter(|e| e.is_none()).count();
    assert_eq!(unresolved, 1528);
}

#[test]
fn loads_the_february_tickets() {
    let path = data_dir().join("2023-02/tickets.csv");
    let table = load_table(&path, &csv(), &ticket_specs(), &Units).unwrap();
    assert_eq!(table.len(), 4745);
}

fn spot_check_specs() -> Vec<ColumnSpec> {
    vec![
        text("工单编号"),
        spec("承办单位", ColumnType::Unit, false),
        yes_no("是否解决"),
        yes_no("过程是否满意"),
        datetime("抽访时间", false),
    ]
}

#[test]
fn loads_the_gbk_spot_checks_with_detection() {
    let path = data_dir().join("2023-03/spot-checks.csv");
    let table = load_table(&path, &csv(), &spot_check_specs(), &Units).unwrap();
    assert_eq!(table.encoding, Some((Encoding::Gbk, true)));
    assert_eq!(table.len(), 848);
    assert_eq!(texts(&table, 0)[0].as_deref(), Some("DE230304323"));
    assert_eq!(units_of(&table, 1)[0], Some(unit("县住建局")));
    assert_eq!(bools(&table, 2)[0], Some(true));
    assert_eq!(
        datetimes(&table, 4)[0],
        Some(seconds("2023-04-06 12:49:00"))
    );
    // Old names resolve through the aliases.
    assert_eq!(units_of(&table, 1)[847], Some(unit("新城街道")));
    let tongcheng = units_of(&table, 1)
        .iter()
        .filter(|u| **u == Some(unit("铜城街道")))
        .count();
    assert_eq!(tongcheng, 76);
    let caizheng = units_of(&table, 1)
        .iter()
        .filter(|u| **u == Some(unit("县财政局")))
        .count();
    assert_eq!(caizheng, 1);
    assert_eq!(
        bools(&table, 2)
            .iter()
            .filter(|b| **b == Some(true))
            .count(),
        513
    );
    assert_eq!(
        bools(&table, 3)
            .iter()
            .filter(|b| **b == Some(false))
            .count(),
        167
    );

    // Declared: the same values, not marked as detected.
    let declared = load_table(&path, &csv_in(Encoding::Gbk), &spot_check_specs(), &Units).unwrap();
    assert_eq!(declared.encoding, Some((Encoding::Gbk, false)));
    assert_eq!(declared.columns, table.columns);
}

#[test]
fn header_only_gbk_file_has_no_rows() {
    let path = data_dir().join("2023-02/spot-checks.csv");
    let table = load_table(&path, &csv(), &spot_check_specs(), &Units).unwrap();
    assert!(table.is_empty());
    assert_eq!(table.encoding, Some((Encoding::Gbk, true)));
    assert!(table.columns.iter().all(|c| c.is_empty()));
}

fn deduction_specs() -> Vec<ColumnSpec> {
    vec![
        spec("单位", ColumnType::Unit, false),
        text("扣分事项"),
        spec("扣分", ColumnType::Decimal, false),
    ]
}

fn xlsx(sheet: &str) -> FileFormat {
    FileFormat::Xlsx {
        sheet: sheet.to_string(),
    }
}

#[test]
fn loads_the_deductions_workbook() {
    let path = data_dir().join("2023-03/deductions.xlsx");
    let table = load_table(&path, &xlsx("质效考核"), &deduction_specs(), &Units).unwrap();
    assert_eq!(table.len(), 26);
    assert_eq!(table.lines.first(), Some(&2));
    assert_eq!(table.lines.last(), Some(&27));
    assert_eq!(table.encoding, None);
    assert_eq!(texts(&table, 1)[0].as_deref(), Some("回访不满意扣分"));
    assert_eq!(decimals(&table, 2)[0], Some(dec("-0.01")));
    // -0.23 stays exactly -0.23.
    assert_eq!(decimals(&table, 2)[25].unwrap().to_string(), "-0.23");
    // The sheet XML has `-0.07000000000000001`: the same binary number as -0.07.
    assert_eq!(decimals(&table, 2)[16].unwrap().to_string(), "-0.07");

    let mut per_unit: BTreeMap<u32, Decimal> = BTreeMap::new();
    for (u, d) in units_of(&table, 0).iter().zip(decimals(&table, 2)) {
        *per_unit.entry(u.unwrap()).or_default() += d.unwrap();
    }
    let expected = [
        ("姜楼镇", "-0.01"),
        ("新城街道", "-0.11"),
        ("县市场监督管理局", "-0.15"),
        ("县交通运输局", "-0.19"),
        ("县行政执法局", "-0.01"),
        ("东阿吉电（综合执法局）", "-0.18"),
        ("县住建局", "-0.20"),
        ("县教育体育局", "-0.01"),
        ("县水利局", "-0.33"),
        ("县人社局", "-0.44"),
        ("经济开发区", "-0.01"),
        ("东阿生态环境分局", "-0.03"),
        ("县卫生健康局", "-0.01"),
        ("县农业农村局", "-1.00"),
        ("县消防大队", "-0.06"),
        ("县人民武装部", "-0.23"),
    ];
    assert_eq!(per_unit.len(), expected.len());
    for (name, total) in expected {
        assert_eq!(per_unit[&unit(name)], dec(total), "{name}");
    }
    let all: Decimal = per_unit.values().sum();
    assert_eq!(all, dec("-2.97"));
}

#[test]
fn header_only_workbook_has_no_rows() {
    let path = data_dir().join("2023-02/deductions.xlsx");
    let table = load_table(&path, &xlsx("质效考核"), &deduction_specs(), &Units).unwrap();
    assert!(table.is_empty());
}

// ---------------------------------------------------------------------------
// CSV details

#[test]
fn bom_crlf_and_quoted_newlines() {
    let dir = temp_dir("bom");
    let path = write(
        &dir,
        "t.csv",
        "\u{feff}工单编号,满意度评分,诉求内容\r\nA1,87.5,\"x\r\ny\"\r\nA2,,\"say \"\"hi\"\"\"\r\n\r\n",
    );
    let specs = [
        text("工单编号"),
        spec("满意度评分", ColumnType::Percent, true),
        text("诉求内容"),
    ];
    let table = load_table(&path, &csv(), &specs, &Units).unwrap();
    assert_eq!(table.encoding, Some((Encoding::Utf8, true)));
    assert_eq!(table.lines, vec![2, 4]);
    assert_eq!(decimals(&table, 1), &[Some(dec("87.5")), None]);
    assert_eq!(texts(&table, 2)[0].as_deref(), Some("x\r\ny"));
    assert_eq!(texts(&table, 2)[1].as_deref(), Some("say \"hi\""));

    let declared = load_table(&path, &csv_in(Encoding::Utf8), &specs, &Units).unwrap();
    assert_eq!(declared.encoding, Some((Encoding::Utf8, false)));
}

#[test]
fn only_declared_columns_are_read_and_whitespace_is_trimmed() {
    let dir = temp_dir("subset");
    let path = write(
        &dir,
        "t.csv",
        "a,junk,b,c\n 1 ,not a number, 87.5% ,\u{3000}\nx,y,12,  \n",
    );
    let specs = [
        spec("c", ColumnType::Text, true),
        spec("b", ColumnType::Percent, false),
        spec("a", ColumnType::Text, false),
    ];
    let table = load_table(&path, &csv(), &specs, &Units).unwrap();
    assert_eq!(texts(&table, 0), &[None, None]);
    assert_eq!(decimals(&table, 1), &[Some(dec("87.5")), Some(dec("12"))]);
    assert_eq!(texts(&table, 2)[0].as_deref(), Some("1"));
}

#[test]
fn integers_percents_and_decimals() {
    let dir = temp_dir("numbers");
    let path = write(
        &dir,
        "t.csv",
        "n,p,d\n12,87.5%,-0.23\n-3,100,100\n12.5,abc,1e5\n",
    );
    let specs = [
        spec("n", ColumnType::Integer, false),
        spec("p", ColumnType::Percent, false),
        spec("d", ColumnType::Decimal, false),
    ];
    let (errors, total) = bad_cells(load_table(&path, &csv(), &specs, &Units));
    assert_eq!(total, 3);
    assert_eq!(errors[0].line, 4);
    assert_eq!(errors[0].column, 1);
    assert_eq!(errors[0].value, "12.5");
    assert_eq!(errors[0].expected, "a whole number like `12`");
    assert_eq!(errors[1].value, "abc");
    assert_eq!(errors[1].column, 2);
    assert_eq!(errors[2].value, "1e5");

    let path = write(&dir, "ok.csv", "n,p,d\n12,87.5%,-0.23\n-3,100,100\n");
    let table = load_table(&path, &csv(), &specs, &Units).unwrap();
    match &table.columns[0] {
        ColumnData::Integer(v) => assert_eq!(v, &[Some(12), Some(-3)]),
        other => panic!("{other:?}"),
    }
    assert_eq!(decimals(&table, 1), &[Some(dec("87.5")), Some(dec("100"))]);
    assert_eq!(decimals(&table, 2)[0].unwrap().to_string(), "-0.23");
}

#[test]
fn gbk_declared_and_mismatched() {
    let dir = temp_dir("gbk");
    let (gbk, _, _) =
        encoding_rs::GB18030.encode("工单编号,承办单位\nA1,县住建局\nA2,新城办事处\n");
    let path = write(&dir, "gbk.csv", &gbk);
    let specs = [text("工单编号"), spec("承办单位", ColumnType::Unit, false)];
    let table = load_table(&path, &csv_in(Encoding::Gbk), &specs, &Units).unwrap();
    assert_eq!(table.encoding, Some((Encoding::Gbk, false)));
    assert_eq!(
        units_of(&table, 1),
        &[Some(unit("县住建局")), Some(unit("新城街道"))]
    );

    // A UTF-8 file declared as GBK: garbled headers, with a hint.
    let path = write(&dir, "utf8.csv", "工单编号,承办单位\nA1,县住建局\n");
    let err = load_table(&path, &csv_in(Encoding::Gbk), &specs, &Units).unwrap_err();
    assert!(matches!(err, LoadError::MissingColumns { .. }), "{err:?}");
    assert!(
        help(&err).contains("declare `encoding utf8`"),
        "{}",
        help(&err)
    );
}

#[test]
fn invalid_utf8_declared_utf8_hints_at_gbk() {
    let dir = temp_dir("utf8-gbk");
    let mut bytes = b"id,unit\nA1,x\n".to_vec();
    let (gbk, _, _) = encoding_rs::GB18030.encode("A2,县住建局\n");
    bytes.extend_from_slice(&gbk);
    let path = write(&dir, "t.csv", &bytes);
    let specs = [text("id"), text("unit")];
    let (line, message, hint) =
        malformed(load_table(&path, &csv_in(Encoding::Utf8), &specs, &Units));
    assert_eq!(line, 3);
    assert_eq!(message, "line 3 has bytes that are not valid UTF-8");
    assert_eq!(hint, "the file looks GBK-encoded: declare `encoding gbk`");

    // Detection reads it as GBK.
    let table = load_table(&path, &csv(), &specs, &Units).unwrap();
    assert_eq!(table.encoding, Some((Encoding::Gbk, true)));
    assert_eq!(texts(&table, 1)[1].as_deref(), Some("县住建局"));
}

#[test]
fn bytes_that_are_neither_utf8_nor_gbk() {
    let dir = temp_dir("binary");
    let path = write(&dir, "t.csv", b"id\nA1\nA2\xFF\xFF\n");
    let (line, message, _) = malformed(load_table(&path, &csv(), &[text("id")], &Units));
    assert_eq!(line, 3);
    assert!(
        message.contains("neither UTF-8 nor GBK: line 3"),
        "{message}"
    );
}

#[test]
fn ragged_row() {
    let dir = temp_dir("ragged");
    let path = write(&dir, "t.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n");
    let specs = [text("a")];
    let (line, message, hint) = malformed(load_table(&path, &csv(), &specs, &Units));
    assert_eq!(line, 3);
    assert_eq!(message, "line 3 has 2 fields, the header has 3");
    assert!(hint.contains("missing"), "{hint}");

    let path = write(&dir, "long.csv", "a,b,c\r\n1,2,3\r\n4,5,6,7\r\n");
    let (line, message, _) = malformed(load_table(&path, &csv(), &specs, &Units));
    assert_eq!(
        (line, message.as_str()),
        (3, "line 3 has 4 fields, the header has 3")
    );

    let err = load_table(&path, &csv(), &specs, &Units).unwrap_err();
    assert!(err
        .to_string()
        .ends_with("long.csv`: line 3 has 4 fields, the header has 3"));
}

#[test]
fn unclosed_quote() {
    let dir = temp_dir("quote");
    // The quote swallows the rest of the file, leaving too few fields.
    let path = write(&dir, "t.csv", "a,b,c\n1,2,3\n4,\"5,6\n7,8,9\n");
    let (line, message, hint) = malformed(load_table(&path, &csv(), &[text("a")], &Units));
    assert_eq!(line, 3);
    assert!(message.contains("never closed"), "{message}");
    assert!(hint.contains("closing quote"), "{hint}");

    // In the last column the record still has the right number of fields.
    let path = write(&dir, "last.csv", "a,b\n1,2\n3,\"4\n5,6\n");
    let (line, message, _) = malformed(load_table(&path, &csv(), &[text("a")], &Units));
    assert_eq!(line, 3);
    assert!(message.contains("never closed"), "{message}");

    // A stray quote in the middle of the file desynchronises the fields.
    let path = write(&dir, "mid.csv", "a,b\n1,\"2\n3,4\n5,\"6\"\n7,8\n");
    let (line, _, hint) = malformed(load_table(&path, &csv(), &[text("a")], &Units));
    assert_eq!(line, 2);
    assert!(hint.contains("quote"), "{hint}");
}

#[test]
fn empty_files() {
    let dir = temp_dir("empty");
    for (name, content) in [
        ("empty.csv", &b""[..]),
        ("bom.csv", &b"\xEF\xBB\xBF"[..]),
        ("blank.csv", &b"\r\n\r\n"[..]),
    ] {
        let path = write(&dir, name, content);
        let err = load_table(&path, &csv(), &[text("a")], &Units).unwrap_err();
        assert!(matches!(err, LoadError::Empty { .. }), "{name}: {err:?}");
        assert!(err
            .to_string()
            .ends_with("` is empty: it has no header row"));
    }
}

#[test]
fn missing_file() {
    let path = temp_dir("missing").join("nope.csv");
    let err = load_table(&path, &csv(), &[text("a")], &Units).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with("cannot read `"));
    let err = load_table(&path, &xlsx("x"), &[text("a")], &Units).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
    let err = load_table(&path, &FileFormat::Jsonl, &[text("a")], &Units).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
}

#[test]
fn missing_column_suggests_the_closest_header() {
    let path = data_dir().join("2023-03/tickets.csv");
    let specs = [text("工单编号"), spec("承办部门", ColumnType::Unit, false)];
    let err = load_table(&path, &csv(), &specs, &Units).unwrap_err();
    let LoadError::MissingColumns { missing, found, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(missing, &["承办部门"]);
    assert_eq!(found.len(), 18);
    assert!(err
        .to_string()
        .ends_with("tickets.csv` has no column `承办部门`"));
    let h = help(&err);
    assert!(h.contains("did you mean `承办单位`?"), "{h}");
    assert!(h.contains("`工单编号`, `受理时间`"), "{h}");
    assert_eq!(
        err.code().map(|c| c.to_string()).as_deref(),
        Some("hotline::data::missing_columns")
    );

    // Several missing columns are all listed.
    let specs = [text("工单号"), text("满意度"), text("无关")];
    let err = load_table(&path, &csv(), &specs, &Units).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("has no columns `工单号`, `满意度`, `无关`"),
        "{err}"
    );
    let h = help(&err);
    assert!(h.contains("for `工单号`, did you mean `工单编号`?"), "{h}");
    assert!(
        h.contains("for `满意度`, did you mean `满意度评分`?"),
        "{h}"
    );
}

#[test]
fn duplicate_declared_header_is_ambiguous() {
    let dir = temp_dir("dup");
    let path = write(
        &dir,
        "t.csv",
        "工单编号,承办单位,备注,承办单位\nA1,县住建局,,县住建局\n",
    );
    let specs = [text("工单编号"), spec("承办单位", ColumnType::Unit, false)];
    let err = load_table(&path, &csv(), &specs, &Units).unwrap_err();
    match &err {
        LoadError::DuplicateHeader {
            header,
            line,
            column,
            ..
        } => {
            assert_eq!((header.as_str(), *line, *column), ("承办单位", 1, 4));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("ambiguous"), "{err}");

    // A duplicated header that is not declared is fine.
    let path = write(&dir, "ok.csv", "工单编号,备注,备注\nA1,,\n");
    let table = load_table(&path, &csv(), &[text("工单编号")], &Units).unwrap();
    assert_eq!(table.len(), 1);
}

#[test]
fn bad_date_is_reported_with_its_position() {
    let dir = temp_dir("bad-date");
    let path = write(
        &dir,
        "t.csv",
        "工单编号,派单时间\nA1,2023-03-01 08:00:00\nA2,2023-13-01 08:00:00\nA3,\n",
    );
    let specs = [text("工单编号"), datetime("派单时间", true)];
    let result = load_table(&path, &csv(), &specs, &Units);
    let err = result.as_ref().unwrap_err();
    assert!(
        err.to_string()
            .ends_with("t.csv`: 1 value does not fit its declared type"),
        "{err}"
    );
    let related: Vec<String> = err.related().unwrap().map(|e| e.to_string()).collect();
    assert_eq!(related.len(), 1);
    let (errors, total) = bad_cells(result);
    assert_eq!(total, 1);
    let e = &errors[0];
    assert_eq!((e.line, e.column), (3, 2));
    assert_eq!(e.header, "派单时间");
    assert_eq!(e.value, "2023-13-01 08:00:00");
    assert_eq!(
        e.to_string(),
        "line 3, column 2 (`派单时间`): `2023-13-01 08:00:00` is not a date-time of the form `%Y-%m-%d %H:%M:%S` like `2023-03-01 08:00:00`"
    );
    assert_eq!(related[0], e.to_string());
}

#[test]
fn unknown_enum_label_and_unit_suggest_names() {
    let dir = temp_dir("labels");
    let path = write(
        &dir,
        "t.csv",
        "承办单位,回访解决情况\n县住建局,已解决\n新城街,已解決\n住建局,基本解决\n",
    );
    let specs = [
        spec("承办单位", ColumnType::Unit, false),
        enumeration("回访解决情况", &["已解决", "基本解决", "未解决"], false),
    ];
    let (errors, total) = bad_cells(load_table(&path, &csv(), &specs, &Units));
    assert_eq!(total, 3);
    let unit_err = &errors[0];
    assert_eq!((unit_err.line, unit_err.column), (3, 1));
    assert_eq!(unit_err.expected, "a unit of the policy");
    assert!(
        unit_err
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `新城街道`?"),
        "{unit_err:?}"
    );
    let label_err = &errors[1];
    assert_eq!((label_err.line, label_err.column), (3, 2));
    assert_eq!(label_err.expected, "one of `已解决`, `基本解决`, `未解决`");
    assert_eq!(label_err.help.as_deref(), Some("did you mean `已解决`?"));
    assert_eq!(
        label_err.to_string(),
        "line 3, column 2 (`回访解决情况`): `已解決` is not one of `已解决`, `基本解决`, `未解决`"
    );
    assert!(errors[2].help.as_deref().unwrap().contains("`县住建局`"));
}

#[test]
fn empty_cell_in_a_column_that_is_not_nullable() {
    let dir = temp_dir("not-null");
    let path = write(&dir, "t.csv", "id,unit\nA1,  \n,县住建局\n");
    let specs = [text("id"), spec("unit", ColumnType::Unit, false)];
    let (errors, total) = bad_cells(load_table(&path, &csv(), &specs, &Units));
    assert_eq!(total, 2);
    assert_eq!((errors[0].line, errors[0].column), (2, 2));
    assert_eq!(errors[0].expected, "a value (the column is not nullable)");
    assert_eq!(
        errors[0].to_string(),
        "line 2, column 2 (`unit`): the cell is empty; expected a value (the column is not nullable)"
    );
    assert_eq!((errors[1].line, errors[1].column), (3, 1));
}

#[test]
fn all_bad_cells_are_counted_and_twenty_kept() {
    let dir = temp_dir("many");
    let mut content = String::from("id,score,at\n");
    for i in 0..30 {
        if i % 6 == 5 {
            content.push_str(&format!("A{i},90,2023-03-01 08:00:00\n"));
        } else {
            content.push_str(&format!("A{i},ninety,2023-03-01 08:00:00\n"));
        }
    }
    let path = write(&dir, "t.csv", &content);
    let specs = [
        text("id"),
        spec("score", ColumnType::Decimal, false),
        datetime("at", false),
    ];
    let result = load_table(&path, &csv(), &specs, &Units);
    let err = result.as_ref().unwrap_err();
    assert!(err
        .to_string()
        .ends_with(": 25 values do not fit their declared types"));
    assert!(
        help(err).starts_with("the first 20 of 25 are listed"),
        "{}",
        help(err)
    );
    // The miette report renders (and lists each kept cell).
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, err)
        .unwrap();
    assert!(out.contains("hotline::data::bad_cells"), "{out}");
    assert_eq!(
        out.matches("is not a decimal number like `87.5`").count(),
        20,
        "{out}"
    );
    let (errors, total) = bad_cells(result);
    assert_eq!(MAX_KEPT_CELL_ERRORS, 20);
    assert_eq!(errors.len(), 20);
    assert_eq!(total, 25);
    assert_eq!(errors[0].line, 2);
    assert_eq!(errors[19].line, 24); // the 20th bad row
}

#[test]
fn the_twenty_kept_are_the_first_in_file_order_across_columns() {
    // Bad cells in three columns, declared in another order than the file's: the kept
    // ones are the first 20 by line, and within a line in the order of the declarations.
    let dir = temp_dir("many-columns");
    let mut content = String::from("at,id,score\n");
    for i in 0..15 {
        let at = if i % 2 == 0 {
            "soon"
        } else {
            "2023-03-01 08:00:00"
        };
        let score = if i % 3 == 0 { "90" } else { "ninety" };
        content.push_str(&format!("{at},A{i},{score}\n"));
    }
    let path = write(&dir, "t.csv", &content);
    let specs = [
        text("id"),
        spec("score", ColumnType::Decimal, false),
        datetime("at", false),
    ];
    let (errors, total) = bad_cells(load_table(&path, &csv(), &specs, &Units));
    // Rows 0..15: 8 bad dates (even rows), 10 bad scores (rows not divisible by 3).
    assert_eq!(total, 18);
    let mut expected = Vec::new();
    for i in 0..15u64 {
        let line = i + 2;
        if i % 3 != 0 {
            expected.push((line, 3)); // score, declared before `at`
        }
        if i % 2 == 0 {
            expected.push((line, 1));
        }
    }
    let got: Vec<(u64, u64)> = errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(got, expected);

    // With more than twenty, the twenty kept are the first ones in that order.
    let mut content = String::from("at,id,score\n");
    for i in 0..30 {
        content.push_str(&format!("soon,A{i},ninety\n"));
    }
    let path = write(&dir, "u.csv", &content);
    let (errors, total) = bad_cells(load_table(&path, &csv(), &specs, &Units));
    assert_eq!(total, 60);
    let got: Vec<(u64, u64)> = errors.iter().map(|e| (e.line, e.column)).collect();
    let expected: Vec<(u64, u64)> = (2..12).flat_map(|line| [(line, 3), (line, 1)]).collect();
    assert_eq!(got, expected);
}

// ---------------------------------------------------------------------------
// XLSX

fn workbook(path: &Path, sheet: &str, fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).unwrap();
    fill(ws);
    wb.save(path).unwrap();
}

#[test]
fn xlsx_values_of_every_kind() {
    let dir = temp_dir("xlsx-kinds");
    let path = dir.join("k.xlsx");
    workbook(&path, "数据", |ws| {
        let pct = rust_xlsxwriter::Format::new().set_num_format("0.0%");
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        // The table starts at B3: the header is sheet row 3.
        for (c, h) in ["单位", "扣分", "比例", "时间", "编号", "重办"]
            .iter()
            .enumerate()
        {
            ws.write_string(2, 1 + c as u16, *h).unwrap();
        }
        ws.write_string(3, 1, " 新城办事处 ").unwrap();
        ws.write_number(3, 2, -0.23).unwrap();
        ws.write_number_with_format(3, 3, 0.875, &pct).unwrap();
        let dt = rust_xlsxwriter::ExcelDateTime::parse_from_str("2023-03-01 08:00:00").unwrap();
        ws.write_datetime_with_format(3, 4, &dt, &date).unwrap();
        ws.write_number(3, 5, 230300001.0).unwrap();
        ws.write_boolean(3, 6, true).unwrap();
        // Row 5 is empty; row 6 has values again.
        ws.write_string(5, 1, "县住建局").unwrap();
        ws.write_string(5, 2, "-1.5").unwrap();
        ws.write_string(5, 3, "87.5%").unwrap();
        ws.write_string(5, 4, "2023-03-02 09:30:00").unwrap();
        ws.write_string(5, 5, "DE1").unwrap();
        ws.write_string(5, 6, "否").unwrap();
    });
    let specs = [
        spec("单位", ColumnType::Unit, false),
        spec("扣分", ColumnType::Decimal, false),
        spec("比例", ColumnType::Percent, false),
        datetime("时间", false),
        text("编号"),
        spec(
            "重办",
            ColumnType::Bool {
                true_spellings: vec!["是".into()],
                false_spellings: vec!["否".into()],
            },
            false,
        ),
    ];
    let table = load_table(&path, &xlsx("数据"), &specs, &Units).unwrap();
    assert_eq!(table.lines, vec![4, 6]);
    assert_eq!(
        units_of(&table, 0),
        &[Some(unit("新城街道")), Some(unit("县住建局"))]
    );
    assert_eq!(
        decimals(&table, 1),
        &[Some(dec("-0.23")), Some(dec("-1.5"))]
    );
    assert_eq!(decimals(&table, 2), &[Some(dec("87.5")), Some(dec("87.5"))]);
    assert_eq!(
        datetimes(&table, 3),
        &[
            Some(seconds("2023-03-01 08:00:00")),
            Some(seconds("2023-03-02 09:30:00"))
        ]
    );
    assert_eq!(texts(&table, 4)[0].as_deref(), Some("230300001"));
    assert_eq!(bools(&table, 5), &[Some(true), Some(false)]);
}

#[test]
fn xlsx_bad_cells_name_the_cell() {
    let dir = temp_dir("xlsx-bad");
    let path = dir.join("b.xlsx");
    workbook(&path, "质效考核", |ws| {
        ws.write_string(0, 0, "单位").unwrap();
        ws.write_string(0, 1, "扣分事项").unwrap();
        ws.write_string(0, 2, "扣分").unwrap();
        ws.write_string(1, 0, "县住建局").unwrap();
        ws.write_string(1, 1, "超期办结扣分").unwrap();
        ws.write_string(1, 2, "很多").unwrap();
        ws.write_string(2, 0, "县住建局").unwrap();
        ws.write_string(2, 1, "超期办结扣分").unwrap();
        ws.write_formula(
            2,
            2,
            rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!"),
        )
        .unwrap();
        ws.write_string(3, 1, "合计").unwrap();
        ws.write_number(3, 2, -0.5).unwrap();
    });
    let (errors, total) = bad_cells(load_table(
        &path,
        &xlsx("质效考核"),
        &deduction_specs(),
        &Units,
    ));
    assert_eq!(total, 3, "{errors:#?}");
    assert_eq!(errors[0].cell.as_deref(), Some("C2"));
    assert_eq!((errors[0].line, errors[0].column), (2, 3));
    assert_eq!(
        errors[0].to_string(),
        "cell C2 (`扣分`): `很多` is not a decimal number like `87.5`"
    );
    // A formula error is a bad value.
    assert_eq!(errors[1].cell.as_deref(), Some("C3"));
    assert_eq!(errors[1].value, "#DIV/0!");
    assert_eq!(
        errors[1].help.as_deref(),
        Some("the cell holds a spreadsheet error")
    );
    // The total row has no unit: it is a row, not silently dropped.
    assert_eq!(errors.last().unwrap().cell.as_deref(), Some("A4"));
}

#[test]
fn xlsx_missing_sheet_suggests_the_closest() {
    let dir = temp_dir("xlsx-sheet");
    let path = dir.join("d.xlsx");
    workbook(&path, "质效考核扣分", |ws| {
        ws.write_string(0, 0, "单位").unwrap();
    });
    let err = load_table(&path, &xlsx("质效考核"), &deduction_specs(), &Units).unwrap_err();
    match &err {
        LoadError::MissingSheet { sheet, sheets, .. } => {
            assert_eq!(sheet, "质效考核");
            assert_eq!(sheets, &["质效考核扣分"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().ends_with("d.xlsx` has no sheet `质效考核`"));
    assert!(
        help(&err).contains("did you mean `质效考核扣分`?"),
        "{}",
        help(&err)
    );
}

#[test]
fn xlsx_missing_column_and_empty_sheet() {
    let dir = temp_dir("xlsx-cols");
    let path = dir.join("c.xlsx");
    workbook(&path, "S", |ws| {
        ws.write_string(0, 0, "单位").unwrap();
        ws.write_string(0, 1, "扣分值").unwrap();
    });
    let err = load_table(&path, &xlsx("S"), &deduction_specs(), &Units).unwrap_err();
    match &err {
        LoadError::MissingColumns { missing, found, .. } => {
            assert_eq!(missing, &["扣分事项", "扣分"]);
            assert_eq!(found, &["单位", "扣分值"]);
        }
        other => panic!("{other:?}"),
    }

    let path = dir.join("e.xlsx");
    workbook(&path, "S", |_| {});
    let err = load_table(&path, &xlsx("S"), &deduction_specs(), &Units).unwrap_err();
    assert!(matches!(err, LoadError::Empty { .. }), "{err:?}");
}

#[test]
fn corrupt_xlsx() {
    let dir = temp_dir("xlsx-corrupt");
    let mut bytes = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..4096 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((x >> 16) as u8);
    }
    let path = write(&dir, "r.xlsx", &bytes);
    let err = load_table(&path, &xlsx("质效考核"), &deduction_specs(), &Units).unwrap_err();
    assert!(matches!(err, LoadError::Xlsx { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("cannot read the workbook `"),
        "{err}"
    );

    // A CSV renamed to .xlsx.
    let path = write(&dir, "c.xlsx", "单位,扣分事项,扣分\n");
    let err = load_table(&path, &xlsx("质效考核"), &deduction_specs(), &Units).unwrap_err();
    assert!(matches!(err, LoadError::Xlsx { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------
// JSONL

#[test]
fn jsonl_happy_path() {
    let dir = temp_dir("jsonl");
    let path = write(
        &dir,
        "t.jsonl",
        concat!(
            "{\"id\": \"A1\", \"unit\": \"县住建局\", \"score\": 87.5, \"ok\": true, \"n\": 3, \"at\": \"2023-03-01 08:00:00\"}\r\n",
            "\r\n",
            "{\"id\": \"A2\", \"unit\": \"铜城办事处\", \"score\": null, \"ok\": \"否\", \"n\": \"4\", \"extra\": [1]}\n",
            "   \n",
            "{\"unit\": \"新城街道\", \"id\": \"A3\", \"score\": \"91.5%\", \"ok\": false, \"n\": -1, \"at\": null}\n",
        ),
    );
    let specs = [
        text("id"),
        spec("unit", ColumnType::Unit, false),
        spec("score", ColumnType::Percent, true),
        yes_no("ok"),
        spec("n", ColumnType::Integer, false),
        datetime("at", true),
    ];
    let table = load_table(&path, &FileFormat::Jsonl, &specs, &Units).unwrap();
    assert_eq!(table.lines, vec![1, 3, 5]);
    assert_eq!(table.encoding, None);
    assert_eq!(texts(&table, 0)[2].as_deref(), Some("A3"));
    assert_eq!(
        units_of(&table, 1),
        &[
            Some(unit("县住建局")),
            Some(unit("铜城街道")),
            Some(unit("新城街道"))
        ]
    );
    assert_eq!(
        decimals(&table, 2),
        &[Some(dec("87.5")), None, Some(dec("91.5"))]
    );
    assert_eq!(bools(&table, 3), &[Some(true), Some(false), Some(false)]);
    match &table.columns[4] {
        ColumnData::Integer(v) => assert_eq!(v, &[Some(3), Some(4), Some(-1)]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        datetimes(&table, 5),
        &[Some(seconds("2023-03-01 08:00:00")), None, None]
    );
}

#[test]
fn jsonl_line_that_is_not_an_object() {
    let dir = temp_dir("jsonl-bad");
    let path = write(&dir, "t.jsonl", "{\"id\": \"A1\"}\n\n{\"id\": \"A2\"\n");
    let (line, message, _) =
        malformed(load_table(&path, &FileFormat::Jsonl, &[text("id")], &Units));
    assert_eq!(line, 3);
    assert!(
        message.starts_with("line 3 is not valid JSON (EOF while parsing an object at column "),
        "{message}"
    );

    let path = write(&dir, "array.jsonl", "{\"id\": \"A1\"}\n[1, 2]\n");
    let (line, message, _) =
        malformed(load_table(&path, &FileFormat::Jsonl, &[text("id")], &Units));
    assert_eq!(line, 2);
    assert_eq!(message, "line 2 is a JSON list, not an object");

    let path = write(&dir, "text.jsonl", "id,unit\nA1,x\n");
    let (line, _, _) = malformed(load_table(&path, &FileFormat::Jsonl, &[text("id")], &Units));
    assert_eq!(line, 1);
}

#[test]
fn jsonl_cells_keys_and_duplicates() {
    let dir = temp_dir("jsonl-cells");
    // A missing key is an empty cell.
    let path = write(
        &dir,
        "t.jsonl",
        "{\"id\": \"A1\", \"n\": 1}\n{\"n\": 2.5}\n{\"id\": [1], \"n\": 3}\n",
    );
    let specs = [text("id"), spec("n", ColumnType::Integer, false)];
    let (errors, total) = bad_cells(load_table(&path, &FileFormat::Jsonl, &specs, &Units));
    assert_eq!(total, 3);
    assert_eq!((errors[0].line, errors[0].column), (2, 1));
    assert_eq!(errors[0].expected, "a value (the column is not nullable)");
    assert_eq!(
        (errors[1].line, errors[1].column, errors[1].value.as_str()),
        (2, 2, "2.5")
    );
    assert_eq!((errors[2].line, errors[2].column), (3, 1));
    assert_eq!(
        errors[2].help.as_deref(),
        Some("the cell holds a JSON list")
    );

    // A declared key that no line has is a missing column.
    let path = write(&dir, "keys.jsonl", "{\"ID\": \"A1\"}\n");
    let err = load_table(
        &path,
        &FileFormat::Jsonl,
        &[spec("id", ColumnType::Text, true)],
        &Units,
    )
    .unwrap_err();
    match &err {
        LoadError::MissingColumns { missing, found, .. } => {
            assert_eq!(missing, &["id"]);
            assert_eq!(found, &["ID"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(help(&err).contains("did you mean `ID`?"), "{}", help(&err));

    // A declared key twice in one object is ambiguous.
    let path = write(
        &dir,
        "dup.jsonl",
        "{\"id\": \"A1\"}\n{\"id\": \"A2\", \"x\": 1, \"id\": \"A3\"}\n",
    );
    let err = load_table(&path, &FileFormat::Jsonl, &[text("id")], &Units).unwrap_err();
    match err {
        LoadError::DuplicateHeader { line, column, .. } => assert_eq!((line, column), (2, 3)),
        other => panic!("{other:?}"),
    }

    // An empty file is an empty table.
    let path = write(&dir, "empty.jsonl", "\n");
    let table = load_table(&path, &FileFormat::Jsonl, &[text("id")], &Units).unwrap();
    assert!(table.is_empty());
}
