//! Checks of names, ARNs and other strings the caller chooses.

use crate::DaxError;

/// AWS's message for a bad cluster name.
pub const INVALID_CLUSTER_ID: &str = "Cluster ID specified is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.";

fn invalid(msg: impl Into<String>) -> DaxError {
    DaxError::InvalidParameterValueException(msg.into())
}

/// A cluster name: 1–20 ASCII letters, digits and hyphens, a letter first,
/// no trailing or double hyphen. Returns the stored (lower-cased) form.
///
/// # Errors
/// `InvalidParameterValueException` with AWS's text.
pub fn cluster_name(name: &str) -> Result<String, DaxError> {
    let ok = (1..=20).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(invalid(INVALID_CLUSTER_ID))
    }
}

/// The colon-separated parts of an ARN (at most six; the last one keeps
/// its colons), or AWS's message for the first missing delimiter.
///
/// # Errors
/// The message, for the caller to wrap in the right error code.
pub fn arn_parts(arn: &str) -> Result<Vec<&str>, String> {
    if !arn.starts_with("arn:") {
        return Err(format!("ARNs must start with 'arn:': {arn}"));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.len() {
        0..=2 => Err(format!("Second colon partition not found: {arn}")),
        3 => Err(format!("Third colon vendor not found: {arn}")),
        4 => Err(format!("Fourth colon (region/namespace delimiter) not found: {arn}")),
        5 => Err(format!("Fifth colon (namespace/relative-id delimiter) not found: {arn}")),
        _ => Ok(parts),
    }
}

/// A `NodeType`: `dax.<family>.<size>`. The model leaves it a free string
/// and AWS's list changes, so only the shape is checked.
///
/// # Errors
/// `InvalidParameterValueException`.
pub fn node_type(node_type: &str) -> Result<(), DaxError> {
    let parts: Vec<&str> = node_type.split('.').collect();
    let ok = parts.len() == 3
        && parts.first() == Some(&"dax")
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("Invalid node type: {node_type}")))
    }
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Minutes since Sunday 00:00 of `ddd:hh24:mi`.
fn week_minute(s: &str) -> Option<u32> {
    let mut it = s.split(':');
    let (day, hh, mi) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || hh.len() != 2 || mi.len() != 2 {
        return None;
    }
    let day = u32::try_from(DAYS.iter().position(|d| *d == day)?).ok()?;
    let hh: u32 = hh.parse().ok().filter(|h| *h < 24)?;
    let mi: u32 = mi.parse().ok().filter(|m| *m < 60)?;
    Some(day * 1440 + hh * 60 + mi)
}

/// A `PreferredMaintenanceWindow`, `ddd:hh24:mi-ddd:hh24:mi` (UTC). Returns
/// the stored (lower-cased) form.
///
/// # Errors
/// `InvalidParameterValueException`.
pub fn maintenance_window(window: &str) -> Result<String, DaxError> {
    let lower = window.to_ascii_lowercase();
    let ok =
        lower.split_once('-').and_then(|(a, b)| Some((week_minute(a)?, week_minute(b)?))).is_some_and(|(a, b)| a != b);
    if ok {
        Ok(lower)
    } else {
        Err(invalid(format!(
            "Invalid maintenance window: {window}. The format is ddd:hh24:mi-ddd:hh24:mi (UTC), for example sun:05:00-sun:06:00."
        )))
    }
}

/// Format minutes since Sunday 00:00 as `ddd:hh:mi`.
pub fn format_week_minute(minute: u32) -> String {
    let m = minute % (7 * 1440);
    let day = DAYS.get((m / 1440) as usize).copied().unwrap_or("sun");
    format!("{day}:{:02}:{:02}", (m % 1440) / 60, m % 60)
}

/// UTC hour at which the region's 8-hour maintenance block starts. AWS keeps
/// one block per region; these follow the RDS/ElastiCache table and are
/// **unverified** for DAX. Other regions use 05:00.
pub fn maintenance_block_start(region: &str) -> u32 {
    match region {
        "us-east-1" | "us-east-2" => 3,
        "us-west-1" | "us-west-2" => 6,
        "eu-west-1" | "eu-west-2" | "eu-west-3" => 22,
        "eu-central-1" | "eu-north-1" => 23,
        "ap-northeast-1" | "ap-northeast-2" => 13,
        "ap-southeast-1" => 14,
        "ap-southeast-2" => 12,
        "ap-south-1" => 16,
        "sa-east-1" => 0,
        _ => 5,
    }
}

/// A 60-minute window inside the region's block, picked by `seed`: the day
/// and the half-hour start within the block.
pub fn default_window(region: &str, seed: u32) -> String {
    let day = seed % 7;
    let half_hours = (seed / 7) % 15; // start within the first 7 hours of the block
    let start = day * 1440 + maintenance_block_start(region) * 60 + half_hours * 30;
    format!("{}-{}", format_week_minute(start), format_week_minute(start + 60))
}

/// A subnet group name: stored lower-cased; 1–255 ASCII letters, digits and
/// hyphens (the ElastiCache rule; DAX's is **unverified**).
///
/// # Errors
/// `InvalidParameterValueException`.
pub fn subnet_group_name(name: &str) -> Result<String, DaxError> {
    let ok = (1..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(invalid(format!(
            "Invalid subnet group name: {name}. Names must be 1 to 255 ASCII letters, digits or hyphens."
        )))
    }
}

/// A parameter group name: 1–255 characters, none of them control characters.
///
/// # Errors
/// `InvalidParameterValueException`.
pub fn parameter_group_name(name: &str) -> Result<(), DaxError> {
    if (1..=255).contains(&name.len()) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(invalid(format!("Invalid parameter group name: {name}.")))
    }
}
