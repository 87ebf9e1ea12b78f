//! DynamoDB resource ARNs (tables, indexes, streams) and table ARNs given where a
//! `TableName` goes.
//!
//! Invariants: a parsed ARN is rebuilt from its parts exactly; its table ARN parses
//! to the same table; `table_name_from` gives the table of a table ARN and leaves
//! anything else alone.
#![no_main]

use dynamo::{table_name_from, ResourceArn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let name = table_name_from(s);
    match ResourceArn::parse(s) {
        Some(arn) => {
            let mut rebuilt = arn.table_arn();
            if let Some(i) = arn.index {
                rebuilt.push_str(&format!("/index/{i}"));
            }
            if let Some(l) = arn.stream {
                rebuilt.push_str(&format!("/stream/{l}"));
            }
            assert_eq!(rebuilt, s);
            assert!(arn.index.is_none() || arn.stream.is_none());
            let table_arn = arn.table_arn();
            let t = ResourceArn::parse(&table_arn).expect("a table ARN parses");
            assert_eq!((t.partition, t.region, t.account, t.table), (arn.partition, arn.region, arn.account, arn.table));
            assert_eq!((t.index, t.stream), (None, None));
            assert_eq!(table_name_from(&table_arn), arn.table);
            assert!(!arn.table.contains('/'));
            if arn.index.is_none() && arn.stream.is_none() {
                assert_eq!(name, arn.table);
            } else {
                assert_eq!(name, s);
            }
        }
        None => assert_eq!(name, s),
    }
});
