//! `hotline fmt`: the canonical layout keeps the syntax tree and every comment, is stable,
//! and does not depend on how the input was spaced.
//!
//! Regenerate the snapshots with `INSTA_UPDATE=always cargo test --test fmt`, then read them.

use hotline::ast::Policy;
use hotline::fmt::format_source;
use hotline::span::SourceFile;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `*.policy` files of a folder, sorted.
fn policies_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "policy"))
        .collect();
    files.sort();
    files
}

/// Every policy that parses: the real ones and the fixtures that compile.
fn all_policies() -> Vec<PathBuf> {
    let mut files = policies_in("policies");
    files.extend(policies_in("tests/fixtures/check/ok"));
    files.extend(policies_in("tests/fixtures/check/warn"));
    assert!(files.len() >= 9, "found only {files:?}");
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse(text: &str) -> Policy {
    hotline::syntax::parse(&SourceFile::new("test.policy", text))
        .unwrap_or_else(|errors| panic!("does not parse: {errors:#?}\n{text}"))
}

fn format(text: &str) -> String {
    format_source(text).unwrap_or_else(|errors| panic!("cannot format: {errors:#?}\n{text}"))
}

/// The comments of a policy (`# …`, `// …`), found without the library: strings, escapes and
/// triple-quoted templates are skipped.
fn comments(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(body) = rest.strip_prefix("\"\"\"") {
            let end = body.find("\"\"\"").map_or(body.len(), |i| i + 3);
            rest = &body[end..];
        } else if c == '"' {
            let mut chars = rest.char_indices().skip(1);
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            rest = &rest[end..];
        } else if c == '#' || rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            found.push(rest[..end].trim_end().to_string());
            rest = &rest[end..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    found
}

/// Formats `text` and checks the promises: same tree, stable, every comment kept.
fn round_trip(text: &str) -> String {
    let formatted = format(text);
    assert_eq!(
        parse(&formatted),
        parse(text),
        "the tree changed:\n{formatted}"
    );
    assert_eq!(format(&formatted), formatted, "not stable:\n{formatted}");
    let mut before = comments(text);
    let mut after = comments(&formatted);
    assert_eq!(
        before.len(),
        after.len(),
        "comments lost or added:\n{formatted}"
    );
    before.sort();
    after.sort();
    assert_eq!(before, after, "comments changed:\n{formatted}");
    formatted
}

/// The same policy spaced badly: every space outside strings and comments doubled into a
/// space and a tab, and every line indented oddly. Line breaks stay where they were.
fn messy(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if let Some(body) = rest.strip_prefix("\"\"\"") {
            body.find("\"\"\"").map_or(rest.len(), |i| i + 6)
        } else if c == '"' {
            let mut chars = rest.char_indices().skip(1);
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            end
        } else if c == '#' || rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else {
            match c {
                ' ' => out.push_str(" \t"),
                '\n' => out.push_str("   \n \t "),
                _ => out.push(c),
            }
            rest = &rest[c.len_utf8()..];
            continue;
        };
        out.push_str(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

#[test]
fn every_policy_keeps_its_tree_and_comments_and_is_stable() {
    for path in all_policies() {
        let text = read(&path);
        let formatted = round_trip(&text);
        assert!(
            formatted.lines().all(|l| l == l.trim_end()),
            "{}: trailing spaces",
            path.display()
        );
        assert!(
            !formatted.contains("\n\n\n"),
            "{}: two blank lines",
            path.display()
        );
    }
}

#[test]
fn the_layout_does_not_depend_on_spacing() {
    for path in all_policies() {
        let text = read(&path);
        let bad = messy(&text);
        assert_ne!(bad, text);
        assert_eq!(format(&bad), format(&text), "{}", path.display());
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(format(&crlf), format(&text), "{} with CRLF", path.display());
    }
}

/// The same policy with a comment wherever the author wrote a space (outside strings and
/// comments), or only at the `only`-th such space.
fn commented(text: &str, only: Option<usize>) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut n = 0;
    while let Some(c) = rest.chars().next() {
        let len = if let Some(body) = rest.strip_prefix("\"\"\"") {
            body.find("\"\"\"").map_or(rest.len(), |i| i + 6)
        } else if c == '"' {
            let mut chars = rest.char_indices().skip(1);
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            end
        } else if c == '#' || rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else {
            if c == ' ' && only.is_none_or(|k| k == n) {
                out.push_str(&format!(" # c{n}\n"));
            } else {
                out.push(c);
            }
            if c == ' ' {
                n += 1;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        };
        out.push_str(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

#[test]
fn comments_anywhere_are_kept() {
    for path in all_policies() {
        let text = read(&path);
        round_trip(&commented(&text, None));
    }
    // One comment at a time, at every 11th space of the fixtures.
    for path in policies_in("tests/fixtures/check/ok") {
        let text = read(&path);
        let spaces = commented(&text, None).matches(" # c").count();
        for k in (0..spaces).step_by(11) {
            round_trip(&commented(&text, Some(k)));
        }
    }
}

#[test]
fn dong_e_policy() {
    let text = read(&root().join("policies/dong-e-monthly.policy"));
    insta::assert_snapshot!("dong_e_monthly", round_trip(&text));
}

#[test]
fn dong_e_tests() {
    let path = root().join("policies/dong-e-monthly.test.policy");
    if path.exists() {
        let text = read(&path);
        insta::assert_snapshot!("dong_e_monthly_test", round_trip(&text));
    }
}

const MESSY: &str = r#"# A policy written in a hurry.
   policy   "凌乱的政策"{rounding   half_even      # 银行家舍入
decimals 1 }



// ---- sources
source 工单 from csv "tickets.csv" encoding   gbk sheet "不用" {
      承办单位 unit?<-"承办单位名称"   # the header differs
  回访解决情况   enum(已解决，基本解决、未解决)?
    # a comment between fields

  派单时间 date("%Y/%m/%d")
  签收时间    datetime?
     市级重办 bool ( 是=true , 否=false )   }
source   上月工单=工单 previous   month
units {镇街：鱼山镇，姚寨镇、 # 新增
 "新城街道（原办事处）"
  # 县直
  县直: 县公安局, 县税务局,
alias 新城办事处=  "新城街道（原办事处）"   }

view 派单=工单 where 承办单位 is not empty and(回访解决情况=="已解决" or 回访解决情况 == "基本解决")
metric 承办量 from 派单 by 承办单位=count()
metric 快速 from 派单 by 承办单位 = count( 签收时间-派单时间 <= 7200s + 86400s * 2 where not 市级重办 )   # 2h + 2d
metric 比率 = -(承办量 - 1) / (承办量 + 1) * 100% ?? 0%
metric 嵌套 = (1 - 2) - (3 - 4) - 5 * (6 / 7) / 8
metric 判断 = not (承办量 > 1 and 承办量 < 10) or not not (承办量 == 0)
metric 解决 from 派单 by 承办单位 =
      mean(    回访解决情况->{已解决:100%,基本解决:80%,未解决:0%,} # inside an entry
      ) default   100.0%
score 总分 = 40% 承办量 + 60%(承办量 * 2) - 解决
bands 档次 on 承办量{大:100 ..  中: >= 10 and < 100
  小:1..<10
"零（无）" : = 0
  负: <= -1}
ranking   排名 within group ,档次 by 总分 desc,承办量 asc , unit
list   前三=unit where group=="镇街"order by 排名 top 3
report "报告" {heading "一、总体"
   text """
        共 {{ 承办量["鱼山镇"] }} 件。
          {% if true %}缩进的行 # not a comment{% endif %}

        "引号" 与 \ 反斜杠
   """ # after the template
  table "附表 1"  title "标题 \"一\""{rows unit where 承办量>0 order by 排名
  column "单位"=unit
     column "得分" = 总分.承办量}
  chart "图" { rows unit top 5 bar "总分"=总分 }
}
# the end



"#;

#[test]
fn a_messy_policy() {
    insta::assert_snapshot!("messy", round_trip(MESSY));
}

/// The formatted text of one declaration (or several).
fn formats_to(input: &str, expected: &str) {
    let formatted = round_trip(input);
    assert_eq!(formatted, expected, "from:\n{input}");
}

#[test]
fn ranges_take_their_canonical_form() {
    formats_to(
        "bands b on x { a: 1 .. b: > 1 c: 1 ..< 2 d: 1 ..= 2 e: = 3 f: >= 3 and <= 3 g: < 4 h: <= 4\n i: > 1 and < 2 j: > 1 and <= 2 k: ≥ 1 and < 2 l: -1.50 ..= -0.5 m: = 5 and < 7 n: 5 ..= 5.0 }\n",
        "bands b on x {\n  a: >= 1\n  b: > 1\n  c: 1 ..< 2\n  d: 1 ..= 2\n  e: = 3\n  f: = 3\n  g: < 4\n  h: <= 4\n  i: > 1 and < 2\n  j: > 1 and <= 2\n  k: 1 ..< 2\n  l: -1.50 ..= -0.5\n  m: 5 ..< 7\n  n: 5 ..= 5.0\n}\n",
    );
}

#[test]
fn durations_use_the_largest_exact_unit() {
    formats_to(
        "metric m = 7200s + 90s + 86400s + 1.5h + 0d + 120min + 2d + 36h + 1min",
        "metric m = 2h + 90s + 1d + 90min + 0s + 2h + 2d + 36h + 1min\n",
    );
}

#[test]
fn numbers_keep_their_scale() {
    formats_to(
        "metric m = 100 + 4.50 + 0.0 + 5% + 4.50%",
        "metric m = 100 + 4.50 + 0.0 + 5% + 4.50%\n",
    );
}

#[test]
fn parentheses_only_where_precedence_needs_them() {
    let cases = [
        ("a + (b * c)", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("a / (b * c)", "a / (b * c)"),
        ("(a ?? b) + c", "(a ?? b) + c"),
        ("a ?? (b + c)", "a ?? b + c"),
        ("(a ?? b) ?? c", "a ?? b ?? c"),
        ("a ?? (b ?? c)", "a ?? (b ?? c)"),
        ("(a == b) == c", "a == b == c"),
        ("a == (b == c)", "a == (b == c)"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("not (a == b)", "not a == b"),
        ("(not a) == b", "(not a) == b"),
        ("a == (not b)", "a == (not b)"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) and b", "not a and b"),
        ("a and (not b)", "a and not b"),
        ("not (not a)", "not not a"),
        ("(not a) + 1", "(not a) + 1"),
        ("-(a)", "-a"),
        ("-(a + b)", "-(a + b)"),
        ("(-a) * b", "-a * b"),
        ("a * (-b)", "a * -b"),
        ("-(-a)", "-(-a)"),
        ("-(not a)", "-(not a)"),
        ("not (-a)", "not -a"),
        ("(a + b).c", "(a + b).c"),
        ("(a).c", "a.c"),
        ("(a ?? b) is not empty", "(a ?? b) is not empty"),
        ("(x -> {是: 1, 否: 0}) + 1", "x -> {是: 1, 否: 0} + 1"),
        ("(x + y) -> {是: 1}", "(x + y) -> {是: 1}"),
        ("round((a + b) * c, 2)", "round((a + b) * c, 2)"),
        ("a ≤ b and c ≠ d and e ≥ f", "a <= b and c != d and e >= f"),
        ("a × b ÷ c", "a * b / c"),
        ("count(where a > 1)", "count(where a > 1)"),
        ("top(a, 2)", "top(a, 2)"),
        (
            "mean(x where group == \"镇街\")",
            "mean(x where group == \"镇街\")",
        ),
        ("总得分.\"响应率（5）\"", "总得分.\"响应率（5）\""),
        ("x.\"y\"", "x.y"),
        ("x.\"and\"", "x.\"and\""),
    ];
    for (input, expected) in cases {
        formats_to(
            &format!("metric m = {input}"),
            &format!("metric m = {expected}\n"),
        );
    }
}

#[test]
fn names_stay_quoted_only_when_they_must() {
    formats_to(
        "units { 县直: \"县公安局\", \"东阿吉电（综合执法局）\", \"and\", \"true\", \"1号\", \"a b\", \"_x\" alias \"旧\" = \"县公安局\" }",
        "units {\n  县直: 县公安局, \"东阿吉电（综合执法局）\", \"and\", \"true\", \"1号\", \"a b\", _x\n  alias 旧 = 县公安局\n}\n",
    );
    formats_to(
        "source s from csv \"s.csv\" { 状态 enum(\"派单\", \"直 办\", \"or\") 是否 bool(\"是\" = true, \"否（空）\" = false) }",
        "source s from csv \"s.csv\" {\n  状态 enum(派单, \"直 办\", \"or\")\n  是否 bool(是 = true, \"否（空）\" = false)\n}\n",
    );
}

#[test]
fn strings_are_re_escaped() {
    formats_to(
        "report \"a \\\"b\\\" \\\\ c\" { heading \"x\\ny\\tz\\q\" text \"\\\"\\\"\\\"\" }",
        "report \"a \\\"b\\\" \\\\ c\" {\n  heading \"x\\ny\\tzq\"\n  text \"\\\"\\\"\\\"\"\n}\n",
    );
}

#[test]
fn templates_keep_their_text() {
    let input = "report {\ntext \"\"\"\n      第一行 {{ x }}\n\n        缩进 {% if a %}# 不是注释{% endif %}\n      {% for u in 单位 %}\n\n\n      {{ u }} \\ \"引号\"{% endfor %}\n\"\"\"\n  text \"\"\"单行\"\"\"\n  text \"\"\"\n\n   前后空行\n\n   \"\"\"\n}\n";
    let expected = "report {\n  text \"\"\"\n    第一行 {{ x }}\n\n      缩进 {% if a %}# 不是注释{% endif %}\n    {% for u in 单位 %}\n\n\n    {{ u }} \\ \"引号\"{% endfor %}\n  \"\"\"\n  text \"\"\"\n    单行\n  \"\"\"\n  text \"\"\"\n\n    前后空行\n\n  \"\"\"\n}\n";
    formats_to(input, expected);
    // A short string stays short; an empty template becomes a short string.
    formats_to(
        "report { text \"a\\nb\" text \"\"\"  \"\"\" text \"\"\"\n    a\n  \"\"\" text \"  b\" }",
        "report {\n  text \"a\\nb\"\n  text \"\"\n  text \"\"\"\n    a\n  \"\"\"\n  text \"  b\"\n}\n",
    );
}

#[test]
fn sources_align_their_types() {
    formats_to(
        "source 工单 from csv \"t.csv\" encoding utf8 {\n  编号 text\n  回访解决情况 enum(已解决, 未解决)?\n  x integer <- \"数量\"\n  日期 date\n}\nsource 抽访 from jsonl \"s.jsonl\" {}\nsource 扣分 from xlsx \"d.xlsx\" encoding auto sheet \"表\" { 单位 unit }\n",
        "source 工单 from csv \"t.csv\" encoding utf8 {\n  编号         text\n  回访解决情况 enum(已解决, 未解决)?\n  x            integer <- \"数量\"\n  日期         datetime\n}\nsource 抽访 from jsonl \"s.jsonl\" {}\nsource 扣分 from xlsx \"d.xlsx\" encoding auto sheet \"表\" {\n  单位 unit\n}\n",
    );
}

#[test]
fn headers_keep_their_settings_in_order() {
    formats_to("policy \"p\" {}", "policy \"p\"\n");
    formats_to("policy \"p\"", "policy \"p\"\n");
    formats_to(
        "policy \"p\" { weights lenient decimals 3 rounding half_up }",
        "policy \"p\" {\n  weights lenient\n  decimals 3\n  rounding half_up\n}\n",
    );
    formats_to(
        "policy \"p\" {\n  # nothing set yet\n}\n",
        "policy \"p\" {\n  # nothing set yet\n}\n",
    );
}

#[test]
fn long_declarations_wrap() {
    let long = "metric 解决率 from 派单 where 市级重办 by 承办单位 = mean(回访解决情况 -> {已解决: 100%, 基本解决: 80%, 未解决: 0%}) default 100%";
    formats_to(
        long,
        "metric 解决率 from 派单 where 市级重办 by 承办单位 =\n  mean(回访解决情况 -> {已解决: 100%, 基本解决: 80%, 未解决: 0%}) default 100%\n",
    );
    let units: Vec<String> = (1..=30).map(|i| format!("第{i}单位")).collect();
    let formatted = round_trip(&format!("units {{ 县直: {} }}", units.join(", ")));
    let lines: Vec<&str> = formatted.lines().collect();
    assert!(lines.len() > 4, "{formatted}");
    for line in &lines {
        assert!(hotline::fmt::width(line) <= 100, "too wide: {line}");
    }
    assert!(lines[1].starts_with("  县直: 第1单位, "), "{formatted}");
    assert!(
        lines[2].starts_with("        第"),
        "aligned under the first unit: {formatted}"
    );
    let table = "report { table \"附表 2-1\" title \"{{ year }} 年 {{ month }} 月份县直有关单位系统办理情况表\" title \"（承办量≥100 件）\" like \"附表 1\" { rows unit } }";
    formats_to(
        table,
        "report {\n  table \"附表 2-1\"\n      title \"{{ year }} 年 {{ month }} 月份县直有关单位系统办理情况表\"\n      title \"（承办量≥100 件）\"\n      like \"附表 1\" {\n    rows unit\n  }\n}\n",
    );
}

#[test]
fn comments_stay_where_they_were() {
    let input = "\
# top

# second paragraph
metric a = 1 # trailing
// slashes
metric b =   # inside
  a + 1

units { # after the brace
  g: x, # after x
     y,
     # before z
     z # after z
  alias w = x  # after alias
  # before the brace
} # after the brace
bands 档 on a {
  大: >= 1     # big
  小: < 1      # small, a longer comment
}
# the end
";
    let expected = "\
# top

# second paragraph
metric a = 1  # trailing
// slashes
# inside
metric b = a + 1

units {  # after the brace
  g: x,  # after x
     y,
     # before z
     z         # after z
  alias w = x  # after alias
  # before the brace
}  # after the brace
bands 档 on a {
  大: >= 1  # big
  小: < 1   # small, a longer comment
}
# the end
";
    formats_to(input, expected);
}

#[test]
fn sort_keys_keep_a_written_asc() {
    formats_to(
        "ranking r within group, 档 by a desc, b asc, c\nlist l = unit where a > 0 order by a asc, b desc top 3",
        "ranking r within group, 档 by a desc, b asc, c\nlist l = unit where a > 0 order by a asc, b desc top 3\n",
    );
}

#[test]
fn scores_keep_their_terms() {
    formats_to(
        "score s = 5% a + 95%(b) - c + (5%) + 10% 5% - 2 - (x + y) + 1% (-z)",
        "score s = 5% a + 95% b - c + (5%) + 10% 5% - 2 - (x + y) + 1% (-z)\n",
    );
}

#[test]
fn policy_tests_are_formatted() {
    formats_to(
        "test \"一个测试\" { month 2023-03 data 工单 \"\"\"\n    承办单位,办理方式\n    姜楼镇,派单 × 3\n  \"\"\"\n data 抽访 \"a,b\" expect 姜楼镇.承办量 == 3 expect \"东阿吉电（综合执法局）\".总得分.响应率 ≥ 4.5 expect 收件总量 != 1 + 2 }",
        "test \"一个测试\" {\n  month 2023-03\n  data 工单 \"\"\"\n    承办单位,办理方式\n    姜楼镇,派单 × 3\n  \"\"\"\n  data 抽访 \"a,b\"\n  expect 姜楼镇.承办量 == 3\n  expect \"东阿吉电（综合执法局）\".总得分.响应率 >= 4.5\n  expect 收件总量 != 1 + 2\n}\n",
    );
}

#[test]
fn empty_and_comment_only_policies() {
    assert_eq!(format(""), "");
    assert_eq!(format("\n\n  \n"), "");
    formats_to("# only\n\n\n# comments\n", "# only\n\n# comments\n");
    formats_to("report {}", "report {}\n");
    formats_to("units {\n}\n", "units {}\n");
    formats_to("units {\n  # none yet\n}\n", "units {\n  # none yet\n}\n");
    formats_to(
        "# before\nunits {} # after\n",
        "# before\nunits {}  # after\n",
    );
    formats_to(
        "# before\npolicy \"p\" {} # after\n",
        "# before\npolicy \"p\"  # after\n",
    );
}

#[test]
fn syntax_errors_are_returned() {
    let errors = format_source("metric 承办量 from 派单 = count(").expect_err("does not parse");
    assert!(!errors.is_empty());
}

#[test]
fn width_counts_cjk_twice() {
    assert_eq!(hotline::fmt::width("abc"), 3);
    assert_eq!(hotline::fmt::width("镇街"), 4);
    assert_eq!(hotline::fmt::width("（一）"), 6);
    assert_eq!(hotline::fmt::width("≥100"), 4);
}

// ---------------------------------------------------------------- the binary

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("runs")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-fmt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn cli_check_then_write_then_check() {
    let dir = temp("check-write");
    let path = dir.join("messy.policy");
    std::fs::write(&path, MESSY).expect("write");

    let out = hotline(&["fmt", "--check", arg(&path)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("would reformat {}", path.display())),
        "{stderr}"
    );
    assert_eq!(read(&path), MESSY, "--check changes nothing");

    let out = hotline(&["fmt", "--write", arg(&path)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("formatted {}", path.display())),
        "{stderr}"
    );
    assert_eq!(read(&path), format(MESSY));

    let out = hotline(&["fmt", "--check", arg(&path)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty() && out.stdout.is_empty());

    let out = hotline(&["fmt", "--write", arg(&path)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "nothing to rewrite");
    let leftovers = std::fs::read_dir(&dir).expect("list").count();
    assert_eq!(leftovers, 1, "no temporary files left behind");
}

#[test]
fn cli_prints_one_file() {
    let out = hotline(&["fmt", "policies/dong-e-monthly.policy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = read(&root().join("policies/dong-e-monthly.policy"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format(&text));

    let out = hotline(&[
        "fmt",
        "policies/dong-e-monthly.policy",
        "tests/fixtures/check/ok/report.policy",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--check"));
}

#[test]
fn cli_leaves_a_file_with_syntax_errors_alone() {
    let dir = temp("syntax");
    let path = dir.join("broken.policy");
    let text = "metric   a = 1\nmetric 承办量 from 派单 = count(\n";
    std::fs::write(&path, text).expect("write");
    for mode in ["--write", "--check"] {
        let out = hotline(&["fmt", mode, arg(&path)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("hotline::syntax::unexpected"), "{stderr}");
        assert!(stderr.contains("broken.policy"), "{stderr}");
        assert_eq!(read(&path), text, "not modified");
    }
}

#[test]
fn cli_unreadable_file_exits_2() {
    let out = hotline(&["fmt", "--check", "no/such/file.policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.policy"));
}

#[test]
fn cli_checks_several_files() {
    let dir = temp("several");
    let good = dir.join("good.policy");
    let bad = dir.join("bad.policy");
    std::fs::write(&good, "metric a = 1\n").expect("write");
    std::fs::write(&bad, "metric  a = 1\n").expect("write");
    let out = hotline(&["fmt", "--check", arg(&good), arg(&bad)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.policy") && !stderr.contains("good.policy"),
        "{stderr}"
    );
}

#[test]
fn header_zeros_print_back() {
    formats_to(
        "policy \"t\" { decimals 2 zeros   text }\n",
        "policy \"t\" {\n  decimals 2\n  zeros text\n}\n",
    );
}

#[test]
fn periods_print_back() {
    formats_to(
        "source 上期 = 工单   previous  period\nsource 去年 = 工单 same period  last year\nsource 上月=工单 previous month\nmetric m = mean(( a + b ) each   month where c>0)\nmetric n = count(排名 <= 3 each month)\nmetric p = period_end\n",
        "source 上期 = 工单 previous period\nsource 去年 = 工单 same period last year\nsource 上月 = 工单 previous month\nmetric m = mean(a + b each month where c > 0)\nmetric n = count(排名 <= 3 each month)\nmetric p = period_end\n",
    );
}
