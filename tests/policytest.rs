//! `hotline test`: policy tests run by the real binary.

use std::process::{Command, Output};

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("runs")
}

#[test]
fn the_dong_e_rules_pass_their_tests() {
    let out = hotline(&["test", "policies"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok      恰在中点的得分四舍五入"),
        "{stdout}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("not exercised by any test:"), "{stdout}");
}

#[test]
fn a_failed_expectation_points_at_itself_with_the_actual_value() {
    let dir = std::env::temp_dir().join(format!("hotline-policytest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        r#"
source 工单 from csv "t.csv" {
  单位 unit
  按时 bool(是 = true, 否 = false)
}
units { 镇街: 甲镇, 乙镇 }
metric 按时率 from 工单 by 单位 = share(按时) default 100%
metric 量 from 工单 by 单位 = count()
"#,
    )
    .expect("write");
    std::fs::write(
        dir.join("p.test.policy"),
        r#"test "三分之二" {
  data 工单 """
    单位,按时
    甲镇,是 × 2
    甲镇,否
  """
  expect 甲镇.按时率 == 66.67%
  expect 甲镇.量 == 3
  expect 乙镇.按时率 == 100%
}

test "故意写错" {
  data 工单 """
    单位,按时
    甲镇,是
  """
  expect 甲镇.按时率 == 50%
}
"#,
    )
    .expect("write");
    let out = hotline(&["test", dir.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("ok      三分之二"), "{stdout}");
    assert!(stdout.contains("FAILED  故意写错"), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    assert!(
        stderr.contains("p.test.policy:17:3"),
        "points into the test file: {stderr}"
    );
    assert!(stderr.contains("found 100%"), "{stderr}");
    assert!(stderr.contains("hotline::test::failed"), "{stderr}");
}
