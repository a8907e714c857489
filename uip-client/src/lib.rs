//! Typed async client for the UIP API (filled in by its issue).
#![forbid(unsafe_code)]
