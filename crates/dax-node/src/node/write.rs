//! The writes of a node: PutItem, UpdateItem, DeleteItem, BatchWriteItem and
//! TransactWriteItems, run on the cluster's primary. Each is one DynamoDB call through the
//! [`crate::Host`]; what it wrote is then cached (or dropped) on every node of the cluster.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dax_wire::{
    encode_batch_write_response, encode_item_response, encode_key, encode_transact_write_response, item_to_json,
    Attributes, BatchWrite, BatchWriteItemRequest, BatchWriteResponse, CancellationReason, DeleteItemRequest,
    ExpressionWriter, Item, ItemResponse, KeySchema, PutItemRequest, ReturnValues, ReturnValuesOnConditionCheckFailure,
    TransactOperation, TransactWriteItemsRequest, TransactWriteResponse, UpdateAction, UpdateItemRequest,
};
use serde_json::{json, Map, Value};

use super::{finish_exprs, rcc_json, ricm_json, str_v, Fail, Node, Res};
use crate::convert::{self, put_opt};
use crate::host::{ClusterInfo, NodeError};

impl Node {
    fn write_response(&self, out: &Value, attributes: Option<Attributes>) -> Vec<u8> {
        encode_item_response(&ItemResponse {
            item: None,
            attributes,
            consumed_capacity: out.get("ConsumedCapacity").and_then(convert::consumed_capacity),
            item_collection_metrics: out.get("ItemCollectionMetrics").and_then(convert::item_collection_metrics),
        })
    }

    fn old_image(&self, out: &Value, schema: &KeySchema) -> Res<Option<Attributes>> {
        match out.get("Attributes") {
            Some(a) => Ok(Some(Attributes::Item(self.value_bytes(&convert::item(a)?, schema)?))),
            None => Ok(None),
        }
    }

    pub(super) async fn put_item(&self, info: &ClusterInfo, p: PutItemRequest) -> Res<Vec<u8>> {
        let schema = self.schema(info, &p.table_name, "PutItem").await?;
        let key = self.key(&p.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        let item = self.item_of(key, &p.value)?;
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&p.table_name));
        input.insert("Item".into(), item_to_json(&item));
        let mut w = ExpressionWriter::new();
        if let Some(c) = &p.condition {
            input.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
        }
        finish_exprs(&mut input, &w);
        if p.return_values != ReturnValues::None {
            input.insert("ReturnValues".into(), str_v(p.return_values.as_str()));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(p.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(p.return_item_collection_metrics));
        let out =
            self.ddb_write(info, "PutItem", Value::Object(input), [(p.table_name.as_str(), kb.as_slice())]).await?;
        self.remember_item(&p.table_name, &kb, Some(&item), &schema, self.write_stamp());
        let attrs = self.old_image(&out, &schema)?;
        Ok(self.write_response(&out, attrs))
    }

    pub(super) async fn delete_item(&self, info: &ClusterInfo, d: DeleteItemRequest) -> Res<Vec<u8>> {
        let schema = self.schema(info, &d.table_name, "DeleteItem").await?;
        let key = self.key(&d.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&d.table_name));
        input.insert("Key".into(), item_to_json(&key));
        let mut w = ExpressionWriter::new();
        if let Some(c) = &d.condition {
            input.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
        }
        finish_exprs(&mut input, &w);
        if d.return_values != ReturnValues::None {
            input.insert("ReturnValues".into(), str_v(d.return_values.as_str()));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(d.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(d.return_item_collection_metrics));
        let out =
            self.ddb_write(info, "DeleteItem", Value::Object(input), [(d.table_name.as_str(), kb.as_slice())]).await?;
        self.remember(&d.table_name, &kb, None, self.write_stamp());
        let attrs = self.old_image(&out, &schema)?;
        Ok(self.write_response(&out, attrs))
    }

