//! `hotline watch` end to end: the real binary, on a temporary copy of the Dong'e policy and
//! its two months of data, with the preview on a free port. Every wait is a polling loop with a
//! generous time-out; no test asserts timings.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);
const STALE: &str = "过期：策略有错误，显示的是上一次成功的结果";
const TITLE: &str = "份办理情况\" {";

/// A temporary folder with the policy and the data; removed on drop.
struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    fn new(name: &str) -> Workspace {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "hotline-watch-{name}-{}-{nanos}",
            std::process::id()
        ));
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            root.join("policies/dong-e-monthly.policy"),
            dir.join("dong-e-monthly.policy"),
        )
        .unwrap();
        for month in ["2023-02", "2023-03"] {
            let to = dir.join("data").join(month);
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(root.join("tests/data/dong-e").join(month)).unwrap() {
                let entry = entry.unwrap();
                copy_writable(&entry.path(), &to.join(entry.file_name()));
            }
        }
        Workspace { dir }
    }

    fn policy(&self) -> PathBuf {
        self.dir.join("dong-e-monthly.policy")
    }

    fn read_policy(&self) -> String {
        std::fs::read_to_string(self.policy()).unwrap()
    }

    /// Saves the policy the way editors do: a temporary file renamed over it.
    fn save_atomically(&self, text: &str) {
        let tmp = self.dir.join("x.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.policy()).unwrap();
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_writable(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let mut permissions = std::fs::metadata(to).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(to, permissions).unwrap();
}

/// The running `hotline watch`; killed on drop.
struct Watch {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    text
}

fn spawn(ws: &Workspace, extra: &[&str]) -> Watch {
    spawn_with(ws, extra, &[])
}

fn spawn_with(ws: &Workspace, extra: &[&str], env: &[(&str, &str)]) -> Watch {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "watch",
            "dong-e-monthly.policy",
            "--data",
            "data",
            "--month",
            "2023-03",
        ])
        .args(extra)
        .current_dir(&ws.dir)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    Watch {
        child,
        port: 0,
        stdout,
        stderr,
    }
}

/// Starts `hotline watch --port 0` and reads the port it prints.
fn start(ws: &Workspace) -> Watch {
    start_with(ws, &[])
}

fn start_with(ws: &Workspace, env: &[(&str, &str)]) -> Watch {
    let mut watch = spawn_with(ws, &["--port", "0"], env);
    let stderr = watch.stderr.clone();
    watch.port = poll("the preview's address on stderr", || {
        let text = stderr.lock().unwrap().clone();
        let rest = text.split("preview: http://127.0.0.1:").nth(1)?;
        rest.split('/').next()?.parse().ok()
    });
    watch
}

