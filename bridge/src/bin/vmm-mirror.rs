//! The `vmm-mirror` binary: reads the configuration, sets up logging and signals, and keeps the
//! chosen collections of a target MongoDB equal to the bridge's until SIGINT or SIGTERM. See
//! `docs/MIRROR.md`.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use vmm_bridge::config::mirror::MirrorConfig;
use vmm_bridge::config::ConfigError;
use vmm_bridge::process;

fn main() -> ExitCode {
    let config = match MirrorConfig::load() {
        Ok(config) => config,
        Err(ConfigError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("vmm-mirror: {e}");
            return ExitCode::from(2);
        }
    };
    process::init_logs(&config.log, config.log_format);
    let Some(runtime) = process::runtime() else { return ExitCode::FAILURE };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        // Nothing is lost on a second signal either: the target keeps versions, and the next
        // start fetches what was not written.
        if let Err(error) = process::watch_signals(shutdown.clone(), "writing what is queued") {
            tracing::error!(%error, "cannot install the signal handlers");
            return ExitCode::FAILURE;
        }
        match vmm_bridge::mirror::run(config, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "the mirror stopped on an error");
                ExitCode::FAILURE
            }
        }
    })
}