    pub(super) async fn update_item(&self, info: &ClusterInfo, u: UpdateItemRequest) -> Res<Vec<u8>> {
        let schema = self.schema(info, &u.table_name, "UpdateItem").await?;
        let key = self.key(&u.key, &schema)?;
        let kb = encode_key(&key, &schema)?;
        let asked = u.return_values;
        // To cache the new image, ask DynamoDB for all of it whenever the answer can be
        // cut down from it; the client gets exactly what it asked for.
        let sent = match asked {
            ReturnValues::None | ReturnValues::AllNew | ReturnValues::UpdatedNew => ReturnValues::AllNew,
            other => other,
        };
        let mut input = Map::new();
        input.insert("TableName".into(), str_v(&u.table_name));
        input.insert("Key".into(), item_to_json(&key));
        let mut w = ExpressionWriter::new();
        if let Some(x) = &u.update {
            input.insert("UpdateExpression".into(), Value::String(w.update(x, "u")));
        }
        if let Some(c) = &u.condition {
            input.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
        }
        finish_exprs(&mut input, &w);
        input.insert("ReturnValues".into(), str_v(sent.as_str()));
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(u.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(u.return_item_collection_metrics));
        let out =
            self.ddb_write(info, "UpdateItem", Value::Object(input), [(u.table_name.as_str(), kb.as_slice())]).await?;
        let returned = out.get("Attributes").map(convert::item).transpose()?;
        let attrs = if sent == ReturnValues::AllNew {
            let new = returned.unwrap_or_else(|| key.clone());
            let answer = match asked {
                ReturnValues::AllNew => Some(Attributes::Item(self.value_bytes(&new, &schema)?)),
                ReturnValues::UpdatedNew => {
                    let paths: Vec<_> = u
                        .update
                        .iter()
                        .flat_map(|x| x.actions.iter())
                        .map(|a| match a {
                            UpdateAction::Set(p, _) | UpdateAction::Add(p, _) | UpdateAction::Delete(p, _) => p.clone(),
                            UpdateAction::Remove(p) => p.clone(),
                        })
                        .collect();
                    let part = convert::updated_part(&new, &paths);
                    (!part.is_empty()).then(|| self.updated_bytes(&part)).transpose()?.map(Attributes::Updated)
                }
                _ => None,
            };
            self.remember_item(&u.table_name, &kb, Some(&new), &schema, self.write_stamp());
            answer
        } else {
            // ALL_OLD / UPDATED_OLD: the new image is not known here; the next read fetches it.
            self.forget(&u.table_name, &kb);
            match (asked, returned) {
                (ReturnValues::AllOld, Some(old)) => Some(Attributes::Item(self.value_bytes(&old, &schema)?)),
                (ReturnValues::UpdatedOld, Some(old)) if !old.is_empty() => {
                    Some(Attributes::Updated(self.updated_bytes(&old)?))
                }
                _ => None,
            }
        };
        Ok(self.write_response(&out, attrs))
    }

