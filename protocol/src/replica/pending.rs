//! A replica's own change, from creation to confirmation or rollback.

use crate::message::{Change, Policy};

#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) rid: String,
    pub(crate) change: Change,
    pub(crate) policy: Policy,
    /// The version the change is based on: known at creation for the first pending change of
    /// an object, else set from the predecessor's event when that is confirmed.
    pub(crate) base: Option<u64>,
    /// Set while the request is in flight.
    pub(crate) flight: Option<Flight>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Flight {
    /// When to publish the same request again.
    pub(crate) resend_at: u64,
    /// The current resend back-off.
    pub(crate) backoff: u64,
}
