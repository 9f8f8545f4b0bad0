//! The long-running watch: one thread reads the source every poll interval, the HTTP
//! server answers from the shared state; SIGHUP or `POST /api/reload` re-reads the config
//! (a bad one is refused and the old one kept). `--once` is one read and one evaluation.

use crate::config::WatchConfig;
use crate::error::{Result, WatchError};
use crate::file_source::FileFollower;
use crate::jaeger_source::{JaegerPoller, now_ms};
use crate::source::SourceHealth;
use crate::tracker::{Survey, Tracker};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Where spans come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// Jaeger's query URL, e.g. `http://127.0.0.1:16686`.
    Jaeger(String),
    /// The embedded exporter's OTLP/JSON-lines file.
    File(PathBuf),
}

/// How the watch runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// The span source.
    pub source: SourceSpec,
    /// The config file; `None` = defaults.
    pub config_path: Option<PathBuf>,
    /// `host:port` to listen on (loopback by default).
    pub listen: String,
    /// Prefix of every route and link, e.g. `/board` behind a gateway; empty for none.
    pub base_path: String,
    /// Where trace links point: `<url>/trace/<trace id>`; `None` = the `--jaeger` URL.
    pub jaeger_ui_url: Option<String>,
    /// This watch's share of the orders (`k/n`), `None` for all.
    pub shard: Option<crate::tracker::Shard>,
}

impl WatchOptions {
    /// The base path normalised: empty, or `/x` without a trailing slash.
    pub fn normalized_base_path(&self) -> Result<String> {
        let p = self.base_path.trim().trim_end_matches('/');
        if p.is_empty() {
            return Ok(String::new());
        }
        if !p.starts_with('/') || p.contains(['?', '#', ' ', '"', '<', '>']) {
            return Err(WatchError::BadInput(format!(
                "--base-path {:?} must be a path starting with /, e.g. /board",
                self.base_path
            )));
        }
        Ok(p.to_string())
    }

    /// Base URL of trace links (without the trailing `/trace/...`).
    pub fn trace_link_base(&self) -> Option<String> {
        self.jaeger_ui_url
            .clone()
            .or_else(|| match &self.source {
                SourceSpec::Jaeger(url) => Some(url.clone()),
                SourceSpec::File(_) => None,
            })
            .map(|u| u.trim_end_matches('/').to_string())
    }
}

/// Set by SIGHUP.
static RELOAD_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sighup(_: libc::c_int) {
    RELOAD_REQUESTED.store(true, Ordering::SeqCst);
}

fn install_sighup() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGHUP, on_sighup as *const () as libc::sighandler_t);
    }
}

/// State shared by the reader thread and the HTTP server.
pub struct Shared {
    /// Every order.
    pub tracker: Mutex<Tracker>,
    /// The current config.
    pub config: RwLock<WatchConfig>,
    /// The source's health.
    pub health: Mutex<SourceHealth>,
    /// The options it was started with.
    pub options: WatchOptions,
    /// Base path, normalised.
    pub base_path: String,
    /// Successful reloads.
    pub reloads_ok: AtomicU64,
    /// Refused reloads.
    pub reloads_failed: AtomicU64,
    /// The last reload error.
    pub last_reload_error: Mutex<Option<String>>,
}

impl Shared {
    /// Checks the options and reads the config.
    pub fn new(options: WatchOptions) -> Result<Self> {
        let config = load_config(&options)?;
        let base_path = options.normalized_base_path()?;
        let health = match &options.source {
            SourceSpec::Jaeger(url) => SourceHealth::new("jaeger", url),
            SourceSpec::File(p) => SourceHealth::new("file", &p.display().to_string()),
        };
        let mut tracker = Tracker::new();
        tracker.shard = options.shard;
        Ok(Shared {
            tracker: Mutex::new(tracker),
            config: RwLock::new(config),
            health: Mutex::new(health),
            options,
            base_path,
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            last_reload_error: Mutex::new(None),
        })
    }

