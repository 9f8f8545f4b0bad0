//! `ordertrace demo`: a batch of orders through shop-api, RabbitMQ, crm-api, HTTP and mes-api,
//! all in one process, exported like a real deployment would (the embedded file by default,
//! OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set), then read back and shown order by order.

mod scenario;
mod services;
mod transport;

use crate::cli_error::CliError;
use crate::render;
use ordertrace::pipeline::ExportTarget;
use ordertrace::timeline::{self, OrderState};
use ordertrace::{OrderTracer, PipelineConfig, otlp_json};
use scenario::plan;
use services::Workshop;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the demo writes its spans unless told otherwise.
pub const DEFAULT_DEMO_FILE: &str = "ordertrace-demo.jsonl";
/// Most orders one demo run takes.
pub const MAX_ORDERS: usize = 100_000;
/// Heartbeat interval of the demo's services, short so a hung call shows heartbeats at once.
const DEMO_HEARTBEAT: Duration = Duration::from_millis(250);
/// The demo's batch queue, spans: room for the burst of its hung calls' records.
const DEMO_QUEUE: usize = 65_536;
/// Bound on flush and shutdown.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on the span file, MiB: the demo stops submitting orders once the file is larger.
pub const DEFAULT_MAX_FILE_MB: u64 = 1024;
/// Orders between two looks at the span file's size (a metadata call).
const CAP_CHECK_EVERY: usize = 50;
/// How often a long run prints its progress on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Orders to submit.
    pub orders: usize,
    /// Seed of the plan: the same seed gives the same orders and fates.
    pub seed: u64,
    /// Span file (overrides `ORDERTRACE_FILE`); with OTLP configured, a mirror of the export.
    pub file: Option<PathBuf>,
    /// Simulated work per stage.
    pub stage_time: Duration,
    /// How long the hung MES calls hang before the demo reports.
    pub hang_time: Duration,
    /// Print JSON instead of text.
    pub json: bool,
    /// Cap on the span file in bytes: no new order is submitted once the file is larger (the
    /// orders under way finish, so the file ends a little above the cap).
    pub max_file_bytes: u64,
}

/// How the orders ended up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    /// Shipped.
    pub completed: usize,
    /// Shipped with earlier stages missing (should not happen in the demo).
    pub incomplete: usize,
    /// Last stage failed.
    pub failed: usize,
    /// A stage still running.
    pub inside_stage: usize,
    /// Between stages.
    pub waiting: usize,
    /// No span found (should not happen).
    pub not_found: usize,
}

fn unix_nanos_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn demo_config(options: &DemoOptions) -> Result<(PipelineConfig, PathBuf), CliError> {
    let mut config = PipelineConfig::from_env()?;
    let env_file = match &config.target {
        ExportTarget::File(path) if std::env::var_os("ORDERTRACE_FILE").is_some() => {
            Some(path.clone())
        }
        _ => None,
    };
    let file = options
        .file
        .clone()
        .or(env_file)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DEMO_FILE));
    match config.target {
        ExportTarget::File(_) => config.target = ExportTarget::File(file.clone()),
        // OTLP goes where configured; the mirror is what the demo reads back.
        ExportTarget::Otlp { .. } | ExportTarget::Discard => {
            config.mirror_file = Some(file.clone())
        }
    }
    config.heartbeat_interval = Some(DEMO_HEARTBEAT);
    config.batch.scheduled_delay = Duration::from_millis(200);
    // The hung calls all start together at the end; 7% of 10,000 orders is 700 start records
    // and heartbeats at once, more than the default queue (2,048) holds.
    config.batch.max_queue_size = config.batch.max_queue_size.max(DEMO_QUEUE);
    Ok((config, file))
}

fn tracer(config: &PipelineConfig, service: &str) -> Result<OrderTracer, CliError> {
    let mut config = config.clone();
    config.service_name = service.to_string();
    Ok(OrderTracer::from_config(config)?)
}

