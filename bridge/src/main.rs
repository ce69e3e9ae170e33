//! The `vmm-bridge` binary: reads the configuration, sets up logging and signals, and runs the
//! bridge until SIGINT or SIGTERM. See `docs/BRIDGE.md`.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use vmm_bridge::config::{Config, ConfigError};
use vmm_bridge::process;

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
    process::init_logs(&config.log, config.log_format);
    match vmm_bridge::raise_fd_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit; keeping it"),
    }
    let Some(runtime) = process::runtime() else { return ExitCode::FAILURE };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        // Nothing is lost on a second signal: the outbox publishes what was recorded but not
        // acknowledged when the bridge starts again.
        if let Err(error) = process::watch_signals(shutdown.clone(), "finishing the messages in flight") {
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
