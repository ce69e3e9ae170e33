//! Shared helpers of the `make bench` programs.
