//! The real binary: exit codes, outputs, files.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("runs")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotline-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

#[test]
fn check_accepts_the_dong_e_policy() {
    let out = hotline(&["check", "policies/dong-e-monthly.policy"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("ok"), "{stderr}");
}

#[test]
fn check_reports_every_error_and_exits_1() {
    let dir = temp("errors");
    let path = dir.join("bad.policy");
    std::fs::write(
        &path,
        "source 工单 from csv \"t.csv\" { 状态 enum(派单, 直办) }\nview 派单 = 工单 where 状态 == \"派遣\"\nmetric 量 from 派单 = count()\nmetric 率 = 量 + 响映率\n",
    )
    .expect("write");
    let out = hotline(&["check", path.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("hotline::check::unknown_label"), "{stderr}");
    assert!(stderr.contains("hotline::check::unknown_name"), "{stderr}");
    assert!(stderr.contains("bad.policy:2:"), "file and line: {stderr}");
    assert!(!stderr.contains("\u{1b}["), "no colour in pipes: {stderr}");
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(hotline(&["check"]).status.code(), Some(2));
    assert_eq!(hotline(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        hotline(&["check", "no/such/file.policy"]).status.code(),
        Some(2)
    );
    let out = hotline(&[
        "render",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "March",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn render_writes_markdown_to_stdout() {
    let out = hotline(&[
        "render",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "2023-03",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("### 附表 1"));
    assert!(stdout.contains(
        "| 姚寨镇 | 103 | 100% | 5 | 92.23% | 4.61 | 100% | 40 | 100% | 50 | 0 | 99.61 |"
    ));
}

#[test]
fn render_json_to_a_file_keeps_exact_decimals() {
    let dir = temp("json");
    let file = dir.join("march.json");
    let out = hotline(&[
        "render",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "2023-03",
        "--format",
        "json",
        "-o",
        file.to_str().expect("path"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let values = json["values"].as_array().expect("values");
    let on_time = values
        .iter()
        .find(|v| v["name"] == "按时办理率")
        .expect("按时办理率");
    // 姚寨镇: 95 of 103 on time, exactly.
    let yaozhai = on_time["values"]
        .as_array()
        .expect("per unit")
        .iter()
        .find(|p| p[0] == "姚寨镇")
        .expect("姚寨镇");
    assert!(
        yaozhai[1]
            .as_str()
            .expect("string")
            .starts_with("92.233009708737864077669902"),
        "{yaozhai}"
    );
}

#[test]
fn render_of_a_missing_month_fails_without_touching_the_output() {
    let dir = temp("missing");
    let file = dir.join("report.md");
    std::fs::write(&file, "last good report").expect("write");
    let out = hotline(&[
        "render",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "2031-01",
        "-o",
        file.to_str().expect("path"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no data for 2031-01"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "last good report"
    );
}

#[test]
fn check_strict_turns_warnings_into_errors() {
    let dir = temp("strict");
    let path = dir.join("warn.policy");
    std::fs::write(&path, "source 工单 from csv \"t.csv\" { 单位 unit }\nunits { 镇街: 甲镇 }\nmetric 量 from 工单 by 单位 = count()\nranking 排名 by 量 desc\n")
        .expect("write");
    let p = path.to_str().expect("path");
    let lenient = hotline(&["check", p]);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
    let stderr = String::from_utf8_lossy(&lenient.stderr);
    assert!(stderr.contains("hotline::check::tie_break"), "{stderr}");
    assert!(stderr.contains("hotline::check::unused"), "{stderr}");
    let strict = hotline(&["check", "--strict", p]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn check_formats_for_tools_and_github() {
    let dir = temp("formats");
    let path = dir.join("bad.policy");
    std::fs::write(&path, "source 工单 from csv \"t.csv\" { 方式 enum(派单, 直办) }\nview 派单 = 工单 where 方式 == \"派遣\"\n").expect("write");
    let p = path.to_str().expect("path");
    let json = hotline(&["check", "--format", "json", p]);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(doc["ok"], false);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["code"], "hotline::check::unknown_label");
    assert_eq!(first["labels"][0]["line"], 2);
    assert_eq!(first["labels"][0]["column"], 26);
    let github = hotline(&["check", "--format", "github", p]);
    let stdout = String::from_utf8_lossy(&github.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("::error file=")
            && l.contains(",line=2,col=26,")
            && l.contains("::`派遣` is not a label")),
        "{stdout}"
    );
}

#[test]
fn explain_shows_definition_inputs_and_exact_value() {
    let out = hotline(&[
        "explain",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "2023-03",
        "--unit",
        "姜楼镇",
        "--metric",
        "按时办理率",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("按时办理率 = 94.85%（精确值 94.845360824742268041237113"),
        "{stdout}"
    );
    let policy = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/dong-e-monthly.policy"),
    )
    .expect("policy");
    let line = policy
        .lines()
        .position(|l| l.starts_with("metric 按时办理率"))
        .expect("definition")
        + 1;
    assert!(
        stdout.contains(&format!("policies/dong-e-monthly.policy:{line} ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("92 / 97 行`派单`满足 `办结时间 <= 办理时限`"),
        "{stdout}"
    );
    let alias = hotline(&[
        "explain",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "2023-03",
        "--unit",
        "新城办事处",
        "--metric",
        "总得分",
    ]);
    let stdout = String::from_utf8_lossy(&alias.stdout);
    assert!(stdout.starts_with("新城街道"), "{stdout}");
    assert!(stdout.contains("总得分 = 98.81"), "{stdout}");
    let unknown = hotline(&[
        "explain",
        "policies/dong-e-monthly.policy",
        "--data",
        "tests/data/dong-e",
        "--month",
        "2023-03",
        "--unit",
        "姜楼",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `姜楼镇`?"));
}

/// The footer's digests are those of the policy and of every data file, in
/// the hash the policy's `fingerprint` names (SHA-256 when it names none, as
/// `sha256sum` shows it; BLAKE3 as `b3sum` does; none at all), through the
/// streamed render; and the hash changes nothing else in the report.
#[test]
fn the_footer_digests_the_files_in_the_policy_fingerprint_hash() {
    use sha2::Digest;
    let dir = temp("fingerprint");
    let original =
        std::fs::read_to_string("policies/dong-e-monthly.policy").expect("the Dong'e policy");
    let short =
        |digest: &[u8]| -> String { digest.iter().take(6).map(|b| format!("{b:02x}")).collect() };
    let mut figures = Vec::new();
    for kind in ["", "sha256", "blake3", "none"] {
        let text = if kind.is_empty() {
            original.clone()
        } else {
            original.replacen(
                "  decimals 2\n",
                &format!("  decimals 2\n  fingerprint {kind}\n"),
                1,
            )
        };
        assert!(kind.is_empty() || text.contains("fingerprint"), "{kind}");
        let policy = dir.join(format!("p-{kind}.policy"));
        std::fs::write(&policy, &text).expect("write");
        let policy = policy.to_str().expect("path");
        let digest = |bytes: &[u8]| match kind {
            "blake3" => short(blake3::hash(bytes).as_bytes()),
            _ => short(&sha2::Sha256::digest(bytes)),
        };
        let render = |format: &str| {
            let out = hotline(&[
                "render",
                policy,
                "--data",
                "tests/data/dong-e",
                "--month",
                "2023-03",
                "--format",
                format,
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            out.stdout
        };
        let out = render("json");
        let mut json: serde_json::Value = serde_json::from_slice(&out).expect("json");
        let footer = json["fingerprint"].take();
        let files = [
            "2023-03/tickets.csv",
            "2023-02/tickets.csv",
            "2023-03/spot-checks.csv",
            "2023-03/deductions.xlsx",
            "2023-03/commentary.md",
        ];
        if kind == "none" {
            assert_eq!(footer["hash"], "none");
            assert_eq!(footer["policy"], "");
            assert_eq!(footer["data"], serde_json::json!([]));
        } else {
            assert_eq!(
                footer["hash"],
                if kind == "blake3" { "blake3" } else { "sha256" }
            );
            assert_eq!(footer["policy"], digest(text.as_bytes()).as_str(), "{kind}");
            let expected: Vec<serde_json::Value> = files
                .iter()
                .map(|f| {
                    let bytes = std::fs::read(format!("tests/data/dong-e/{f}")).expect("data");
                    serde_json::json!([f, digest(&bytes)])
                })
                .collect();
            assert_eq!(footer["data"], serde_json::Value::Array(expected), "{kind}");
        }
        // The Markdown footer line.
        let markdown = String::from_utf8_lossy(&render("md")).to_string();
        let last = markdown
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        let version = format!("hotline {}", env!("CARGO_PKG_VERSION"));
        match kind {
            "none" => assert_eq!(last.trim(), version, "{markdown}"),
            "blake3" => assert!(last.contains(&format!("· BLAKE3 · {version}")), "{last}"),
            _ => assert!(
                last.starts_with("策略 ") && !last.contains("BLAKE3"),
                "{last}"
            ),
        }
        json["policy"].take();
        figures.push(json);
    }
    assert!(figures.windows(2).all(|w| w[0] == w[1]));
    let _ = std::fs::remove_dir_all(&dir);
}
