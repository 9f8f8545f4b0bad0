//! A fake Jaeger query service on a loopback port, for tests of this crate and of the CLI
//! (`features = ["test-support"]`): each request's first line goes to a route that answers
//! with a status line and a JSON body.
//!
//! ```
//! let url = ordertrace_watch::fake_jaeger::serve(|line| {
//!     if line.starts_with("GET /api/v3/services ") {
//!         ("200 OK", "{}".to_string())
//!     } else {
//!         ("404 Not Found", r#"{"error":{"message":"No traces found"}}"#.to_string())
//!     }
//! });
//! assert!(url.starts_with("http://127.0.0.1:"));
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// Starts the fake on a free port and returns its base URL. It answers up to 64 requests,
/// each on its own thread, so a slow answer does not hold up the next one.
pub fn serve(route: impl Fn(&str) -> (&'static str, String) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("the port's address");
    let route = Arc::new(route);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(64) {
            let route = Arc::clone(&route);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let line = request.lines().next().unwrap_or_default().to_string();
                let (status, body) = route(&line);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    format!("http://{addr}")
}

/// A fake answering `/api/v3/services` with `status` and `services`, everything else with
/// 404 "No traces found" (as an empty Jaeger does).
pub fn with_services(status: &'static str, services: &'static str) -> String {
    serve(move |line| {
        if line.starts_with("GET /api/v3/services ") {
            (status, services.to_string())
        } else {
            (
                "404 Not Found",
                r#"{"error":{"message":"No traces found"}}"#.to_string(),
            )
        }
    })
}
