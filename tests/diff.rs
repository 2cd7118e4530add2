//! `hotline diff`: changed definitions, then what they do to the results.

use hotline::cli::DiffFormat;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const POLICY: &str = "policies/dong-e-monthly.policy";
const DATA: &str = "tests/data/dong-e";
const MONTH: &str = "2023-03";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-diff-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn policy_text() -> String {
    std::fs::read_to_string(root().join(POLICY)).expect("policy")
}

/// The Dong'e policy with `from` replaced by `to` (which must occur).
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = policy_text();
    for (from, to) in edits {
        assert!(text.contains(from), "`{from}` is in the policy");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Writes `old.policy` and `new.policy` into a fresh folder.
fn pair(name: &str, new_text: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = temp(name);
    let old = dir.join("old.policy");
    let new = dir.join("new.policy");
    std::fs::write(&old, policy_text()).expect("write old");
    std::fs::write(&new, new_text).expect("write new");
    (dir, old, new)
}

fn hotline(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs")
}

fn diff_bin(old: &Path, new: &Path, format: &str) -> Output {
    hotline(
        &[
            "diff",
            old.to_str().expect("utf8"),
            new.to_str().expect("utf8"),
            "--data",
            DATA,
            "--month",
            MONTH,
            "--format",
            format,
        ],
        root(),
    )
}

fn diff_json(old: &Path, new: &Path) -> Value {
    let out = hotline::diff::command(
        old.to_str().expect("utf8"),
        new.to_str().expect("utf8"),
        &root().join(DATA),
        (Some(MONTH), None),
        DiffFormat::Json,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("json")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn find<'v>(items: &'v Value, key: &str, value: &str) -> Option<&'v Value> {
    items.as_array()?.iter().find(|i| i[key] == value)
}

#[test]
fn identical_policies_give_the_short_answer() {
    let (_dir, old, _) = pair("same", &policy_text());
    let out = diff_bin(&old, &old, "md");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "No change to definitions or results.\n");
    // Layout and comments are not changes.
    let (_dir, old, new) = pair(
        "layout",
        &policy_text().replace(
            "metric 承办量 from 派单 by 承办单位 = count()",
            "# 承办量\nmetric   承办量\n  from 派单 by 承办单位 =\n  count()",
        ),
    );
    let out = diff_bin(&old, &new, "md");
    assert_eq!(
        stdout(&out),
        "No change to definitions or results.\n",
        "{}",
        stderr(&out)
    );
    let json = diff_json(&old, &new);
    assert_eq!(json["definitions"].as_array().map(Vec::len), Some(0));
    assert_eq!(json["summary"], "No change to definitions or results.");
}

#[test]
fn a_weight_change_moves_scores_term_by_term() {
    let (_dir, old, new) = pair(
        "weights",
        &edited(&[("40% 解决率 + 50% 综合满意率", "45% 解决率 + 45% 综合满意率")]),
    );
    let out = diff_bin(&old, &new, "md");
    let md = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = md.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("1 definition changed; 22 units' scores change; "),
        "{md}"
    );
    assert!(md.contains("**score `总得分`** changed"), "{md}");
    assert!(md.contains("-score 总得分 = 5% 响应率 + 5% 按时办理率 + 40% 解决率 + 50% 综合满意率 + 质效考核得分"), "{md}");
    assert!(md.contains("+score 总得分 = 5% 响应率 + 5% 按时办理率 + 45% 解决率 + 45% 综合满意率 + 质效考核得分"), "{md}");
    // The biggest mover first, its change broken down by term.
    assert!(
        md.contains("| 县自然资源规划局 | 95.01 | 94.53 | -0.48 | +4.52 | -5 |"),
        "{md}"
    );

    let json = diff_json(&old, &new);
    let score = find(&json["scores"], "score", "总得分").expect("总得分 changed");
    let rows = score["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 22);
    assert_eq!(rows[0]["key"], "县自然资源规划局");
    let unit = find(&score["rows"], "key", "县自然资源规划局").expect("row");
    assert_eq!(unit["delta"]["display"], "-0.48");
    // 50% → 45% of a 100% satisfaction rate: exactly five points less.
    let satisfaction = find(&unit["terms"], "term", "综合满意率").expect("term");
    assert_eq!(satisfaction["delta"]["exact"], "-5");
    assert_eq!(satisfaction["old"]["display"], "50");
    assert_eq!(satisfaction["new"]["display"], "45");
    // Terms that did not move are not listed.
    assert!(find(&unit["terms"], "term", "响应率").is_none());
    // Units whose rates are all 100% keep their score: 45 + 45 = 40 + 50.
    assert!(find(&score["rows"], "key", "鱼山镇").is_none());
    assert_eq!(json["bands"].as_array().map(Vec::len), Some(0));
}