impl Watch {
    fn logs(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `GET path` with the right Host header.
    fn get(&self, path: &str) -> Response {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host()
        ))
    }

    fn raw(&self, request: &str) -> Response {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        Response::parse(&String::from_utf8_lossy(&bytes))
    }

    fn state(&self) -> serde_json::Value {
        let response = self.get("/state.json");
        assert_eq!(response.status, 200, "{}", self.logs());
        serde_json::from_str(&response.body).unwrap()
    }

    /// Polls `/state.json` until `ready` holds.
    fn state_where(
        &self,
        what: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let state = self.state();
            if ready(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last state {state}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a failed build whose diagnostics mention `needle`, and checks that the page
    /// keeps the last good report, marked stale, and that the watch is still running.
    fn failed_with(&mut self, what: &str, needle: &str) -> serde_json::Value {
        let state = self.state_where(what, |s| s["ok"] == false);
        let diagnostics = state["diagnostics"].as_str().unwrap_or_default();
        assert!(diagnostics.contains(needle), "{needle}: {state}");
        assert!(self.get("/").body.contains(STALE), "{what}");
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the watch exited\n{}",
            self.logs()
        );
        state
    }

    /// Waits until a build newer than `after` is published.
    fn newer_than(&self, after: u64) -> serde_json::Value {
        self.state_where(&format!("a build after version {after}"), |s| {
            s["version"].as_u64().unwrap() > after
        })
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: String,
    body: String,
}

impl Response {
    fn parse(text: &str) -> Response {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Response {
            status,
            headers: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }
}

fn poll<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A raw server-sent-events client.
struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    fn open(watch: &Watch) -> Events {
        let mut stream = TcpStream::connect(("127.0.0.1", watch.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        write!(
            stream,
            "GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            watch.host()
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let deadline = Instant::now() + TIMEOUT;
        while !head.ends_with("\r\n\r\n") {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => panic!("the event stream closed: {head}"),
                Ok(_) => head.push_str(&line),
                Err(_) => assert!(Instant::now() < deadline, "no event-stream headers: {head}"),
            }
        }
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        assert!(!head.contains("transfer-encoding"), "{head}");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
        Events { reader }
    }

    /// The next event named `name` whose version is above `after`.
    fn next(&mut self, name: &str, after: Option<u64>, watch: &Watch) -> u64 {
        let deadline = Instant::now() + TIMEOUT;
        let mut event = String::new();
        loop {
            assert!(
                Instant::now() < deadline,
                "no `{name}` event after {after:?}\n{}",
                watch.logs()
            );
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => panic!("the event stream closed"),
                Ok(_) => {}
                Err(_) => continue,
            }
            let line = line.trim_end();
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_string();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let version: u64 = data.parse().unwrap();
                if event == name && after.is_none_or(|a| version > a) {
                    return version;
                }
            }
        }
    }
}

#[test]
fn serves_the_report() {
    let ws = Workspace::new("serve");
    let watch = start(&ws);
    let state = watch.state_where("the first build", |s| s["version"].as_u64() >= Some(1));
    assert_eq!(state["ok"], true, "{state}\n{}", watch.logs());
    assert_eq!(state["tables"]["read"], 4, "{state}");
    assert!(state["rendered_in_ms"].is_u64(), "{state}");
    assert_eq!(state["unmapped_columns"], serde_json::json!([]), "{state}");
    let page = watch.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.headers.contains("content-type: text/html"),
        "{}",
        page.headers
    );
    assert!(
        page.headers.contains("content-security-policy"),
        "{}",
        page.headers
    );
    assert!(page.body.contains("附表 1"));
    assert!(page.body.contains("new EventSource('/events')"));
    assert!(page.body.contains("id=\"hl-values\""));
    assert!(!page.body.contains(STALE));
    assert!(watch.logs().contains("rendered in "), "{}", watch.logs());
}

#[test]
fn reloads_after_edits_and_atomic_saves() {
    let ws = Workspace::new("reload");
    let watch = start(&ws);
    let first = watch.state_where("the first build", |s| s["ok"] == true);
    let mut events = Events::open(&watch);
    let hello = events.next("hello", None, &watch);
    assert!(hello >= first["version"].as_u64().unwrap());

    // An edit in place.
    let text = ws.read_policy();
    assert!(text.contains(TITLE));
    std::fs::write(
        ws.policy(),
        text.replace(TITLE, "份办理情况（第一次修改）\" {"),
    )
    .unwrap();
    let v1 = events.next("reload", Some(hello), &watch);
    let page = watch.get("/");
    assert!(
        page.body.contains("办理情况（第一次修改）"),
        "{}",
        watch.logs()
    );
    // Only the policy changed: no data file was read again.
    let state = watch.state();
    assert_eq!(state["tables"]["read"], 0, "{state}");
    assert_eq!(state["tables"]["cached"], 4, "{state}");

    // A save through a temporary file and a rename.
    ws.save_atomically(&text.replace(TITLE, "份办理情况（原子保存）\" {"));
    let v2 = events.next("reload", Some(v1), &watch);
    assert!(
        watch.get("/").body.contains("办理情况（原子保存）"),
        "{}",
        watch.logs()
    );

    // A burst of saves: the last content wins.
    for i in 0..5 {
        ws.save_atomically(&text.replace(TITLE, &format!("份办理情况（连续保存 {i}）\" {{")));
        std::thread::sleep(Duration::from_millis(10));
    }
    events.next("reload", Some(v2), &watch);
    poll("the last of a burst of saves", || {
        watch
            .get("/")
            .body
            .contains("办理情况（连续保存 4）")
            .then_some(())
    });
    assert!(watch.logs().contains("rendered in "));
}

