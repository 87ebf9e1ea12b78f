//! The engine daxd embeds (`dynamo::EmbeddedBackend`: dynoxide on SQLite, file-backed,
//! each call run off the async workers as daxd runs it), called in-process: no HTTP, no
//! SigV4, no IAM, no JSON text (requests are `serde_json::Value`s, as daxd hands them on).

use std::path::Path;
use std::sync::Arc;

use dynamo::{Backend, EmbeddedBackend};

use crate::load::{BoxFut, Outcome, Worker};
use crate::workload::{Data, Op};

pub const ACCOUNT: &str = "123456789012";

pub fn open(dir: &Path) -> Result<EmbeddedBackend, String> {
    EmbeddedBackend::open(dir, ACCOUNT).map_err(|e| e.to_string())
}

/// Create the table and write items `0..keys` (BatchWriteItem, 25 a call).
pub async fn prepare(backend: &EmbeddedBackend, region: &str, data: &Data, keys: u64) -> Result<(), String> {
    match backend.call(region, "CreateTable", data.create_table()).await {
        Ok(_) => {}
        Err(e) if e.code == "ResourceInUseException" => {}
        Err(e) => return Err(format!("CreateTable: {e}")),
    }
    let keys = keys * data.per_partition();
    let mut i = 0;
    while i < keys {
        let to = (i + 25).min(keys);
        backend
            .call(region, "BatchWriteItem", data.batch_write(i, to))
            .await
            .map_err(|e| format!("BatchWriteItem: {e}"))?;
        i = to;
    }
    Ok(())
}

pub struct InprocWorker {
    backend: EmbeddedBackend,
    region: Arc<str>,
    data: Arc<Data>,
    op: Op,
}

impl InprocWorker {
    pub fn new(backend: EmbeddedBackend, region: Arc<str>, data: Arc<Data>, op: Op) -> Self {
        InprocWorker { backend, region, data, op }
    }
}

impl Worker for InprocWorker {
    fn exec(&mut self, key: u64) -> BoxFut<'_, (Outcome, Option<String>)> {
        Box::pin(async move {
            let input = self.data.value(self.op, key);
            match self.backend.call(&self.region, self.op.name(), input).await {
                Ok(out) => {
                    let has = match self.op {
                        Op::Get => out.get("Item").is_some(),
                        Op::Query => out.get("Count").and_then(serde_json::Value::as_u64).unwrap_or(0) > 0,
                        Op::BatchGet => out
                            .get("UnprocessedKeys")
                            .and_then(serde_json::Value::as_object)
                            .is_none_or(serde_json::Map::is_empty),
                        Op::Put => true,
                    };
                    (if has { Outcome::Ok } else { Outcome::Empty }, None)
                }
                Err(e) => (Outcome::Error, Some(e.to_string())),
            }
        })
    }
}
