//! dax-wire's integration tests, one binary: frames captured from the official Python client,
//! the protocol description's byte sequences, round-trip properties and robustness against hostile input.

mod captured;
mod golden;
mod props;
mod robustness;
