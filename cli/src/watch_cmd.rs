//! `ordertrace watch`: the long-running service, or one evaluation with `--once`.

use crate::cli_error::CliError;
use ordertrace_watch::{WatchOptions, api, jaeger_source::now_ms, service};

/// Runs the watch until stopped.
pub fn serve(options: WatchOptions) -> Result<(), CliError> {
    service::run(options)?;
    Ok(())
}

/// One evaluation: the report, and whether anything needs attention (or the source is stale).
pub fn once(options: WatchOptions, json: bool) -> Result<(String, bool), CliError> {
    let shared = service::once(options)?;
    let now = now_ms();
    let doc = api::once_json(&shared, now);
    let attention =
        doc["needs_attention"].as_u64().unwrap_or(0) > 0 || doc["stale"].as_bool().unwrap_or(true);
    let report = if json {
        format!("{doc}\n")
    } else {
        api::once_text(&shared, now)
    };
    Ok((report, attention))
}
