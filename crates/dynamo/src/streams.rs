//! DynamoDB Streams on the embedded engine: `ListStreams`, `DescribeStream`,
//! `GetShardIterator` and `GetRecords`.
//!
//! dynoxide records a table's changes once `StreamSpecification` enables
//! its stream (`CreateTable`, `UpdateTable`), under the table's
//! `StreamViewType`, and answers the four calls. What DynamoDB Streams does
//! beyond that is added here, on the injected [`base::Clock`]:
//!
//! * **Iterators expire** 15 minutes after they are handed out
//!   (`ExpiredIteratorException`). dynoxide's iterators carry no time, so
//!   daxd hands out its own, in AWS's shape `<stream ARN>|1|<payload>`: the
//!   payload is the position in the shard, the time of issue and a check
//!   value. The stream is read from the ARN (the one the caller was
//!   authorized for), never from the payload.
//! * **24-hour retention.** dynoxide keeps every record. Its stored sequence
//!   numbers are at least the microseconds since the epoch at which the record
//!   was written (`sequence_number_floor`), so a record is trimmed here when
//!   its sequence number is at most `now − 24 h` in microseconds: iterators
//!   start after that trim point, and asking for a trimmed record, or reading
//!   with an iterator that has fallen behind it, is a
//!   `TrimmedDataAccessException`. The records stay in the database file.
//! * **Shards as DynamoDB names them**: dynoxide's one shard per table is
//!   `shardId-00000001-<table>`, shorter than the 28 characters the model
//!   requires (SDKs refuse it); daxd names it
//!   `shardId-<20 digits of the stream label>-<8 hex digits>`, and leaves out
//!   the `EndingSequenceNumber` dynoxide reports, which only a closed shard
//!   has (readers stop at it).
//! * `AT_TIMESTAMP` iterators, `DescribeStream`'s `KeySchema`,
//!   `ExclusiveStartShardId` and `ShardFilter` (the one shard never splits:
//!   it has no children), and stream ARNs checked against the region, account
//!   and current stream label.

use dynoxide::Database;
use serde_json::{json, Map, Value};

use crate::engine::{self, Scope};
use crate::DynamoError;

/// The operations of DynamoDB Streams.
pub const OPERATIONS: &[&str] = &["ListStreams", "DescribeStream", "GetShardIterator", "GetRecords"];

/// How long a shard iterator can be used after it is handed out.
pub const ITERATOR_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// How long stream records are kept.
pub const RETENTION_SECS: i64 = 24 * 3600;

/// dynoxide's public sequence numbers are this plus the stored one.
const SEQUENCE_NUMBER_OFFSET: u128 = 100_000_000_000_000_000_000;

/// Run one Streams operation at `now` (the injected clock's time).
/// Synchronous: call it off the async worker threads.
pub(crate) fn run(
    db: &Database,
    scope: Scope<'_>,
    now: time::OffsetDateTime,
    op: &str,
    input: Value,
) -> Result<Value, DynamoError> {
    if !input.is_object() {
        return Err(DynamoError::new(
            "SerializationException",
            400,
            "Start of structure or map found where not expected",
        ));
    }
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let s = Streams { db, scope, now_ms };
    match op {
        "ListStreams" => engine::run(db, scope, op, input),
        "DescribeStream" => s.describe_stream(&input),
        "GetShardIterator" => s.get_shard_iterator(&input),
        "GetRecords" => s.get_records(&input),
        other => Err(DynamoError::unknown_operation(other)),
    }
}

struct Streams<'a> {
    db: &'a Database,
    scope: Scope<'a>,
    now_ms: i64,
}

/// A stream ARN of this region and account, taken apart.
struct StreamArn<'a> {
    arn: &'a str,
    table: &'a str,
    label: &'a str,
}

fn not_found(arn: &str) -> DynamoError {
    DynamoError::resource_not_found(format!("Requested resource not found: Stream: {arn} not found"))
}

