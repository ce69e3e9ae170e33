//! The open-file limit: the scaling scenario holds a thousand MQTT connections in this process,
//! and the private Mosquitto it starts (which inherits the limit) as many, past the soft limit
//! of 1,024 many systems set. Raised to the hard limit at start, as the bridge does.

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit; returns the limit now in force.
pub fn raise() -> std::io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given, which lives on this stack frame.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit = raised;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on 64-bit Linux, not everywhere
    Ok(limit.rlim_cur as u64)
}