    pub(super) async fn batch_write(&self, info: &ClusterInfo, b: BatchWriteItemRequest) -> Res<Vec<u8>> {
        struct W {
            table: String,
            kb: Vec<u8>,
            item: Option<Item>,
            schema: Arc<KeySchema>,
        }
        let mut request = Map::new();
        let mut writes = Vec::new();
        let mut schemas: HashMap<String, Arc<KeySchema>> = HashMap::new();
        for t in b.tables {
            let schema = self.schema(info, &t.table_name, "BatchWriteItem").await?;
            let mut list = Vec::with_capacity(t.writes.len());
            for wr in t.writes {
                match wr {
                    BatchWrite::Put { key, value } => {
                        let k = self.key(&key, &schema)?;
                        let kb = encode_key(&k, &schema)?;
                        let item = self.item_of(k, &value)?;
                        list.push(json!({ "PutRequest": { "Item": item_to_json(&item) } }));
                        writes.push(W {
                            table: t.table_name.clone(),
                            kb,
                            item: Some(item),
                            schema: Arc::clone(&schema),
                        });
                    }
                    BatchWrite::Delete { key } => {
                        let k = self.key(&key, &schema)?;
                        let kb = encode_key(&k, &schema)?;
                        list.push(json!({ "DeleteRequest": { "Key": item_to_json(&k) } }));
                        writes.push(W { table: t.table_name.clone(), kb, item: None, schema: Arc::clone(&schema) });
                    }
                }
            }
            request.insert(t.table_name.clone(), Value::Array(list));
            schemas.insert(t.table_name, schema);
        }
        let mut input = Map::new();
        input.insert("RequestItems".into(), Value::Object(request));
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(b.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(b.return_item_collection_metrics));
        let out = self
            .ddb_write(
                info,
                "BatchWriteItem",
                Value::Object(input),
                writes.iter().map(|w| (w.table.as_str(), w.kb.as_slice())),
            )
            .await?;
        // Only the writes DynamoDB did (not those handed back unprocessed) touch the cache.
        let mut skipped: HashSet<(String, Vec<u8>)> = HashSet::new();
        let mut unprocessed = Vec::new();
        for (table, list) in out.get("UnprocessedItems").and_then(Value::as_object).into_iter().flatten() {
            let Some(schema) = schemas.get(table) else { continue };
            let mut back = Vec::new();
            for w in list.as_array().into_iter().flatten() {
                if let Some(item) = w.pointer("/PutRequest/Item") {
                    let item = convert::item(item)?;
                    let kb = encode_key(&item, schema)?;
                    back.push((kb.clone(), Some(self.value_bytes(&item, schema)?)));
                    skipped.insert((table.clone(), kb));
                } else if let Some(key) = w.pointer("/DeleteRequest/Key") {
                    let kb = encode_key(&convert::item(key)?, schema)?;
                    back.push((kb.clone(), None));
                    skipped.insert((table.clone(), kb));
                }
            }
            if !back.is_empty() {
                unprocessed.push((table.clone(), back));
            }
        }
        let stamp = self.write_stamp();
        for w in writes {
            if skipped.contains(&(w.table.clone(), w.kb.clone())) {
                continue;
            }
            self.remember_item(&w.table, &w.kb, w.item.as_ref(), &w.schema, stamp);
        }
        Ok(encode_batch_write_response(&BatchWriteResponse {
            unprocessed_items: unprocessed,
            consumed_capacity: convert::consumed_capacities(out.get("ConsumedCapacity")),
            item_collection_metrics: convert::item_collection_map(out.get("ItemCollectionMetrics")),
        }))
    }

