//! Verify, sign and parse UIP webhook deliveries (filled in by its issue).
#![forbid(unsafe_code)]
