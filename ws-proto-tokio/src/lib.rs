//! Tokio adapter for ws-proto (in progress).