#[test]
fn moving_a_band_bound_moves_units_between_bands_and_tables() {
    let new_text = edited(&[
        ("大: >= 100", "大: >= 120"),
        ("中: 10 ..< 100", "中: 10 ..< 120"),
    ]);
    let (_dir, old, new) = pair("band", &new_text);
    let out = diff_bin(&old, &new, "md");
    let md = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        md.starts_with("1 definition changed; 0 units' scores change; "),
        "{md}"
    );
    assert!(
        md.lines()
            .next()
            .is_some_and(|l| l.ends_with("; 3 band changes.")),
        "{md}"
    );
    // 县公安局 has exactly 100 tickets.
    assert!(md.contains("| 规模 | 县公安局 | 大 | 中 | 100 |"), "{md}");
    // Definitions come before results.
    let definitions = md.find("## Definitions").expect("definitions");
    let results = md.find("## Results").expect("results");
    assert!(definitions < results, "{md}");

    let json = diff_json(&old, &new);
    let band = find(&json["bands"], "key", "县公安局").expect("县公安局 changes band");
    assert_eq!(band["bands"], "规模");
    assert_eq!(band["old"], "大");
    assert_eq!(band["new"], "中");
    assert_eq!(band["on"]["name"], "承办量");
    assert_eq!(band["on"]["new"]["exact"], "100");
    let keys: Vec<&str> = json["bands"]
        .as_array()
        .expect("bands")
        .iter()
        .filter_map(|b| b["key"].as_str())
        .collect();
    assert_eq!(keys, ["姚寨镇", "高集镇", "县公安局"]);
    let moved = json["ranks"]
        .as_array()
        .expect("ranks")
        .iter()
        .find(|m| {
            m["key"] == "县公安局"
                && m["new"]["partition"]
                    .as_str()
                    .is_some_and(|p| p.ends_with('中'))
        })
        .expect("县公安局 is ranked among the middle band now");
    assert!(
        moved["old"]["partition"]
            .as_str()
            .is_some_and(|p| p.ends_with('大')),
        "{moved}"
    );
    let table = find(&json["tables"], "table", "附表 2-1").expect("附表 2-1");
    assert_eq!(table["left"], serde_json::json!(["县公安局"]));
    let table = find(&json["tables"], "table", "附表 2-2").expect("附表 2-2");
    assert_eq!(table["entered"], serde_json::json!(["县公安局"]));
    assert_eq!(json["scores"].as_array().map(Vec::len), Some(0));
    assert_eq!(json["figures"].as_array().map(Vec::len), Some(0));
}

/// A small policy of its own over the Dong'e tickets, so that the snapshot does not change
/// with the Dong'e policy.
fn snapshot_policy() -> String {
    let text = policy_text();
    let start = text.find("\nunits {").expect("units");
    let end = start
        + text
            .get(start..)
            .and_then(|t| t.find("\n}\n"))
            .expect("end of units")
        + 3;
    let units = text.get(start..end).expect("units block");
    format!(
        r#"policy "快照" {{
  rounding half_up
  decimals 2
}}

source 工单 from csv "tickets.csv" encoding utf8 {{
  办理方式   enum(派单, 直办)
  承办单位   unit?
  派单时间   datetime?
  签收时间   datetime?
  回访解决情况 enum(已解决, 基本解决, 未解决)?
  满意度评分 percent?
}}
{units}
view 派单 = 工单 where 办理方式 == "派单"

metric 承办量 from 派单 by 承办单位 = count()
metric 响应率 from 派单 by 承办单位 = share(签收时间 - 派单时间 <= 2h) default 100%
metric 解决率 from 派单 by 承办单位 =
  mean(回访解决情况 -> {{已解决: 100%, 基本解决: 80%, 未解决: 0%}}) default 100%
metric 综合满意率 from 派单 by 承办单位 = mean(满意度评分) default 100%
metric 全县解决率 = mean(解决率 where 承办量 > 0)

score 总得分 = 10% 响应率 + 40% 解决率 + 50% 综合满意率

