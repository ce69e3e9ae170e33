//! The bridge's one clock, passed to whatever needs the time (the core never reads one).

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The time now.
    fn now_ms(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}
