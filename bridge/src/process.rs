//! What the two binaries (`vmm-bridge`, `vmm-mirror`) do the same way around their work: logs on
//! stderr, the tokio runtime, and the signals that stop them.

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Logs to stderr, filtered by `filter` (already checked by the configuration), as text or JSON
/// lines.
pub fn init_logs(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// A multi-threaded tokio runtime, or why there is none (logged).
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            tracing::error!(%error, "cannot start the tokio runtime");
            None
        }
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM, so the process finishes what it has
/// (`finishing` says what, in the log); exits at once on the second. Call it inside the runtime.
pub fn watch_signals(shutdown: CancellationToken, finishing: &'static str) -> std::io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutting down: {finishing}; a second signal exits at once");
        shutdown.cancel();
        let (name, number) = tokio::select! {
            _ = interrupt.recv() => ("SIGINT", 2),
            _ = terminate.recv() => ("SIGTERM", 15),
        };
        tracing::warn!(signal = name, "second signal: exiting now");
        // The shell's convention for a process ended by a signal.
        std::process::exit(128 + number);
    });
    Ok(())
}
