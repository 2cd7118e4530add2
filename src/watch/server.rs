//! The preview server. It serves exactly three paths:
//!
//! | path          | what                                                                  |
//! |---------------|-----------------------------------------------------------------------|
//! | `/`           | the page (the report with the live-reload script)                     |
//! | `/events`     | server-sent events: `hello` with the current version on connecting,   |
//! |               | then `reload` with the new version whenever a build finishes          |
//! | `/state.json` | the latest build: version, ok, rendered_in_ms, diagnostics (plain)    |
//!
//! Anything else is 404; methods other than GET and HEAD are 405. Every request must carry a
//! `Host` header naming the address served (`127.0.0.1:PORT`, or for loopback also
//! `localhost:PORT` and `[::1]:PORT`; when bound to every interface, any IP literal with the
//! port) and, when it has an `Origin`, that origin must be `http://` + the same host: else 403.
//! This keeps pages of other sites (through DNS rebinding) from reading the report. No CORS
//! header is ever sent.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response};

use super::page::Page;

/// Threads taking requests; event streams get threads of their own.
const WORKERS: usize = 4;
/// At most this many event streams at once (tabs left open, reconnects).
const MAX_STREAMS: usize = 32;
/// A comment line this often keeps proxies quiet and finds closed streams.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the server shows: the latest build.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// Counts builds; 0 before the first.
    pub version: u64,
    /// The page.
    pub page: Arc<Page>,
    /// `/state.json`.
    pub state: Arc<String>,
}

/// The latest build, shared with the server's threads.
#[derive(Debug)]
pub(crate) struct Shared {
    published: Mutex<Published>,
    changed: Condvar,
}

impl Shared {
    /// Shared state showing `initial`.
    pub(crate) fn new(initial: Published) -> Shared {
        Shared {
            published: Mutex::new(initial),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The latest build.
    pub(crate) fn get(&self) -> Published {
        self.lock().clone()
    }

    /// Shows a new build and wakes the event streams.
    pub(crate) fn publish(&self, next: Published) {
        *self.lock() = next;
        self.changed.notify_all();
    }

    /// Replaces `/state.json` only (the same version: nothing to reload).
    pub(crate) fn set_state(&self, state: String) {
        self.lock().state = Arc::new(state);
    }

    /// Waits until the version differs from `seen`, or `timeout`; the version then.
    fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.lock();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |p| p.version == seen)
            .unwrap_or_else(|e| e.into_inner());
        guard.version
    }
}

/// Which `Host` headers name this server.
#[derive(Debug, Clone)]
pub(crate) struct HostCheck {
    port: u16,
    names: Vec<String>,
    any_ip: bool,
}

impl HostCheck {
    /// The names of a server bound to `bound`, asked for as `host`.
    pub(crate) fn new(host: &str, bound: SocketAddr) -> HostCheck {
        let ip = bound.ip();
        let mut names = vec![host_name(host), ip_name(ip)];
        if ip.is_loopback() {
            names.extend([
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "[::1]".to_string(),
            ]);
        }
        names.sort();
        names.dedup();
        HostCheck {
            port: bound.port(),
            names,
            any_ip: ip.is_unspecified(),
        }
    }

    /// Whether a `Host` header value names this server.
    pub(crate) fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !port.contains(']') => (name, port.parse::<u16>().ok()),
            _ => (host.as_str(), Some(80)),
        };
        if port != Some(self.port) || name.is_empty() {
            return false;
        }
        if self.names.iter().any(|n| n == name) {
            return true;
        }
        self.any_ip
            && name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
    }
}

fn ip_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => ip_name(ip),
        Err(_) => host,
    }
}

/// A running server.
pub(crate) struct Server {
    /// The address bound.
    pub addr: SocketAddr,
    /// The preview's address.
    pub url: String,
}

/// Binds `host:port` and serves `shared` on worker threads.
pub(crate) fn start(host: &str, port: u16, shared: Arc<Shared>) -> Result<Server, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let http = tiny_http::Server::http((bare, port)).map_err(|e| e.to_string())?;
    let addr = http
        .server_addr()
        .to_ip()
        .ok_or("not bound to an IP address")?;
    let url_host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if bare.parse::<IpAddr>().is_ok() {
        ip_name(addr.ip())
    } else {
        host.to_string()
    };
    let url = format!("http://{url_host}:{}/", addr.port());
    let check = Arc::new(HostCheck::new(host, addr));
    let http = Arc::new(http);
    let streams = Arc::new(AtomicUsize::new(0));
    for i in 0..WORKERS {
        let (http, shared, check, streams) =
            (http.clone(), shared.clone(), check.clone(), streams.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("preview-{i}"))
            .spawn(move || {
                while let Ok(request) = http.recv() {
                    handle(request, &shared, &check, &streams);
                }
            });
        if let Err(e) = spawned {
            return Err(format!("cannot start the server's threads: {e}"));
        }
    }
    Ok(Server { addr, url })
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(
    request: Request,
    status: u16,
    content_type: &str,
    body: String,
    extra: &[(&str, &str)],
) {
    let mut response = Response::from_string(body).with_status_code(status);
    let common = [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ];
    for (name, value) in common.iter().chain(extra) {
        if let Some(h) = header(name, value) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}

fn header_values<'r>(request: &'r Request, name: &str) -> Vec<&'r str> {
    request
        .headers()
        .iter()
        .filter(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
        .collect()
}