fn invalid_iterator() -> DynamoError {
    DynamoError::validation("Invalid ShardIterator")
}

fn trimmed() -> DynamoError {
    DynamoError::new(
        "TrimmedDataAccessException",
        400,
        "The operation attempted to read past the oldest stream record in a shard: records older than 24 hours have been trimmed",
    )
}

fn str_of<'v>(input: &'v Value, member: &str) -> Option<&'v str> {
    input.get(member).and_then(Value::as_str)
}

/// The stored form of a public sequence number.
fn stored(public: &str) -> Option<i64> {
    let value: u128 = public.parse().ok()?;
    i64::try_from(value.checked_sub(SEQUENCE_NUMBER_OFFSET)?).ok()
}

/// 32-bit FNV-1a, for the shard id's suffix and the iterator's check value.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// The public id of the one shard of the stream `table`/`label`.
pub(crate) fn shard_id(table: &str, label: &str) -> String {
    let digits: String = label.chars().filter(char::is_ascii_digit).take(20).collect();
    format!("shardId-{digits:0>20}-{:08x}", fnv1a(table.as_bytes()))
}

/// A shard iterator as daxd hands it out.
pub fn encode_iterator(arn: &str, position: i64, issued_ms: i64) -> String {
    let body = format!("{position:x}.{issued_ms:x}");
    let check = fnv1a(format!("{arn}|{body}").as_bytes());
    format!("{arn}|1|{body}.{check:08x}")
}

/// The stream ARN, position and time of issue of an iterator daxd handed out.
pub fn decode_iterator(iterator: &str) -> Option<(&str, i64, i64)> {
    let mut parts = iterator.splitn(3, '|');
    let (arn, version, payload) = (parts.next()?, parts.next()?, parts.next()?);
    if version != "1" {
        return None;
    }
    let (body, check) = payload.rsplit_once('.')?;
    if u32::from_str_radix(check, 16).ok()? != fnv1a(format!("{arn}|{body}").as_bytes()) || check.len() != 8 {
        return None;
    }
    let (position, issued) = body.split_once('.')?;
    Some((arn, i64::from_str_radix(position, 16).ok()?, i64::from_str_radix(issued, 16).ok()?))
}

/// The stream ARN named in a shard iterator, if it has one: the resource a
/// `GetRecords` call is authorized on. AWS's iterators (and daxd's) start with it.
#[must_use]
pub fn iterator_stream_arn(iterator: &str) -> Option<&str> {
    let start = iterator.find("arn:")?;
    let arn = iterator[start..].split('|').next()?;
    arn.contains("/stream/").then_some(arn)
}

impl<'a> Streams<'a> {
    /// The last stored sequence number that is trimmed at `now`.
    fn horizon(&self) -> i64 {
        (self.now_ms / 1000 - RETENTION_SECS).saturating_mul(1_000_000)
    }

