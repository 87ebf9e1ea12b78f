//! Extraction of authentication parameters from the `Authorization` header or
//! a presigned URL's query string.

use crate::date::{format_iso_basic, parse_http_date, parse_iso_basic};
use crate::encoding::query_pairs;
use crate::{AuthError, Parsed, Request, ALGORITHM, MAX_PRESIGN_EXPIRES_SECS};

/// Returns the values of every header called `name` (ASCII case-insensitive),
/// in request order.
pub(crate) fn header_values<'r>(req: &Request<'r>, name: &'r str) -> impl Iterator<Item = &'r [u8]> + 'r {
    let headers: &'r [(&'r str, &'r [u8])] = req.headers;
    headers.iter().filter(move |(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| *v)
}

fn first_header<'r>(req: &Request<'r>, name: &'r str) -> Option<&'r [u8]> {
    header_values(req, name).next()
}

/// Parses the SigV4 authentication parameters of a request.
///
/// The `Authorization` header is used if present (and not blank); otherwise a
/// query string carrying `X-Amz-Algorithm` is treated as a presigned URL;
/// otherwise the request is unauthenticated ([`AuthError::Missing`]).
///
/// `parse` validates structure only: the credential scope's date must match the
/// request timestamp, but the region and service are returned for the caller
/// to check, and time windows are checked by [`crate::verify`].
pub fn parse(req: &Request) -> Result<Parsed, AuthError> {
    let authorization = first_header(req, "authorization").filter(|v| !v.iter().all(|b| b.is_ascii_whitespace()));
    let presigned = query_pairs(req.query).any(|(k, _)| k == b"X-Amz-Algorithm");
    match (authorization, presigned) {
        (Some(_), true) => Err(AuthError::Incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified"
                .to_owned(),
        )),
        (Some(value), false) => parse_header(req, value),
        (None, true) => parse_presigned(req),
        (None, false) => Err(AuthError::Missing),
    }
}

/// The pieces of a `Credential` value.
struct Scope {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

fn parse_credential(credential: &str) -> Result<Scope, AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, \
             e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(AuthError::Incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )));
    }
    if region.is_empty() {
        return Err(AuthError::Incomplete("Credential should be scoped to a valid region. ".to_owned()));
    }
    if service.is_empty() {
        return Err(AuthError::Incomplete("Credential should be scoped to correct service. ".to_owned()));
    }
    Ok(Scope {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

fn bad_date_format(value: &str) -> AuthError {
    AuthError::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// Checks the scope date against the request timestamp's `YYYYMMDD`.
fn check_scope_date(scope_date: &str, iso_date: &str) -> Result<(), AuthError> {
    let day = iso_date.get(..8).unwrap_or(iso_date);
    if scope_date == day {
        Ok(())
    } else {
        Err(AuthError::Incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '{scope_date}' != '{day}', from '{iso_date}'."
        )))
    }
}

fn parse_signed_headers(list: &str) -> Vec<String> {
    list.split(';').filter(|h| !h.is_empty()).map(str::to_ascii_lowercase).collect()
}

fn require_host(signed_headers: &[String]) -> Result<(), AuthError> {
    if signed_headers.iter().any(|h| h == "host") {
        Ok(())
    } else {
        Err(AuthError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ))
    }
}

fn header_auth_string(req: &Request, name: &'static str) -> Result<Option<String>, AuthError> {
    match first_header(req, name) {
        None => Ok(None),
        Some(raw) => std::str::from_utf8(raw)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|_| AuthError::Incomplete(format!("The {name} header is not valid UTF-8."))),
    }
}