    pub(super) async fn transact_write(
        self: &Arc<Self>,
        info: &ClusterInfo,
        t: TransactWriteItemsRequest,
    ) -> Res<Vec<u8>> {
        let mut items = Vec::with_capacity(t.items.len());
        let mut written: Vec<Written> = Vec::new();
        let mut schemas = Vec::with_capacity(t.items.len());
        for i in &t.items {
            let schema = self.schema(info, &i.table_name, "TransactWriteItems").await?;
            let key = self.key(&i.key, &schema)?;
            let kb = encode_key(&key, &schema)?;
            let mut body = Map::new();
            body.insert("TableName".into(), str_v(&i.table_name));
            let mut w = ExpressionWriter::new();
            match i.operation {
                TransactOperation::Put => {
                    let value = i
                        .value
                        .as_deref()
                        .ok_or_else(|| NodeError::validation("A Put in TransactItems needs an item"))?;
                    body.insert("Item".into(), item_to_json(&self.item_of(key.clone(), value)?));
                }
                _ => {
                    body.insert("Key".into(), item_to_json(&key));
                }
            }
            if let Some(u) = &i.update {
                body.insert("UpdateExpression".into(), Value::String(w.update(u, "u")));
            }
            if let Some(c) = &i.condition {
                body.insert("ConditionExpression".into(), Value::String(w.condition(c, "c")));
            }
            finish_exprs(&mut body, &w);
            if i.return_values_on_condition_check_failure == ReturnValuesOnConditionCheckFailure::AllOld {
                body.insert("ReturnValuesOnConditionCheckFailure".into(), str_v("ALL_OLD"));
            }
            items.push(json!({ i.operation.as_str(): Value::Object(body) }));
            if i.operation != TransactOperation::ConditionCheck {
                written.push((i.table_name.clone(), kb, key, Arc::clone(&schema)));
            }
            schemas.push(schema);
        }
        let mut input = Map::new();
        input.insert("TransactItems".into(), Value::Array(items));
        if let Some(tok) = &t.client_request_token {
            input.insert("ClientRequestToken".into(), str_v(tok));
        }
        put_opt(&mut input, "ReturnConsumedCapacity", rcc_json(t.return_consumed_capacity));
        put_opt(&mut input, "ReturnItemCollectionMetrics", ricm_json(t.return_item_collection_metrics));
        let touched = written.iter().map(|(table, kb, _, _)| (table.as_str(), kb.as_slice()));
        let out = match self.ddb_write(info, "TransactWriteItems", Value::Object(input), touched).await {
            Ok(out) => out,
            Err(e) => {
                let reasons = self.cancellation_reasons(&e, &schemas);
                return Err(Fail { err: NodeError { extra: None, ..e }, reasons });
            }
        };
        // What the transaction wrote is not in the answer: drop the entries now, and read
        // the items back in the background (TransactGetItems) to refresh the item cache.
        for (table, kb, _, _) in &written {
            self.forget(table, kb);
        }
        let node = Arc::clone(self);
        let info = info.clone();
        tokio::spawn(async move { node.refresh(&info, written).await });
        Ok(encode_transact_write_response(&TransactWriteResponse {
            consumed_capacity: convert::extended_capacities(out.get("ConsumedCapacity")),
            item_collection_metrics: convert::item_collection_map(out.get("ItemCollectionMetrics")),
        }))
    }

    fn cancellation_reasons(&self, e: &NodeError, schemas: &[Arc<KeySchema>]) -> Option<Vec<CancellationReason>> {
        let list = e.extra.as_ref()?.get("CancellationReasons")?.as_array()?;
        Some(
            list.iter()
                .enumerate()
                .map(|(i, r)| CancellationReason {
                    code: r.get("Code").and_then(Value::as_str).map(str::to_owned),
                    message: r.get("Message").and_then(Value::as_str).map(str::to_owned),
                    item: r
                        .get("Item")
                        .and_then(|v| convert::item(v).ok())
                        .and_then(|item| schemas.get(i).and_then(|s| self.value_bytes(&item, s).ok())),
                })
                .collect(),
        )
    }

    /// Background refresh after TransactWriteItems: read the written items back with a
    /// TransactGetItems (serializable), in chunks of 100, and cache what it returns.
    async fn refresh(&self, info: &ClusterInfo, written: Vec<Written>) {
        for chunk in written.chunks(100) {
            let stamp = self.stamp();
            let gets: Vec<Value> =
                chunk.iter().map(|(t, _, k, _)| json!({ "Get": { "TableName": t, "Key": item_to_json(k) } })).collect();
            match self.ddb(info, "TransactGetItems", json!({ "TransactItems": gets })).await {
                Ok(out) => {
                    let responses = out.get("Responses").and_then(Value::as_array).cloned().unwrap_or_default();
                    for (i, (table, kb, _, schema)) in chunk.iter().enumerate() {
                        let item = responses.get(i).and_then(|r| r.get("Item")).and_then(|v| convert::item(v).ok());
                        self.remember_item(table, kb, item.as_ref(), schema, stamp);
                    }
                }
                Err(e) => tracing::debug!(node = %self.id, error = %e, "refreshing items after TransactWriteItems"),
            }
        }
    }
}

/// An item a transaction wrote: table, key bytes, key, the table's key schema.
type Written = (String, Vec<u8>, Item, Arc<KeySchema>);
