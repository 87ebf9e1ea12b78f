//! policy's integration tests, one binary: the evaluation table, missing context keys, the
//! grammar's accepted and refused documents, and properties of evaluation and matching.

mod common;

mod evaluation;
mod missing_keys;
mod parse_errors;
mod properties;
