//! Test harness for ws-proto.
