//! `ordertrace`: the demo, the schema, and "where is this order stuck?".
//!
//! Exit codes: 0 success (for `timeline`: the order was found, whatever its state), 1 other
//! failure, 2 bad input, 3 order not found, 4 Jaeger unreachable or unreadable, 5 (`watch
//! --once`) orders need attention or the source is stale.

mod cli_error;
mod demo;
mod jaeger;
mod render;
mod timeline_cmd;
mod watch_cmd;

use clap::{Parser, Subcommand};
use cli_error::CliError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ordertrace",
    version,
    about = "Order tracing for the workshop: one trace per order, from submission to shipment."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a batch of orders across shop-api, crm-api and mes-api and show where each is.
    ///
    /// Exports to the embedded OTLP/JSON file unless OTEL_EXPORTER_OTLP_ENDPOINT is set (then
    /// OTLP, mirrored to the file). Some MES price calculations fail, a few orders get stuck.
    Demo {
        /// Orders to submit.
        #[arg(long, default_value_t = 20)]
        orders: usize,
        /// Seed: the same seed replays the same orders and fates.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Span file (default: $ORDERTRACE_FILE, else ordertrace-demo.jsonl); truncated first.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Simulated work per stage, e.g. 2ms.
        #[arg(long, default_value = "2ms", value_parser = humantime::parse_duration)]
        stage_time: Duration,
        /// How long hung MES calls hang before the report, e.g. 1200ms.
        #[arg(long, default_value = "1200ms", value_parser = humantime::parse_duration)]
        hang_time: Duration,
        /// Print the timelines as a JSON array.
        #[arg(long)]
        json: bool,
        /// Stop submitting orders once the span file is larger than this many MiB.
        #[arg(long, default_value_t = demo::DEFAULT_MAX_FILE_MB)]
        max_file_mb: u64,
    },
    /// Where is this order? Its stages, errors, and where it is stuck.
    ///
    /// Reads the order's trace from Jaeger (--jaeger) or from a span file (--file, default
    /// $ORDERTRACE_FILE or ordertrace-spans.jsonl).
    Timeline {
        /// The order id, e.g. ORD-0007.
        order_id: String,
        /// Jaeger query URL, e.g. http://127.0.0.1:16686.
        #[arg(long, conflicts_with = "file")]
        jaeger: Option<String>,
        /// OTLP/JSON span file written by the embedded exporter.
        #[arg(long)]
        file: Option<PathBuf>,
        /// How far back to search when the order's own trace is not in Jaeger, e.g. 24h.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        lookback: Duration,
        /// Timeout of each request to Jaeger, e.g. 10s.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Watch every order: stuck, stalled, lost, failed, incomplete, CRM/MES status mismatch.
    ///
    /// Serves the order board (/), one page per order (/orders/ID), the JSON API
    /// (/api/orders, /api/orders/ID), Prometheus /metrics and /healthz on --listen; POST
    /// /api/reload or SIGHUP re-reads --config. With --once: one evaluation printed, exit 0
    /// when nothing needs attention, 5 when something does (or the source is stale).
    Watch {
        /// Jaeger query URL, e.g. http://127.0.0.1:16686.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        jaeger: Option<String>,
        /// OTLP/JSON-lines span file written by the embedded exporter (followed as it grows).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Thresholds, windows and the CRM-status mapping (TOML); defaults when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address of the HTTP server (loopback).
        #[arg(long, default_value = "127.0.0.1:9470")]
        listen: String,
        /// Prefix of every route and link, e.g. /board behind a gateway.
        #[arg(long, default_value = "")]
        base_path: String,
        /// Where trace links point (<url>/trace/<trace id>), e.g. /jaeger behind the gateway;
        /// default: the --jaeger URL.
        #[arg(long)]
        jaeger_ui_url: Option<String>,
        /// Keep only share k of n of the orders (trace id modulo n; the default identity
        /// derives the trace id from a hash of the order id), e.g. 0/3, to split the orders
        /// between several watches. Other shares' traces are skipped before parsing.
        #[arg(long)]
        shard: Option<String>,
        /// Evaluate once, print the report and exit (no server).
        #[arg(long)]
        once: bool,
        /// With --once: print JSON.
        #[arg(long, requires = "once")]
        json: bool,
    },
    /// Print the canonical order-event schema as JSON.
    Schema,
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Demo {
            orders,
            seed,
            file,
            stage_time,
            hang_time,
            json,
            max_file_mb,
        } => demo::run(&demo::DemoOptions {
            orders,
            seed,
            file,
            stage_time,
            hang_time,
            json,
            max_file_bytes: max_file_mb.saturating_mul(1024 * 1024),
        })
        .map(|_| ()),
        Command::Timeline {
            order_id,
            jaeger,
            file,
            lookback,
            timeout,
            json,
        } => {
            let source = match jaeger {
                Some(url) => timeline_cmd::Source::Jaeger {
                    url,
                    lookback,
                    timeout,
                },
                None => timeline_cmd::Source::File(file),
            };
            let output = timeline_cmd::run(&order_id, &source, json)?;
            print!("{output}");
            Ok(())
        }
        Command::Watch {
            jaeger,
            file,
            config,
            listen,
            base_path,
            jaeger_ui_url,
            shard,
            once,
            json,
        } => {
            let shard = match shard {
                None => None,
                Some(text) => Some(ordertrace_watch::tracker::Shard::parse(&text).ok_or_else(
                    || {
                        CliError::BadInput(format!(
                            "--shard {text:?} must be k/n with 0 <= k < n, e.g. 0/3"
                        ))
                    },
                )?),
            };
            let source = match (jaeger, file) {
                (Some(url), _) => ordertrace_watch::SourceSpec::Jaeger(url),
                (None, Some(path)) => ordertrace_watch::SourceSpec::File(path),
                (None, None) => {
                    return Err(CliError::BadInput(
                        "watch needs --jaeger URL or --file PATH".into(),
                    ));
                }
            };
            let options = ordertrace_watch::WatchOptions {
                source,
                config_path: config,
                listen,
                base_path,
                jaeger_ui_url,
                shard,
            };
            if once {
                let (report, attention) = watch_cmd::once(options, json)?;
                print!("{report}");
                if attention {
                    return Err(CliError::NeedsAttention);
                }
                Ok(())
            } else {
                watch_cmd::serve(options)
            }
        }
        Command::Schema => {
            println!("{}", ordertrace::schema_json());
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::NeedsAttention) => ExitCode::from(CliError::NeedsAttention.exit_code()),
        Err(e) => {
            eprintln!("ordertrace: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
