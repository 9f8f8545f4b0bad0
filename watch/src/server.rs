//! The HTTP server on one loopback port: the board, one page per order, the JSON API,
//! `/metrics`, `/healthz`, and the only write, `POST /api/reload`. Every route lives under
//! the base path (e.g. `/board` behind a gateway).

use crate::error::{Result, WatchError};
use crate::jaeger_source::now_ms;
use crate::order_state::StateKind;
use crate::service::Shared;
use std::sync::Arc;
use tiny_http::{Header, Method, Request, Response, Server};

/// Threads answering requests.
const WORKERS: usize = 4;

/// A running server.
pub struct Running {
    /// The address it listens on.
    pub addr: String,
}

/// Starts serving in background threads.
pub fn start(shared: Arc<Shared>) -> Result<Running> {
    let listen = shared.options.listen.clone();
    let server = Server::http(&listen).map_err(|e| WatchError::Listen {
        addr: listen.clone(),
        reason: e.to_string(),
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .map_or(listen.clone(), |a| a.to_string());
    let server = Arc::new(server);
    for n in 0..WORKERS {
        let server = Arc::clone(&server);
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("watch-http-{n}"))
            .spawn(move || {
                while let Ok(request) = server.recv() {
                    respond(&shared, request);
                }
            })
            .map_err(|e| WatchError::Listen {
                addr: listen.clone(),
                reason: format!("cannot start a server thread: {e}"),
            })?;
    }
    Ok(Running { addr })
}

/// An answer: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

fn answer(status: u16, content_type: &'static str, body: String) -> Answer {
    Answer {
        status,
        content_type,
        body,
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn json_error(status: u16, message: &str) -> Answer {
    answer(
        status,
        JSON,
        serde_json::json!({ "error": message }).to_string(),
    )
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Routes one request (method, URL with query) at `now_ms`.
pub fn route(shared: &Shared, method: &str, url: &str, now_ms: u64) -> Answer {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let base = shared.base_path.as_str();
    let Some(rest) = path.strip_prefix(base) else {
        return json_error(404, &format!("not found: everything is under {base}/"));
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    match (method, rest) {
        ("GET" | "HEAD", "/") => answer(200, HTML, crate::board::index(shared, now_ms)),
        ("GET" | "HEAD", "/healthz") => {
            let stale = shared.is_stale(now_ms);
            answer(
                200,
                JSON,
                serde_json::json!({ "status": "ok", "source_up": !stale }).to_string(),
            )
        }
        ("GET" | "HEAD", "/metrics") => answer(200, TEXT, crate::metrics::render(shared, now_ms)),
        ("GET" | "HEAD", "/api/orders") => {
            let state = match query_param(query, "state") {
                None | Some("") => None,
                Some(s) => match StateKind::from_name(s) {
                    Some(k) => Some(k),
                    None => {
                        return json_error(
                            400,
                            &format!(
                                "unknown state {s:?}; states are {}",
                                StateKind::ALL.map(StateKind::name).join(", ")
                            ),
                        );
                    }
                },
            };
            let limit = match query_param(query, "limit") {
                None => crate::api::LIST_LIMIT,
                Some(l) => match l.parse::<usize>() {
                    Ok(n) if n > 0 => n.min(crate::api::LIST_LIMIT),
                    _ => {
                        return json_error(
                            400,
                            &format!(
                                "limit {l:?} must be a number from 1 to {}",
                                crate::api::LIST_LIMIT
                            ),
                        );
                    }
                },
            };
            answer(
                200,
                JSON,
                crate::api::list(shared, now_ms, state, limit).to_string(),
            )
        }
        ("POST", "/api/reload") => match shared.reload() {
            Ok(()) => answer(
                200,
                JSON,
                serde_json::json!({ "reloaded": true }).to_string(),
            ),
            Err(e) => json_error(400, &format!("reload refused, current config kept: {e}")),
        },
        ("GET" | "HEAD", p) if p.starts_with("/api/orders/") || p.starts_with("/orders/") => {
            let api = p.starts_with("/api/");
            let raw = p.trim_start_matches("/api").trim_start_matches("/orders/");
            let Some(id) = percent_decode(raw) else {
                return json_error(
                    400,
                    "the order id in the path is not valid percent-encoded UTF-8",
                );
            };
            if let Err(e) = ordertrace::schema::validate_order_id(&id) {
                return json_error(400, &e.to_string());
            }
            let not_found = || format!("order {id} not seen by this watch");
            if api {
                match crate::api::one(shared, now_ms, &id) {
                    Some(v) => answer(200, JSON, v.to_string()),
                    None => json_error(404, &not_found()),
                }
            } else {
                match crate::board::order(shared, now_ms, &id) {
                    Some(html) => answer(200, HTML, html),
                    None => answer(
                        404,
                        HTML,
                        format!(
                            "<!DOCTYPE html><p>{}</p><p><a href=\"{base}/\">order board</a></p>",
                            crate::board::esc(&not_found())
                        ),
                    ),
                }
            }
        }
        ("GET" | "HEAD" | "POST", _) => json_error(404, &format!("no route {rest}")),
        _ => json_error(405, "only GET, HEAD and POST /api/reload"),
    }
}

fn respond(shared: &Shared, request: Request) {
    let method = match request.method() {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        _ => "OTHER",
    };
    let a = route(shared, method, request.url(), now_ms());
    let mut response = Response::from_string(a.body).with_status_code(a.status);
    if let Ok(h) = Header::from_bytes(&b"Content-Type"[..], a.content_type.as_bytes()) {
        response = response.with_header(h);
    }
    if let Ok(h) = Header::from_bytes(&b"Cache-Control"[..], &b"no-store"[..]) {
        response = response.with_header(h);
    }
    let _ = request.respond(response);
}
