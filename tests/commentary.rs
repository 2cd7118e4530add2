//! The month's own words: the analyst's commentary lives in the month's folder, is shown
//! only in the month it was written for, and is checked against that month's hot topics.

use hotline::report::{ReportModel, SectionModel};
use hotline::span::SourceFile;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A data folder holding the Dong'e months under other names: `(from, to)`.
fn data(name: &str, months: &[(&str, &str)], commentary: bool) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("hotline-commentary-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (from, to) in months {
        let target = dir.join(to);
        std::fs::create_dir_all(&target).expect("mkdir");
        for entry in std::fs::read_dir(root().join("tests/data/dong-e").join(from)).expect("data") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_owned();
            if name == "commentary.md" && !commentary {
                continue;
            }
            std::fs::copy(&path, target.join(name)).expect("copy");
        }
    }
    dir
}

fn render(dir: &Path, month: &str) -> Result<ReportModel, Vec<String>> {
    let text =
        std::fs::read_to_string(root().join("policies/dong-e-monthly.policy")).expect("policy");
    let file = SourceFile::new("dong-e-monthly.policy", text);
    let checked = hotline::compile(&file).unwrap_or_else(|p| panic!("{p:?}"));
    let month = hotline::Month::parse(month).expect("month");
    hotline::evaluate(&checked, dir, month)
        .map_err(|p| p.into_iter().map(|p| p.to_string()).collect())
}