fn destination(config: &PipelineConfig, file: &std::path::Path) -> String {
    match &config.target {
        ExportTarget::File(_) => format!("file {}", file.display()),
        ExportTarget::Discard => format!(
            "nowhere (OTEL_TRACES_EXPORTER=none), mirrored to {}",
            file.display()
        ),
        ExportTarget::Otlp { endpoint, protocol } => {
            format!(
                "OTLP {protocol:?} {endpoint} (mirrored to {})",
                file.display()
            )
        }
    }
}

/// Size of the span file, 0 when it cannot be read (progress only).
fn file_size(file: &std::path::Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The spans of each order, so building every order's timeline reads each span once (a
/// timeline built from the whole file per order made 100,000 orders quadratic).
fn spans_by_order(
    spans: Vec<otlp_json::RecordedSpan>,
) -> std::collections::HashMap<String, Vec<otlp_json::RecordedSpan>> {
    let mut by_order: std::collections::HashMap<String, Vec<otlp_json::RecordedSpan>> =
        std::collections::HashMap::new();
    for span in spans {
        if let Some(order_id) = span.attribute(ordertrace::schema::attr::ORDER_ID) {
            by_order.entry(order_id.to_string()).or_default().push(span);
        }
    }
    by_order
}

/// A tracer's counters in one line: exported, dropped by reason, failed, and the spool.
fn counters_line(t: &OrderTracer) -> String {
    let c = t.counters();
    let spool = match t.spool_folder() {
        None => "spool off".to_string(),
        Some(dir) => format!(
            "spool {}: {} spans spooled, {} replayed, {} waiting ({} bytes, oldest {} ms)",
            dir.display(),
            c.spans_spooled,
            c.spans_replayed,
            c.spool_spans,
            c.spool_bytes,
            c.spool_oldest_age_ms
        ),
    };
    format!(
        "{} spans started, {} exported, {} dropped (queue full {}, after shutdown {}, spool full {}, \
         expired {}, corrupt {}, spool write failed {}), {} lost in {} failed exports; {spool}{}",
        c.spans_started,
        c.spans_exported,
        c.spans_dropped,
        c.spans_dropped_queue_full,
        c.spans_dropped_shutdown,
        c.spans_dropped_spool_full,
        c.spans_dropped_spool_expired,
        c.spans_dropped_spool_corrupt,
        c.spans_dropped_spool_write_failed,
        c.spans_failed,
        c.failed_exports,
        t.last_export_error()
            .map_or(String::new(), |e| format!(" (last error: {e})"))
    )
}

/// Runs the demo and prints every order's timeline; returns how the orders ended up.
pub fn run(options: &DemoOptions) -> Result<DemoSummary, CliError> {
    if options.orders == 0 || options.orders > MAX_ORDERS {
        return Err(CliError::BadInput(format!(
            "--orders must be between 1 and {MAX_ORDERS}, got {}",
            options.orders
        )));
    }
    if options.max_file_bytes == 0 {
        return Err(CliError::BadInput(
            "--max-file-mb must be at least 1".to_string(),
        ));
    }
    let (config, file) = demo_config(options)?;
    // A fresh file per run, so the read-back shows this run only.
    std::fs::File::create(&file).map_err(|e| {
        CliError::Other(format!(
            "cannot create the span file {}: {e}",
            file.display()
        ))
    })?;
    let mut workshop = Workshop::new(
        tracer(&config, "shop-api")?,
        tracer(&config, "crm-api")?,
        tracer(&config, "mes-api")?,
        options.stage_time,
    );
    let orders = plan(options.orders, options.seed);
    eprintln!(
        "[demo] {} orders (seed {}) through shop-api -> RabbitMQ -> crm-api -> HTTP -> mes-api; spans to {}",
        orders.len(),
        options.seed,
        destination(&config, &file)
    );
    let started = std::time::Instant::now();
    let mut last_progress = started;
    let mut hanging = Vec::new();
    let mut submitted = orders.len();
    for (i, order) in orders.iter().enumerate() {
        workshop.submit(order)?;
        if let Some(request) = workshop.consume(order)? {
            // The MES calls that hang are made last, so their heartbeats run for --hang-time,
            // not for the rest of a long run (7% of 100,000 orders heartbeating every 250 ms
            // for half an hour wrote gigabytes).
            if order.fate == scenario::Fate::HangsInPricing {
                hanging.push((order, request));
            } else {
                workshop.produce(order, request)?;
            }
        }
        let progress_due = last_progress.elapsed() >= PROGRESS_EVERY;
        if progress_due || (i + 1) % CAP_CHECK_EVERY == 0 {
            let size = file_size(&file);
            if progress_due {
                last_progress = std::time::Instant::now();
                eprintln!(
                    "[demo] {}/{} orders after {}, span file {}",
                    i + 1,
                    orders.len(),
                    render::human_duration(started.elapsed()),
                    megabytes(size)
                );
            }
            if size > options.max_file_bytes {
                submitted = i + 1;
                eprintln!(
                    "[demo] stopping after {submitted} of {} orders: the span file is {}, over the cap of {} (--max-file-mb)",
                    orders.len(),
                    megabytes(size),
                    megabytes(options.max_file_bytes)
                );
                break;
            }
        }
    }
    let orders = &orders[..submitted];
    for (order, request) in hanging {
        workshop.produce(order, request)?;
    }
    if workshop.queue.len() > 0 {
        eprintln!(
            "[demo] {} message(s) left unconsumed in {}",
            workshop.queue.len(),
            services::ORDERS_QUEUE
        );
    }
    if workshop.hung() > 0 {
        eprintln!(
            "[demo] {} MES price call(s) hanging; waiting {} for their heartbeats (every {})",
            workshop.hung(),
            render::human_duration(options.hang_time),
            render::human_duration(DEMO_HEARTBEAT)
        );
        std::thread::sleep(options.hang_time);
    }
    // Shut the tracers down before reading back: that flushes them and stops the heartbeats of
    // the hung calls, which would otherwise go on (4 a second each) while a large run's file
    // is read and its timelines printed.
    workshop.abandon_hung_calls();
    for (name, t) in [
        ("shop-api", &workshop.shop),
        ("crm-api", &workshop.crm),
        ("mes-api", &workshop.mes),
    ] {
        t.shutdown(FLUSH_TIMEOUT)?;
        eprintln!("[demo] {name}: {}", counters_line(t));
    }
    let mut spans_by_order = spans_by_order(otlp_json::read_file(&file)?);
    let now = unix_nanos_now();
    let mut summary = DemoSummary::default();
    let mut as_json = Vec::new();
    for order in orders {
        let spans = spans_by_order.remove(&order.order_id).unwrap_or_default();
        let t = timeline::build(&order.order_id, &spans, now);
        match t.state {
            OrderState::Completed => summary.completed += 1,
            OrderState::Incomplete { .. } => summary.incomplete += 1,
            OrderState::Failed { .. } => summary.failed += 1,
            OrderState::InsideStage { .. } => summary.inside_stage += 1,
            OrderState::WaitingFor { .. } => summary.waiting += 1,
            OrderState::NotFound => summary.not_found += 1,
        }
        if options.json {
            as_json.push(render::json(&t, now));
        } else {
            println!("{}", render::text(&t, now));
        }
    }
    if options.json {
        println!("{}", serde_json::Value::Array(as_json));
    }
    eprintln!(
        "[demo] {} orders: {} completed, {} failed, {} inside a stage, {} waiting between stages{}",
        orders.len(),
        summary.completed,
        summary.failed,
        summary.inside_stage,
        summary.waiting,
        if summary.not_found > 0 {
            format!(", {} NOT FOUND", summary.not_found)
        } else {
            String::new()
        } + &if summary.incomplete > 0 {
            format!(", {} INCOMPLETE", summary.incomplete)
        } else {
            String::new()
        }
    );
    if let Some(stuck) = orders
        .iter()
        .find(|o| o.fate == scenario::Fate::HangsInPricing)
    {
        eprintln!(
            "[demo] look at one again: ordertrace timeline {} --file {}",
            stuck.order_id,
            file.display()
        );
    }
    if summary.not_found > 0 {
        return Err(CliError::Other(format!(
            "{} orders left no spans in {}",
            summary.not_found,
            file.display()
        )));
    }
    Ok(summary)
}