    fn parse_arn<'v>(&self, arn: &'v str) -> Option<StreamArn<'v>> {
        let prefix = format!("arn:aws:dynamodb:{}:{}:table/", self.scope.region, self.scope.account);
        let rest = arn.strip_prefix(&prefix)?;
        let (table, label) = rest.split_once("/stream/")?;
        (!table.is_empty() && !label.is_empty() && !table.contains('/')).then_some(StreamArn { arn, table, label })
    }

    /// The engine's description of an existing stream, checked against the
    /// label of the ARN (a stream of an earlier `StreamSpecification` is gone).
    fn engine_describe(&self, stream: &StreamArn<'_>) -> Result<Value, DynamoError> {
        let out = engine::run(self.db, self.scope, "DescribeStream", json!({"StreamArn": stream.arn}))
            .map_err(|e| if e.code == "ResourceNotFoundException" { not_found(stream.arn) } else { e })?;
        let label = out.pointer("/StreamDescription/StreamLabel").and_then(Value::as_str);
        if label != Some(stream.label) {
            return Err(not_found(stream.arn));
        }
        Ok(out)
    }

    /// Up to `limit` records of the shard after the stored `position`, and
    /// the position after the last one.
    fn read(&self, table: &str, position: i64, limit: Option<&Value>) -> Result<(Vec<Value>, i64), DynamoError> {
        let engine_shard = dynoxide::streams::shard_id(table);
        let iterator = dynoxide::actions::get_shard_iterator::encode_shard_iterator(table, &engine_shard, position);
        let mut input = json!({ "ShardIterator": iterator });
        if let Some(limit) = limit {
            input["Limit"] = limit.clone();
        }
        let mut out = engine::run(self.db, self.scope, "GetRecords", input)?;
        let next = out
            .get("NextShardIterator")
            .and_then(Value::as_str)
            .and_then(dynoxide::actions::get_shard_iterator::decode_shard_iterator)
            .map_or(position, |(_, _, p)| p);
        let records = match out.get_mut("Records").map(Value::take) {
            Some(Value::Array(r)) => r,
            _ => Vec::new(),
        };
        Ok((records, next))
    }

    fn record_seq(record: &Value) -> Option<i64> {
        record.pointer("/dynamodb/SequenceNumber").and_then(Value::as_str).and_then(stored)
    }

    fn describe_stream(&self, input: &Value) -> Result<Value, DynamoError> {
        let arn = str_of(input, "StreamArn").unwrap_or_default();
        let stream = self.parse_arn(arn).ok_or_else(|| not_found(arn))?;
        let mut out = self.engine_describe(&stream)?;
        let shard = shard_id(stream.table, stream.label);
        let (first, _) = self.read(stream.table, self.horizon(), Some(&json!(1)))?;
        let mut range = Map::new();
        if let Some(seq) = first.first().and_then(|r| r.pointer("/dynamodb/SequenceNumber")) {
            range.insert("StartingSequenceNumber".into(), seq.clone());
        }
        // `Limit` (at least 1) always has room for the one shard.
        let after_ours = str_of(input, "ExclusiveStartShardId").is_some_and(|s| s == shard);
        // The one shard never splits: no shard has child shards.
        let children_only =
            input.get("ShardFilter").and_then(|f| f.get("Type")).and_then(Value::as_str) == Some("CHILD_SHARDS");
        let shards = if after_ours || children_only {
            json!([])
        } else {
            json!([{ "ShardId": shard, "SequenceNumberRange": range }])
        };
        let key_schema = engine::run(self.db, self.scope, "DescribeTable", json!({"TableName": stream.table}))
            .ok()
            .and_then(|t| t.pointer("/Table/KeySchema").cloned());
        let d = &mut out["StreamDescription"];
        d["Shards"] = shards;
        if let Some(k) = key_schema {
            d["KeySchema"] = k;
        }
        Ok(out)
    }

    fn get_shard_iterator(&self, input: &Value) -> Result<Value, DynamoError> {
        let arn = str_of(input, "StreamArn").unwrap_or_default();
        let stream = self.parse_arn(arn).ok_or_else(|| not_found(arn))?;
        self.engine_describe(&stream)?;
        let shard = str_of(input, "ShardId").unwrap_or_default();
        if shard != shard_id(stream.table, stream.label) {
            return Err(DynamoError::resource_not_found(format!(
                "Requested resource not found: Shard does not exist: {shard} in stream {arn}"
            )));
        }
        let kind = str_of(input, "ShardIteratorType").unwrap_or_default();
        let has_timestamp = input.get("Timestamp").is_some_and(|t| !t.is_null());
        let horizon = self.horizon();
        let position = if kind == "AT_TIMESTAMP" {
            if input.get("SequenceNumber").is_some_and(|t| !t.is_null()) {
                return Err(DynamoError::validation(
                    "One or more parameter values were invalid: SequenceNumber should not be passed for this iterator type",
                ));
            }
            let at = input.get("Timestamp").and_then(Value::as_f64).ok_or_else(|| {
                DynamoError::validation(
                    "One or more parameter values were invalid: Timestamp cannot be null for AT_TIMESTAMP",
                )
            })?;
            #[allow(clippy::cast_possible_truncation)]
            let micros = (at * 1_000_000.0) as i64;
            micros.saturating_sub(1).max(horizon)
        } else {
            if has_timestamp {
                return Err(DynamoError::validation(
                    "One or more parameter values were invalid: Timestamp should only be passed for AT_TIMESTAMP",
                ));
            }
            let mut request = input.clone();
            if let Some(obj) = request.as_object_mut() {
                obj.remove("Timestamp");
                obj.insert("ShardId".into(), json!(dynoxide::streams::shard_id(stream.table)));
            }
            let out = engine::run(self.db, self.scope, "GetShardIterator", request)?;
            let position = out
                .get("ShardIterator")
                .and_then(Value::as_str)
                .and_then(dynoxide::actions::get_shard_iterator::decode_shard_iterator)
                .map(|(_, _, p)| p)
                .ok_or_else(|| DynamoError::internal("the engine answered GetShardIterator without an iterator"))?;
            match kind {
                "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER" if position < horizon => return Err(trimmed()),
                _ => position.max(horizon),
            }
        };
        Ok(json!({ "ShardIterator": encode_iterator(arn, position, self.now_ms) }))
    }

    fn get_records(&self, input: &Value) -> Result<Value, DynamoError> {
        let iterator = str_of(input, "ShardIterator").unwrap_or_default();
        let (arn, position, issued_ms) = decode_iterator(iterator).ok_or_else(invalid_iterator)?;
        let stream = self.parse_arn(arn).ok_or_else(invalid_iterator)?;
        if self.now_ms.saturating_sub(issued_ms) > ITERATOR_LIFETIME_MS {
            return Err(DynamoError::new(
                "ExpiredIteratorException",
                400,
                format!(
                    "Iterator expired: it was handed out at {issued_ms} ms since the epoch, more than {} minutes before now ({} ms)",
                    ITERATOR_LIFETIME_MS / 60_000,
                    self.now_ms
                ),
            ));
        }
        self.engine_describe(&stream)?;
        let horizon = self.horizon();
        let (records, next) = self.read(stream.table, position, input.get("Limit"))?;
        if position < horizon && records.first().and_then(Self::record_seq).is_some_and(|seq| seq <= horizon) {
            // Records this iterator had yet to read have been trimmed since.
            return Err(trimmed());
        }
        Ok(json!({ "Records": records, "NextShardIterator": encode_iterator(arn, next, self.now_ms) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterators_round_trip_and_refuse_edits() {
        let arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/T/stream/1700000000.000000001";
        let it = encode_iterator(arn, 1_700_000_000_000_123, 1_700_000_000_000);
        assert!(it.starts_with(&format!("{arn}|1|")));
        assert_eq!(decode_iterator(&it), Some((arn, 1_700_000_000_000_123, 1_700_000_000_000)));
        assert_eq!(iterator_stream_arn(&it), Some(arn));
        let other = it.replace("table/T/", "table/U/");
        assert_eq!(decode_iterator(&other), None, "the check value covers the ARN");
        for bad in ["", "x", "a|1|b", "a|2|1.2.00000000", &it[..it.len() - 1]] {
            assert_eq!(decode_iterator(bad), None, "{bad}");
        }
        assert_eq!(iterator_stream_arn("garbage"), None);
    }

    #[test]
    fn shard_ids_fit_the_model() {
        let id = shard_id("T", "1700000000.123456789");
        assert_eq!(id.len(), 37);
        assert!(id.starts_with("shardId-01700000000123456789-"), "{id}");
        assert_ne!(shard_id("T", "1.2"), shard_id("U", "1.2"));
        assert_eq!(stored("100000000000000000005"), Some(5));
        assert_eq!(stored("5"), None);
    }
}