#[test]
fn keeps_the_last_good_report_while_the_policy_is_broken() {
    let ws = Workspace::new("broken");
    let watch = start(&ws);
    let good = watch.state_where("the first build", |s| s["ok"] == true);
    let text = ws.read_policy();
    let broken = text.replacen("metric 承办量 from 派单", "metric 承办量 fro 派单", 1);
    assert_ne!(broken, text);
    std::fs::write(ws.policy(), &broken).unwrap();
    let state = watch.state_where("the failed build", |s| s["ok"] == false);
    assert!(state["version"].as_u64() > good["version"].as_u64());
    let diagnostics = state["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains("unexpected `fro`"), "{diagnostics}");
    assert!(
        diagnostics.contains("dong-e-monthly.policy:"),
        "{diagnostics}"
    );
    assert!(
        diagnostics.contains("metric 承办量 fro 派单"),
        "{diagnostics}"
    );
    assert!(!diagnostics.contains('\x1b'), "{diagnostics}");
    assert_eq!(state["stale"], true);
    let page = watch.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(STALE), "{}", page.body);
    assert!(page.body.contains("附表 1"));
    assert!(page.body.contains("id=\"hl-diagnostics\""));
    assert!(page.body.contains("unexpected `fro`"));
    // The process goes on; fixing the policy clears the banner.
    std::fs::write(ws.policy(), &text).unwrap();
    let state = watch.state_where("the fixed build", |s| s["ok"] == true);
    assert_eq!(state["diagnostics"], "");
    let page = watch.get("/");
    assert!(!page.body.contains(STALE));
    assert!(!page.body.contains("id=\"hl-diagnostics\""));
    assert!(page.body.contains("附表 1"));
}

#[test]
fn a_failing_section_leaves_the_others_fresh() {
    let ws = Workspace::new("section");
    let watch = start(&ws);
    let good = watch.state_where("the first build", |s| s["ok"] == true);
    let text = ws.read_policy();
    let edited = text.replace(TITLE, "份办理情况（新标题）\" {").replacen(
        "市级抽访涉及 {{ 抽访总数 }} 件工单",
        "市级抽访涉及 {{ 抽访总数 | 没有的过滤器 }} 件工单",
        1,
    );
    std::fs::write(ws.policy(), edited).unwrap();
    let state = watch.newer_than(good["version"].as_u64().unwrap());
    assert_eq!(state["status"], "partial", "{state}\n{}", watch.logs());
    assert_eq!(state["ok"], false);
    let page = watch.get("/").body;
    // Fresh: the title and the tables; the failing section shows its last good output.
    assert!(page.contains("办理情况（新标题）"));
    assert!(page.contains("附表 3"));
    assert!(page.contains("hl-failed-section"));
    assert!(page.contains("市级抽访涉及 848 件工单"));
    assert!(page.contains("id=\"hl-diagnostics\""));
    assert!(!page.contains(STALE));
}

#[test]
fn refuses_other_hosts_origins_and_paths() {
    let ws = Workspace::new("security");
    let watch = start(&ws);
    let host = watch.host();
    let request = |path: &str, headers: &str| {
        watch.raw(&format!(
            "GET {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n"
        ))
    };
    let mut responses = Vec::new();

    for forged in [
        "Host: evil.example\r\n",
        "Host: evil.example:80\r\n",
        "Host: 127.0.0.1:1\r\n",
        "",
    ] {
        let r = request("/", forged);
        assert_eq!(r.status, 403, "{forged:?}: {r:?}");
        responses.push(r);
    }
    let r = request(
        "/state.json",
        &format!("Host: {host}\r\nOrigin: http://evil.example\r\n"),
    );
    assert_eq!(r.status, 403);
    responses.push(r);
    let r = request("/", &format!("Host: {host}\r\nOrigin: null\r\n"));
    assert_eq!(r.status, 403);
    responses.push(r);
    let r = request("/", &format!("Host: {host}\r\nOrigin: http://{host}\r\n"));
    assert_eq!(r.status, 200);
    responses.push(r);
    let r = request("/", &format!("Host: localhost:{}\r\n", watch.port));
    assert_eq!(r.status, 200);
    responses.push(r);

    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2e%2e/",
        "/..%2fCargo.toml",
        "/policies/dong-e-monthly.policy",
        "/dong-e-monthly.policy",
        "/data/2023-03/tickets.csv",
        "//etc/passwd",
        "/index.html",
        "/state.json/",
    ] {
        let r = request(path, &format!("Host: {host}\r\n"));
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert!(!r.body.contains("policy"), "{path}: {r:?}");
        responses.push(r);
    }
    let r = watch.raw(&format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(r.status, 405);
    responses.push(r);
    responses.push(watch.get("/state.json"));
    for r in &responses {
        assert!(!r.headers.contains("access-control-allow-origin"), "{r:?}");
    }
    // An event stream does not hold up other requests.
    let _events = Events::open(&watch);
    let _more = Events::open(&watch);
    assert_eq!(watch.get("/").status, 200);
}