fn parse_header(req: &Request, raw: &[u8]) -> Result<Parsed, AuthError> {
    let Ok(value) = std::str::from_utf8(raw) else {
        return Err(AuthError::Incomplete(format!(
            "Authorization header is not valid UTF-8. Authorization={}",
            String::from_utf8_lossy(raw).trim()
        )));
    };
    let value = value.trim();
    let (algorithm, rest) = value.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm(algorithm.to_owned()));
    }

    // AWS tokenises on commas and whitespace alike.
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for token in rest.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|t| !t.is_empty()) {
        let Some((key, val)) = token.split_once('=') else {
            return Err(AuthError::Incomplete(format!(
                "'{token}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        slot.get_or_insert(val);
    }

    // X-Amz-Date wins over Date.
    let date_value = match header_auth_string(req, "x-amz-date")? {
        Some(v) => Some((v, true)),
        None => header_auth_string(req, "date")?.map(|v| (v, false)),
    };

    let mut problems = Vec::new();
    if credential.is_none() {
        problems.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        problems.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        problems.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if date_value.is_none() {
        problems.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some((amz_date, from_amz_header))) =
        (credential, signed_headers, signature, date_value)
    else {
        return Err(AuthError::Incomplete(format!("{} Authorization={value}", problems.join(" "))));
    };

    let scope = parse_credential(credential)?;
    let signed_headers = parse_signed_headers(signed_headers);
    require_host(&signed_headers)?;

    // Both headers may carry ISO-8601 basic format; `Date` may also be an
    // HTTP date.
    let request_time = parse_iso_basic(&amz_date)
        .or_else(|| if from_amz_header { None } else { parse_http_date(&amz_date) })
        .ok_or_else(|| bad_date_format(&amz_date))?;
    let iso_date = format_iso_basic(request_time);
    check_scope_date(&scope.date, &iso_date)?;

    let security_token = header_auth_string(req, "x-amz-security-token")?;

    Ok(Parsed {
        normalize_path: scope.service != "s3",
        access_key_id: scope.access_key_id,
        date: scope.date,
        region: scope.region,
        service: scope.service,
        amz_date,
        signed_headers,
        signature: signature.to_owned(),
        security_token,
        presigned: false,
        expires: None,
        request_time,
        iso_date,
    })
}

fn parse_presigned(req: &Request) -> Result<Parsed, AuthError> {
    let mut algorithm = None;
    let mut credential = None;
    let mut amz_date = None;
    let mut signed_headers = None;
    let mut signature = None;
    let mut expires = None;
    let mut security_token = None;
    for (key, value) in query_pairs(req.query) {
        let slot = match key.as_slice() {
            b"X-Amz-Algorithm" => &mut algorithm,
            b"X-Amz-Credential" => &mut credential,
            b"X-Amz-Date" => &mut amz_date,
            b"X-Amz-SignedHeaders" => &mut signed_headers,
            b"X-Amz-Signature" => &mut signature,
            b"X-Amz-Expires" => &mut expires,
            b"X-Amz-Security-Token" => &mut security_token,
            _ => continue,
        };
        if slot.is_none() {
            let name = String::from_utf8_lossy(&key).into_owned();
            let value = String::from_utf8(value).map_err(|_| {
                AuthError::Incomplete(format!(
                    "AWS query-string parameter '{name}' is not valid UTF-8. \
                     Re-examine the query-string parameters."
                ))
            })?;
            *slot = Some(value);
        }
    }

    let algorithm = algorithm.unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm(algorithm));
    }
    let mut problems = String::new();
    for (name, present) in [
        ("X-Amz-Credential", credential.is_some()),
        ("X-Amz-Signature", signature.is_some()),
        ("X-Amz-SignedHeaders", signed_headers.is_some()),
        ("X-Amz-Date", amz_date.is_some()),
    ] {
        if !present {
            problems.push_str(&format!("AWS query-string parameters must include '{name}'. "));
        }
    }
    let (Some(credential), Some(signature), Some(signed_headers), Some(amz_date)) =
        (credential, signature, signed_headers, amz_date)
    else {
        problems.push_str("Re-examine the query-string parameters.");
        return Err(AuthError::Incomplete(problems));
    };

    let scope = parse_credential(&credential)?;
    let signed_headers = parse_signed_headers(&signed_headers);
    require_host(&signed_headers)?;
    let request_time = parse_iso_basic(&amz_date).ok_or_else(|| bad_date_format(&amz_date))?;
    let iso_date = format_iso_basic(request_time);
    check_scope_date(&scope.date, &iso_date)?;

    let expires = match expires {
        None => None,
        Some(raw) => {
            let secs: u64 =
                raw.parse().map_err(|_| AuthError::Incomplete("X-Amz-Expires should be a number".to_owned()))?;
            if secs > MAX_PRESIGN_EXPIRES_SECS {
                return Err(AuthError::Incomplete(
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800".to_owned(),
                ));
            }
            Some(secs)
        }
    };
    let security_token = match security_token {
        Some(token) => Some(token),
        None => header_auth_string(req, "x-amz-security-token")?,
    };

    Ok(Parsed {
        normalize_path: scope.service != "s3",
        access_key_id: scope.access_key_id,
        date: scope.date,
        region: scope.region,
        service: scope.service,
        amz_date,
        signed_headers,
        signature,
        security_token,
        presigned: true,
        expires,
        request_time,
        iso_date,
    })
}