fn handle(request: Request, shared: &Arc<Shared>, check: &HostCheck, streams: &Arc<AtomicUsize>) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let method = request.method().clone();
    if method != Method::Get && method != Method::Head {
        return respond(
            request,
            405,
            TEXT,
            "method not allowed\n".into(),
            &[("Allow", "GET, HEAD")],
        );
    }
    let hosts = header_values(&request, "Host");
    let host = match hosts.as_slice() {
        [host] if check.allows(host) => host.trim().to_ascii_lowercase(),
        _ => {
            return respond(
                request,
                403,
                TEXT,
                "forbidden: unexpected Host\n".into(),
                &[],
            )
        }
    };
    let origins = header_values(&request, "Origin");
    let origin_ok = match origins.as_slice() {
        [] => true,
        [origin] => origin
            .trim()
            .eq_ignore_ascii_case(&format!("http://{host}")),
        _ => false,
    };
    if !origin_ok {
        return respond(
            request,
            403,
            TEXT,
            "forbidden: unexpected Origin\n".into(),
            &[],
        );
    }
    let path = request.url().split(['?', '#']).next().unwrap_or("");
    match path {
        "/" => {
            let page = shared.get().page;
            let csp = format!(
                "default-src 'none'; script-src 'nonce-{}'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                page.nonce
            );
            respond(
                request,
                200,
                "text/html; charset=utf-8",
                page.html.clone(),
                &[("Content-Security-Policy", &csp)],
            );
        }
        "/state.json" => {
            let state = shared.get().state;
            respond(
                request,
                200,
                "application/json; charset=utf-8",
                state.to_string(),
                &[],
            );
        }
        "/events" if method == Method::Get => {
            if streams.fetch_add(1, Ordering::SeqCst) >= MAX_STREAMS {
                streams.fetch_sub(1, Ordering::SeqCst);
                return respond(
                    request,
                    503,
                    TEXT,
                    "too many event streams\n".into(),
                    &[("Retry-After", "5")],
                );
            }
            let (shared, count) = (shared.clone(), streams.clone());
            let spawned = std::thread::Builder::new()
                .name("preview-events".into())
                .spawn(move || {
                    events(request, &shared);
                    count.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                // The request went with the closure (the connection closes; the client
                // reconnects).
                streams.fetch_sub(1, Ordering::SeqCst);
                eprintln!("warning: cannot start a thread for an event stream");
            }
        }
        "/events" => respond(request, 200, "text/event-stream", String::new(), &[]),
        _ => respond(request, 404, TEXT, "not found\n".into(), &[]),
    }
}

/// One event stream, until the client goes away. The status line and headers are written by
/// hand: tiny_http would otherwise send a chunked body, which browsers reject for event streams.
fn events(request: Request, shared: &Shared) {
    let mut seen = shared.get().version;
    let mut out = request.into_writer();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\nX-Content-Type-Options: nosniff\r\n\r\n";
    let hello = format!("retry: 1000\n\nevent: hello\ndata: {seen}\n\n");
    if out
        .write_all(head.as_bytes())
        .and_then(|_| out.write_all(hello.as_bytes()))
        .and_then(|_| out.flush())
        .is_err()
    {
        return;
    }
    loop {
        let version = shared.wait(seen, KEEP_ALIVE);
        let frame = if version == seen {
            ": keep-alive\n\n".to_string()
        } else {
            seen = version;
            format!("event: reload\ndata: {version}\n\n")
        };
        if out
            .write_all(frame.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        let loopback = HostCheck::new("127.0.0.1", "127.0.0.1:8345".parse().unwrap());
        assert!(loopback.allows("127.0.0.1:8345"));
        assert!(loopback.allows("LOCALHOST:8345"));
        assert!(loopback.allows("[::1]:8345"));
        assert!(!loopback.allows("127.0.0.1:8346"));
        assert!(!loopback.allows("127.0.0.1"));
        assert!(!loopback.allows("evil.example:8345"));
        assert!(!loopback.allows("localhost.evil.example:8345"));
        assert!(!loopback.allows(":8345"));
        let lan = HostCheck::new("192.168.1.5", "192.168.1.5:80".parse().unwrap());
        assert!(lan.allows("192.168.1.5"));
        assert!(lan.allows("192.168.1.5:80"));
        assert!(!lan.allows("localhost:80"));
        let any = HostCheck::new("0.0.0.0", "0.0.0.0:9000".parse().unwrap());
        assert!(any.allows("10.0.0.7:9000"));
        assert!(any.allows("[fe80::1]:9000"));
        assert!(!any.allows("rebind.example:9000"));
        let v6 = HostCheck::new("::1", "[::1]:9000".parse().unwrap());
        assert!(v6.allows("[::1]:9000"));
        assert!(v6.allows("localhost:9000"));
    }
}