fn text(model: &ReportModel) -> String {
    model
        .sections
        .iter()
        .filter_map(|s| match s {
            SectionModel::Text { text } | SectionModel::Heading { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn warnings(model: &ReportModel) -> Vec<String> {
    model.warnings.iter().map(|w| w.to_string()).collect()
}

/// The sentences of March's analysis, as they stand in March's commentary (the parts
/// without computed values).
fn march_sentences() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("tests/data/dong-e/2023-03/commentary.md"))
        .expect("commentary");
    let mut out = Vec::new();
    // The entries' lines: after the first heading, none a heading.
    let entries = &text[text.find("\n## ").expect("an entry")..];
    for line in entries.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        // Cut at computed values and at the sentence marks: each piece is March's words.
        for piece in line.split(['{', '}', '；', '。', '，']) {
            let piece = piece.trim();
            if piece.chars().count() >= 8 && !piece.contains('[') && !piece.contains('|') {
                out.push(piece.to_string());
            }
        }
    }
    out
}

#[test]
fn march_s_analysis_is_in_march_s_report() {
    let dir = data(
        "march",
        &[("2023-02", "2023-02"), ("2023-03", "2023-03")],
        true,
    );
    let model = render(&dir, "2023-03").expect("render");
    let text = text(&model);
    let sentences = march_sentences();
    assert!(sentences.len() >= 15, "{sentences:?}");
    for s in &sentences {
        assert!(text.contains(s.as_str()), "March lacks: {s}");
    }
    // Every hot topic has its entry: nothing to warn of.
    assert_eq!(warnings(&model), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_month_without_commentary_says_none_of_march_s_words() {
    // April has March's tickets (so March's hot topics) and no commentary of its own.
    let dir = data(
        "april",
        &[("2023-02", "2023-03"), ("2023-03", "2023-04")],
        false,
    );
    let model = render(&dir, "2023-04").expect("render");
    let text = text(&model);
    for s in march_sentences() {
        assert!(!text.contains(s.as_str()), "April repeats March: {s}");
    }
    // What the data says of each hot topic: its sub-topics, the largest with its count,
    // and the places most named.
    assert!(
        text.contains("物业管理问题") && text.contains("主要涉及"),
        "{text}"
    );
    assert!(text.contains("，其中"), "{text}");
    assert!(text.contains("反映较多的是"), "{text}");
    // And the analyst is told what is missing, topic by topic.
    let w = warnings(&model);
    assert_eq!(w.len(), 6, "{w:#?}");
    for topic in [
        "物业管理",
        "消费者维权",
        "供暖",
        "农业耕地灌溉",
        "商品房开发与销售",
        "农民工工资",
    ] {
        assert!(
            w.iter()
                .any(|w| w.starts_with(&format!("`{topic}` of `热点问题` has no entry"))),
            "{topic}: {w:#?}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn entries_are_checked_against_the_month() {
    let dir = data(
        "checked",
        &[("2023-02", "2023-02"), ("2023-03", "2023-03")],
        false,
    );
    let commentary = dir.join("2023-03/commentary.md");
    // An entry of a topic that is not hot this month, text before the first entry, and
    // an entry with the month's values.
    std::fs::write(
        &commentary,
        "写给自己：三月的分析\n\n## 物业管理\n共 {{ 话题件数[key] }} 件，\n多为物业服务。\n\n## 燃气\n燃气问题增多。\n",
    )
    .expect("write");
    let model = render(&dir, "2023-03").expect("render");
    let text = text(&model);
    let w = warnings(&model);
    assert!(
        w.iter()
            .any(|w| w.contains("line 1 of") && w.contains("before the first")),
        "{w:#?}"
    );
    assert!(
        w.iter().any(|w| w.contains("`## 燃气`")
            && w.contains("(line 7)")
            && w.contains("no item of `热点问题`")),
        "{w:#?}"
    );
    // Five hot topics have no entry.
    assert_eq!(
        w.iter().filter(|w| w.contains("has no entry")).count(),
        5,
        "{w:#?}"
    );
    assert!(!text.contains("燃气问题增多"), "{text}");
    // The entry's lines are joined as one sentence, with the month's count.
    let count = model
        .values
        .iter()
        .find(|d| d.name == "话题件数")
        .and_then(|d| d.values.iter().find(|(k, _)| k == "物业管理"))
        .and_then(|(_, v)| v.clone())
        .expect("话题件数");
    assert!(
        text.contains(&format!("共 {count} 件，多为物业服务。")),
        "{text}"
    );

    // A name that is no value of the report, and a repeated entry, are errors naming
    // the file and the line.
    std::fs::write(&commentary, "## 物业管理\n共 {{ 话题数[key] }} 件。\n").expect("write");
    let errors = render(&dir, "2023-03").expect_err("unknown name");
    assert!(
        errors[0].contains("`## 物业管理`")
            && errors[0].contains("(line 1)")
            && errors[0].contains("`话题数`"),
        "{errors:#?}"
    );
    // A rate compared in an entry: an error too, as in the policy's templates.
    std::fs::write(
        &commentary,
        "## 物业管理\n{% if 主要子类占比[key] > 90 %}几乎都是物业服务。{% endif %}\n",
    )
    .expect("write");
    let errors = render(&dir, "2023-03").expect_err("compared rate");
    assert!(errors[0].contains("compares `主要子类占比`"), "{errors:#?}");
    std::fs::write(&commentary, "## 供暖\n一。\n## 供暖\n二。\n").expect("write");
    let errors = render(&dir, "2023-03").expect_err("repeated");
    assert!(
        errors[0].contains("line 3 repeats the entry of line 1"),
        "{errors:#?}"
    );

    // Saved as GBK by an old Windows editor: read the same.
    let (gbk, _, _) = encoding_rs::GBK.encode("## 供暖\n供暖问题集中在老旧小区。\n");
    std::fs::write(&commentary, gbk).expect("write");
    let model = render(&dir, "2023-03").expect("gbk");
    assert!(text_of(&model).contains("供暖问题集中在老旧小区。"));
    let _ = std::fs::remove_dir_all(dir);
}

fn text_of(model: &ReportModel) -> String {
    text(model)
}

#[test]
fn commentary_new_starts_the_month_and_strict_render_wants_it_written() {
    let dir = data(
        "new",
        &[("2023-02", "2023-03"), ("2023-03", "2023-04")],
        false,
    );
    let policy = root().join("policies/dong-e-monthly.policy");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(args)
            .output()
            .expect("run")
    };
    let data_arg = dir.display().to_string();
    let policy_arg = policy.display().to_string();
    let new = [
        "commentary",
        "new",
        policy_arg.as_str(),
        "--data",
        data_arg.as_str(),
        "--month",
        "2023-04",
    ];
    let out = run(&new);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skeleton = std::fs::read_to_string(dir.join("2023-04/commentary.md")).expect("skeleton");
    let headings: Vec<&str> = skeleton
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    assert_eq!(
        headings,
        [
            "物业管理",
            "消费者维权",
            "供暖",
            "农业耕地灌溉",
            "商品房开发与销售",
            "农民工工资"
        ]
    );
    // The month's figures as prompts, inside comments.
    assert!(skeleton.contains("<!--\n话题件数："), "{skeleton}");
    // Never over the analyst's file.
    let out = run(&new);
    assert_eq!(out.status.code(), Some(2));
    // Unwritten, the skeleton shows nothing: the data's sentences, and a warning per topic;
    // `--strict` refuses to write the report.
    let render = |strict: bool| {
        let mut args = vec![
            "render",
            policy_arg.as_str(),
            "--data",
            data_arg.as_str(),
            "--month",
            "2023-04",
        ];
        if strict {
            args.push("--strict");
        }
        run(&args)
    };
    let out = render(false);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("has no entry").count(), 6, "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("话题件数："));
    let out = render(true);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--strict"));
    // One entry written: it is shown, and five topics remain to write.
    let written = skeleton.replacen(
        "## 供暖\n",
        "## 供暖\n供暖问题集中在老旧小区，共 {{ 话题件数[key] }} 件。\n",
        1,
    );
    std::fs::write(dir.join("2023-04/commentary.md"), written).expect("write");
    let out = render(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("供暖问题集中在老旧小区，共 268 件。"),
        "{stdout}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("has no entry")
            .count(),
        5
    );
    let _ = std::fs::remove_dir_all(dir);
}