#[test]
fn survives_a_deleted_data_file() {
    let ws = Workspace::new("data");
    let mut watch = start(&ws);
    watch.state_where("the first build", |s| s["ok"] == true);
    let file = ws.dir.join("data/2023-03/spot-checks.csv");
    let saved = ws.dir.join("spot-checks.saved");
    std::fs::rename(&file, &saved).unwrap();
    watch.failed_with("the failed build", "spot-checks.csv");
    // Restored as a new file with the same bytes: found in the cache again.
    copy_writable(&saved, &file);
    let state = watch.state_where("the restored build", |s| s["ok"] == true);
    assert_eq!(state["tables"]["cached"], 4, "{state}");
    assert!(!watch.get("/").body.contains(STALE));

    // The whole previous month goes and comes back: without it the month still renders,
    // with a warning naming February ("上月无数据" in the report).
    let month = ws.dir.join("data/2023-02");
    let kept = ws.dir.join("2023-02.saved");
    std::fs::rename(&month, &kept).unwrap();
    watch.state_where("the build without February", |s| {
        s["ok"] == true
            && s["warnings"]
                .as_str()
                .is_some_and(|w| w.contains("no data for 2023-02"))
    });
    assert!(watch.get("/").body.contains("上月无数据"));
    std::fs::rename(&kept, &month).unwrap();
    watch.state_where("the build with February again", |s| {
        s["ok"] == true
            && s["warnings"]
                .as_str()
                .is_some_and(|w| !w.contains("2023-02"))
    });
}

#[test]
fn survives_a_truncated_and_an_unreadable_data_file() {
    let ws = Workspace::new("faults");
    let mut watch = start(&ws);
    watch.state_where("the first build", |s| s["ok"] == true);
    let file = ws.dir.join("data/2023-03/tickets.csv");
    let whole = std::fs::read(&file).unwrap();

    // Cut in the middle of a quoted, multi-line complaint, as a copy still being
    // written leaves it.
    let open_quote = whole
        .windows(2)
        .position(|w| w == b",\"")
        .expect("a quoted field in the sample");
    std::fs::write(&file, &whole[..open_quote + 5]).unwrap();
    let state = watch.failed_with("the truncated build", "never closed");
    assert!(
        state["diagnostics"]
            .as_str()
            .unwrap()
            .contains("tickets.csv"),
        "{state}"
    );
    std::fs::write(&file, &whole).unwrap();
    watch.state_where("the rewritten build", |s| s["ok"] == true);
    assert!(!watch.get("/").body.contains(STALE));

    // Replaced by something that cannot be read as a file.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    watch.failed_with("the unreadable build", "cannot read");
    std::fs::remove_dir(&file).unwrap();
    std::fs::write(&file, &whole).unwrap();
    watch.state_where("the restored build", |s| s["ok"] == true);
    assert!(!watch.get("/").body.contains(STALE));
}

/// Above a size, data is streamed on every build instead of cached: the same
/// report, edits still reload, and a broken data file is still reported.
#[test]
fn streams_large_data_on_every_build() {
    let ws = Workspace::new("stream");
    let mut watch = start_with(&ws, &[("HOTLINE_WATCH_STREAM_ABOVE", "0")]);
    let first = watch.state_where("the first build", |s| s["ok"] == true);
    assert_eq!(first["tables"]["cached"], 0, "{first}");
    let page = watch.get("/").body;
    assert!(page.contains("东阿县"), "{page}");
    let policy = ws.read_policy();
    ws.save_atomically(&policy.replace("东阿县12345市民热线承办件办理情况", "东阿县流式预览"));
    let state = watch.state_where("the edited build", |s| {
        s["ok"] == true && s["version"].as_u64() > first["version"].as_u64()
    });
    assert_eq!(state["tables"]["cached"], 0, "{state}");
    poll("the edited title", || {
        watch.get("/").body.contains("东阿县流式预览").then_some(())
    });
    let file = ws.dir.join("data/2023-03/tickets.csv");
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() / 2]).unwrap();
    watch.failed_with("the truncated build", "tickets.csv");
    std::fs::write(&file, &whole).unwrap();
    watch.state_where("the restored build", |s| s["ok"] == true);
}

