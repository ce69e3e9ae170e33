//! The `vmm-bridge` binary: reads the configuration, sets up logging and signals, and runs the
//! bridge until SIGINT or SIGTERM. See `docs/BRIDGE.md`.

use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;
use vmm_bridge::config::{Config, ConfigError, LogFormat};

fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        // clap prints help and version to stdout and exits 0, and its usage errors to stderr with 2.
        Err(ConfigError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("vmm-bridge: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(&config);
    match vmm_bridge::raise_fd_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit; keeping it"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the tokio runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        if let Err(error) = watch_signals(shutdown.clone()) {
            tracing::error!(%error, "cannot install the signal handlers");
            return ExitCode::FAILURE;
        }
        match vmm_bridge::run(config, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error = %error, details = ?error, "the bridge stopped on an error");
                ExitCode::FAILURE
            }
        }
    })
}

/// Logs to stderr, filtered by `config.log`, as text or JSON lines.
fn init_logs(config: &Config) {
    // `Config::load` has already checked that the filter parses.
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM, so the bridge stops taking messages and
/// finishes what it has; exits at once on the second (nothing is lost: the outbox publishes what
/// was recorded but not acknowledged when the bridge starts again).
fn watch_signals(shutdown: CancellationToken) -> std::io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutting down: finishing the messages in flight; a second signal exits at once");
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
