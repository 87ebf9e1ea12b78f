//! sigv4's integration tests, one binary: behaviour of `parse` and `verify`, AWS's own SigV4
//! test suite, no panics on random requests, and the `aws-sigv4` crate as an oracle.

mod common;

mod auth;
mod aws_suite;
mod no_panic;
mod oracle;
