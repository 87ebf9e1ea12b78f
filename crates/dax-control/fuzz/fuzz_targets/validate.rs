//! The DAX control plane's checks of caller-chosen strings: ARNs (`IamRoleArn` of
//! CreateCluster, the `ResourceName` of TagResource/UntagResource/ListTags), cluster,
//! subnet group and parameter group names, node types and maintenance windows.
//!
//! Invariants: an ARN's parts join back to the ARN; accepted names and windows come
//! back in a stored form that is itself accepted unchanged.
#![no_main]

use dax_control::validate::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    match arn_parts(s) {
        Ok(parts) => {
            assert_eq!(parts.len(), 6);
            assert_eq!(parts.join(":"), s);
            assert_eq!(parts[0], "arn");
        }
        Err(msg) => assert!(msg.ends_with(s)),
    }
    if let Ok(n) = cluster_name(s) {
        assert_eq!(cluster_name(&n).ok(), Some(n.clone()));
        assert!(n.eq_ignore_ascii_case(s));
    }
    if let Ok(n) = subnet_group_name(s) {
        assert_eq!(subnet_group_name(&n).ok(), Some(n));
    }
    let _ = parameter_group_name(s);
    let _ = node_type(s);
    if let Ok(w) = maintenance_window(s) {
        assert_eq!(maintenance_window(&w).ok(), Some(w));
    }
    let seed = data.iter().fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let w = default_window(s, seed);
    assert_eq!(maintenance_window(&w).ok(), Some(w), "the default window is a valid window");
    let _ = maintenance_block_start(s);
});