bands 规模 on 承办量 {{
  大: >= 100
  中: 10 ..< 100
  小: < 10
}}

ranking 排名 within group, 规模 by round(总得分, 2) desc, 承办量 asc

report "快照" {{
  heading "一、总体情况"
  text """
    解决率 {{{{ 全县解决率 }}}}。
  """
  table "县直大" {{
    rows unit where group == "县直" and 规模 == "大" order by 排名
    column "单位" = unit
    column "承办量" = 承办量
    column "总得分" = 总得分
  }}
  table "县直中" like "县直大" {{
    rows unit where group == "县直" and 规模 == "中" order by 排名
  }}
}}
"#
    )
}

#[test]
fn markdown_snapshot() {
    let old_text = snapshot_policy();
    let new_text = old_text
        .replace("大: >= 100", "大: >= 120")
        .replace("中: 10 ..< 100", "中: 10 ..< 120")
        .replace("40% 解决率 + 50% 综合满意率", "45% 解决率 + 45% 综合满意率")
        .replace("heading \"一、总体情况\"", "heading \"一、总体\"");
    assert_ne!(old_text, new_text);
    let dir = temp("snapshot");
    std::fs::write(dir.join("old.policy"), &old_text).expect("write");
    std::fs::write(dir.join("new.policy"), &new_text).expect("write");
    let out = hotline::diff::command(
        dir.join("old.policy").to_str().expect("utf8"),
        dir.join("new.policy").to_str().expect("utf8"),
        &root().join(DATA),
        (Some(MONTH), None),
        DiffFormat::Md,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = out.stdout.replace(&dir.display().to_string(), "<tmp>");
    insta::assert_snapshot!("markdown", md);
}

#[test]
fn an_unused_metric_changes_definitions_only() {
    let new_text = format!(
        "{}\nmetric 直办总量 from 工单 where 办理方式 == \"直办\" = count()\n",
        policy_text()
    );
    let (_dir, old, new) = pair("added", &new_text);
    let out = diff_bin(&old, &new, "md");
    let md = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        md.starts_with("1 definition changed; no change to the results.\n"),
        "{md}"
    );
    assert!(md.contains("**metric `直办总量`** added"), "{md}");
    assert!(
        md.contains("+metric 直办总量 from 工单 where 办理方式 == \"直办\" = count()"),
        "{md}"
    );
    assert!(!md.contains("## Results"), "{md}");
    let json = diff_json(&old, &new);
    let def = find(&json["definitions"], "name", "直办总量").expect("added");
    assert_eq!(def["change"], "added");
    assert_eq!(def["kind"], "metric");
    assert!(def.get("old").is_none());
    // Removing it is the mirror image.
    let out = diff_bin(&new, &old, "md");
    assert!(
        stdout(&out).contains("**metric `直办总量`** removed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn headline_figures_and_report_sections() {
    let new_text = edited(&[
        (
            "share(签收时间 - 派单时间 <= 2h)",
            "share(签收时间 - 派单时间 <= 1h)",
        ),
        ("heading \"二、热点问题分析\"", "heading \"二、热点问题\""),
    ]);
    let (_dir, old, new) = pair("figures", &new_text);
    let json = diff_json(&old, &new);
    let figure = find(&json["figures"], "metric", "全县响应率").expect("全县响应率 changes");
    assert_eq!(figure["old"]["display"], "99.93%");
    assert!(
        figure["delta"]["display"]
            .as_str()
            .is_some_and(|d| d.starts_with('-') && d.ends_with(" pp")),
        "{figure}"
    );
    let heading = find(&json["definitions"], "kind", "heading").expect("heading changed");
    assert_eq!(heading["change"], "changed");
    assert_eq!(heading["old"], "heading \"二、热点问题分析\"");
    assert_eq!(heading["new"], "heading \"二、热点问题\"");
    let metric = find(&json["definitions"], "name", "响应率").expect("响应率 changed");
    assert_eq!(metric["kind"], "metric");
    // Changed declarations come before added and removed ones.
    let changes: Vec<&str> = json["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .filter_map(|d| d["change"].as_str())
        .collect();
    assert!(changes.iter().all(|c| *c == "changed"), "{changes:?}");
    // The response rate is a term of the score.
    let score = find(&json["scores"], "score", "总得分").expect("scores move");
    let rows = score["rows"].as_array().expect("rows");
    assert!(rows.iter().all(|r| r["terms"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["term"] == "响应率"))));
    let metrics = find(&json["metrics"], "metric", "响应率").expect("per-unit 响应率 changes");
    assert_eq!(metrics["per"], "unit");
}

#[test]
fn terminal_and_json_formats() {
    let (_dir, old, new) = pair(
        "formats",
        &edited(&[("40% 解决率 + 50% 综合满意率", "45% 解决率 + 45% 综合满意率")]),
    );
    let out = diff_bin(&old, &new, "terminal");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.starts_with("1 definition changed; 22 units' scores change"),
        "{text}"
    );
    assert!(
        text.contains('┆') && text.contains("县自然资源规划局"),
        "{text}"
    );
    let out = diff_bin(&old, &new, "json");
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["month"], MONTH);
    assert!(
        json["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("1 definition changed; 22 units' scores change; ")),
        "{json}"
    );
}

#[test]
fn errors_and_bad_usage() {
    let (dir, old, _) = pair("errors", &policy_text());
    let bad = dir.join("bad.policy");
    std::fs::write(
        &bad,
        policy_text().replace("score 总得分 = 5% 响应率", "score 总得分 = 5% 响映率"),
    )
    .expect("write");
    let out = diff_bin(&old, &bad, "md");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("hotline::check::unknown_name") && err.contains("bad.policy:"),
        "{err}"
    );
    assert!(!err.contains("\u{1b}["), "plain diagnostics: {err}");

    let missing = dir.join("missing.policy");
    let out = diff_bin(&old, &missing, "md");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));

    let o = old.to_str().expect("utf8");
    let out = hotline(&["diff", o, o, "--data", DATA, "--month", "March"], root());
    assert_eq!(out.status.code(), Some(2));
    let out = hotline(&["diff", o, "--data", DATA, "--month", MONTH], root());
    assert_eq!(out.status.code(), Some(2));

    // Data errors are evaluation errors.
    let out = hotline(
        &["diff", o, o, "--data", "no/such/dir", "--month", MONTH],
        root(),
    );
    assert_eq!(out.status.code(), Some(1));
}