    /// The current config (a copy).
    pub fn config(&self) -> WatchConfig {
        self.config.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// Re-reads the config file; a bad file is refused and the current config kept.
    pub fn reload(&self) -> Result<()> {
        match load_config(&self.options) {
            Ok(c) => {
                if let Ok(mut slot) = self.config.write() {
                    *slot = c;
                }
                self.reloads_ok.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut e) = self.last_reload_error.lock() {
                    *e = None;
                }
                eprintln!("[watch] config reloaded");
                Ok(())
            }
            Err(e) => {
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut slot) = self.last_reload_error.lock() {
                    *slot = Some(e.to_string());
                }
                eprintln!("[watch] reload refused, keeping the current config: {e}");
                Err(e)
            }
        }
    }

    /// Whether the data is stale now.
    pub fn is_stale(&self, now_ms: u64) -> bool {
        let stale_after = crate::millis(self.config().stale_after);
        self.health
            .lock()
            .map(|h| h.is_stale(now_ms, stale_after))
            .unwrap_or(true)
    }

    /// A copy of the source health.
    pub fn health(&self) -> SourceHealth {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Every order's state now; `keep` picks the orders to list.
    pub fn survey(&self, now_ms: u64, keep: impl FnMut(crate::StateKind) -> bool) -> Survey {
        let cfg = self.config();
        let stale = self.is_stale(now_ms);
        match self.tracker.lock() {
            Ok(mut t) => t.survey(now_ms, &cfg, stale, keep),
            Err(_) => Survey::default(),
        }
    }
}

fn load_config(options: &WatchOptions) -> Result<WatchConfig> {
    match &options.config_path {
        Some(p) => WatchConfig::from_file(p),
        None => Ok(WatchConfig::default()),
    }
}

/// A source being read.
enum Reader {
    Jaeger(JaegerPoller),
    File(FileFollower),
}

impl Reader {
    fn new(spec: &SourceSpec, cfg: &WatchConfig) -> Result<Self> {
        Ok(match spec {
            SourceSpec::Jaeger(url) => Reader::Jaeger(JaegerPoller::new(url, cfg.request_timeout)?),
            SourceSpec::File(p) => Reader::File(FileFollower::new(p)),
        })
    }

    /// One read; updates the health.
    fn read(&mut self, shared: &Shared, finish: bool) -> Result<u64> {
        let cfg = shared.config();
        let now = now_ms();
        let result = match self {
            Reader::Jaeger(j) => j.poll(&shared.tracker, now, &cfg).map(|r| r.spans),
            Reader::File(f) => match shared.tracker.lock() {
                Ok(mut t) => f.read_new(&mut t, now, &cfg).map(|n| {
                    if finish {
                        n + f.finish(&mut t, now, &cfg)
                    } else {
                        n
                    }
                }),
                Err(_) => Err(WatchError::Source(
                    "the order table's lock was poisoned".into(),
                )),
            },
        };
        if let Ok(mut h) = shared.health.lock() {
            match &result {
                Ok(n) => h.succeeded(now, *n),
                Err(e) => h.failed(e.to_string()),
            }
        }
        result
    }
}

/// Runs the watch until the process is stopped: reads the source every poll interval and
/// serves HTTP on `options.listen`.
pub fn run(options: WatchOptions) -> Result<()> {
    let shared = Arc::new(Shared::new(options)?);
    install_sighup();
    let server = crate::server::start(Arc::clone(&shared))?;
    eprintln!(
        "[watch] serving http://{}{}/ (board), /metrics, /api/orders; reading {}",
        server.addr,
        shared.base_path,
        shared.health().target
    );
    let mut reader = Reader::new(&shared.options.source, &shared.config())?;
    let mut last_error: Option<String> = None;
    loop {
        let started = std::time::Instant::now();
        match reader.read(&shared, false) {
            Ok(_) => {
                if last_error.take().is_some() {
                    eprintln!("[watch] source is back");
                }
            }
            Err(e) => {
                let text = e.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    eprintln!(
                        "[watch] read failed (serving the last state, marked stale once older than stale_after): {text}"
                    );
                }
                last_error = Some(text);
            }
        }
        let poll = shared.config().poll_interval;
        while started.elapsed() < poll {
            if RELOAD_REQUESTED.swap(false, Ordering::SeqCst) {
                let _ = shared.reload();
            }
            std::thread::sleep(Duration::from_millis(100).min(poll));
        }
    }
}

/// One read of the source and the state of every order: what `--once` prints.
pub fn once(options: WatchOptions) -> Result<Arc<Shared>> {
    let shared = Arc::new(Shared::new(options)?);
    let mut reader = Reader::new(&shared.options.source, &shared.config())?;
    reader.read(&shared, true)?;
    Ok(shared)
}
