//! dynamo's integration tests, one binary: the embedded backend, resource-based policies in front
//! of it, and the remote backend against a fake DynamoDB.

mod common;

mod embedded;
mod policies;
mod remote;
