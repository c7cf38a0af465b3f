//! Blocking std adapter for ws-proto (in progress).
