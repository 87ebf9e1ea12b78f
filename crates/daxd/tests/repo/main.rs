//! Tests that read the repository itself rather than run daxd: every input member of
//! every served operation is read or refused (`input_members`), and the rules of
//! ARCHITECTURE.md that a reader would otherwise have to trust (`tidy`). One binary, so
//! that daxd keeps a single integration-test build.

mod input_members;
mod tidy;
