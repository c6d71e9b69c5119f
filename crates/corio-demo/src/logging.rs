//! Structured logs with `tracing`: to stderr (stdout is for the start-up lines people and
//! scripts read), as text or JSON lines, filtered by `RUST_LOG` (`info` unless set).
//!
//! Each request is one line from corio-web's access log (target `corio_web::access`:
//! method, path, status, duration, request id); the demo adds its own events (notes
//! created and deleted, sweeps, start and shutdown).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info";

/// Installs the global subscriber. A second call (or another subscriber already
/// installed, as in tests) is left alone.
pub fn init(format: LogFormat) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => {
            EnvFilter::try_new(&directives).unwrap_or_else(|error| {
                eprintln!("corio-demo: ignoring RUST_LOG={directives:?}: {error}");
                EnvFilter::new(DEFAULT_FILTER)
            })
        }
        _ => EnvFilter::new(DEFAULT_FILTER),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal, not for a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        // Fields at the top level of each object, beside `timestamp`, `level`, `target`.
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // Already installed: keep that one.
    drop(installed);
}