fn git(repo: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args([
            "-c",
            "user.name=hotline",
            "-c",
            "user.email=hotline@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn rev_path_reads_the_old_policy_from_git() {
    let repo = temp("git");
    if !git(&repo, &["init", "-q"]) {
        eprintln!("git is not available: skipped");
        return;
    }
    std::fs::write(repo.join("p.policy"), policy_text()).expect("write");
    assert!(git(&repo, &["add", "p.policy"]));
    assert!(git(&repo, &["commit", "-q", "-m", "policy"]));
    let changed = edited(&[
        ("大: >= 100", "大: >= 120"),
        ("中: 10 ..< 100", "中: 10 ..< 120"),
    ]);
    std::fs::write(repo.join("p.policy"), changed).expect("modify");

    let data = root().join(DATA);
    let data = data.to_str().expect("utf8");
    let out = hotline(
        &[
            "diff",
            "HEAD:p.policy",
            "p.policy",
            "--data",
            data,
            "--month",
            MONTH,
        ],
        &repo,
    );
    let md = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(md.contains("**bands `规模`** changed"), "{md}");
    assert!(md.contains("| 规模 | 县公安局 | 大 | 中 | 100 |"), "{md}");
    assert!(md.contains("`HEAD:p.policy` → `p.policy`"), "{md}");

    // The committed file against itself.
    let out = hotline(
        &[
            "diff",
            "HEAD:p.policy",
            "HEAD:p.policy",
            "--data",
            data,
            "--month",
            MONTH,
        ],
        &repo,
    );
    assert_eq!(
        stdout(&out),
        "No change to definitions or results.\n",
        "{}",
        stderr(&out)
    );

    // A path git does not know, and a revision it does not know: clear errors, exit 2.
    let out = hotline(
        &[
            "diff",
            "HEAD:nope.policy",
            "p.policy",
            "--data",
            data,
            "--month",
            MONTH,
        ],
        &repo,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `HEAD:nope.policy` from git"),
        "{}",
        stderr(&out)
    );
    let out = hotline(
        &[
            "diff",
            "v9.9:p.policy",
            "p.policy",
            "--data",
            data,
            "--month",
            MONTH,
        ],
        &repo,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("v9.9:p.policy"), "{}", stderr(&out));
}