/// `-o` writes each good report; a folder that cannot be written is reported and the
/// watch keeps serving.
#[test]
fn writes_good_reports_and_survives_an_unwritable_output() {
    let ws = Workspace::new("output");
    let out = ws.dir.join("report.html");
    let watch = spawn_with(&ws, &["--port", "0", "-o", "report.html"], &[]);
    poll("the written report", || {
        let text = std::fs::read_to_string(&out).ok()?;
        text.contains("</html>").then_some(())
    });
    let first = std::fs::read_to_string(&out).unwrap();
    assert!(first.contains("东阿县"), "{first}");
    // A broken policy writes nothing: the last good report stays.
    let policy = ws.read_policy();
    ws.save_atomically(&policy.replace("metric 承办量 from", "metric 承办量 frm"));
    poll("the diagnostics of the broken edit", || {
        watch.logs().contains("frm").then_some(())
    });
    assert_eq!(std::fs::read_to_string(&out).unwrap(), first);
    drop(watch);

    // The output's folder is a file: the report cannot be written there.
    let blocker = ws.dir.join("not-a-folder");
    std::fs::write(&blocker, "").unwrap();
    ws.save_atomically(&policy);
    let mut watch = spawn_with(&ws, &["--port", "0", "-o", "not-a-folder/report.html"], &[]);
    poll("the warning", || {
        watch.logs().contains("cannot write").then_some(())
    });
    assert!(
        watch.child.try_wait().unwrap().is_none(),
        "the watch exited\n{}",
        watch.logs()
    );
}

#[test]
fn without_a_server_it_only_prints() {
    let ws = Workspace::new("noserve");
    let watch = spawn(&ws, &["--no-serve"]);
    poll("the first build", || {
        watch
            .stdout
            .lock()
            .unwrap()
            .contains("rendered in ")
            .then_some(())
    });
    std::fs::write(
        ws.policy(),
        ws.read_policy()
            .replacen("metric 承办量 from 派单", "metric 承办量 fro 派单", 1),
    )
    .unwrap();
    poll("the diagnostics", || {
        watch
            .stdout
            .lock()
            .unwrap()
            .contains("unexpected `fro`")
            .then_some(())
    });
    let stderr = watch.stderr.lock().unwrap().clone();
    assert!(!stderr.contains("preview:"), "{stderr}");
}

#[test]
fn watches_a_period_month_by_month() {
    // The annual policy over a quarter with January missing: the build renders from
    // February and March, names January in its warnings, and a change to March's
    // tickets is a new build.
    let ws = Workspace::new("period");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        root.join("policies/dong-e-annual.policy"),
        ws.dir.join("dong-e-annual.policy"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "watch",
            "dong-e-annual.policy",
            "--data",
            "data",
            "--period",
            "2023-Q1",
            "--port",
            "0",
        ])
        .current_dir(&ws.dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let mut watch = Watch {
        child,
        port: 0,
        stdout,
        stderr,
    };
    let stderr = watch.stderr.clone();
    watch.port = poll("the preview's address on stderr", || {
        let text = stderr.lock().unwrap().clone();
        let rest = text.split("preview: http://127.0.0.1:").nth(1)?;
        rest.split('/').next()?.parse().ok()
    });
    let state = watch.state_where("the first build", |s| s["ok"] == true);
    let page = watch.get("/").body;
    assert!(page.contains("2023 年第一季度"), "{state}");
    poll("the warning naming January", || {
        watch
            .stdout
            .lock()
            .unwrap()
            .contains("no data for 2023-01")
            .then_some(())
    });
    let version = state["version"].as_u64().unwrap();
    let tickets = ws.dir.join("data/2023-03/tickets.csv");
    let text = std::fs::read_to_string(&tickets).unwrap();
    std::fs::write(&tickets, text.replacen("\n", "\r\n", 1)).unwrap();
    watch.newer_than(version);
    let _ = watch.child.kill();
}

#[test]
fn marks_the_commentary_and_rerenders_when_it_is_saved() {
    let ws = Workspace::new("commentary");
    let watch = start(&ws);
    let state = watch.state_where("the first build", |s| s["ok"] == true);
    // The analyst's passages are marked with their file and line; the computed ones not.
    let page = watch.get("/").body;
    assert!(
        page.contains("<span class=\"commentary\" title=\"分析：commentary.md 第 11 行\">问题主要涉及，一是消费者"),
        "{page}"
    );
    assert!(!page.contains("<span class=\"commentary\" title=\"分析：commentary.md 第 8 行\">1、"));
    // A save of the commentary is a new build showing the new words.
    let path = ws.dir.join("data/2023-03/commentary.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace(
        "问题主要涉及，一是消费者",
        "本月消费者维权集中在预付卡，一是消费者",
    );
    let tmp = ws.dir.join("data/2023-03/commentary.md.tmp");
    std::fs::write(&tmp, edited).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    watch.newer_than(state["version"].as_u64().unwrap());
    let page = watch.get("/").body;
    assert!(
        page.contains("本月消费者维权集中在预付卡"),
        "{}",
        watch.logs()
    );
}
