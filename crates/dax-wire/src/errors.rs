//! Error frames (§7): the code sequences clients map to DynamoDB exceptions.

use crate::cbor::Writer;

/// One transaction item's cancellation reason (a triple in the error detail).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CancellationReason {
    /// DynamoDB's code (`"ConditionalCheckFailed"`, `"None"`, …).
    pub code: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Value bytes of the old item (ReturnValuesOnConditionCheckFailure ALL_OLD).
    pub item: Option<Vec<u8>>,
}

/// Optional parts of an error frame's detail array.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorExtra<'a> {
    /// detail[1]: the DynamoDB exception name (clients use it for `Error.Code`).
    pub error_code: Option<&'a str>,
    /// detail[3]: TransactionCanceledException reasons, one per request item.
    pub cancellation_reasons: Option<&'a [CancellationReason]>,
}

/// An error frame: `[codes…] message [requestId, errorCode, httpStatus(, reasons)]`.
pub fn encode_error(
    codes: &[u32],
    message: &str,
    request_id: Option<&str>,
    http_status: Option<u16>,
    extra: &ErrorExtra<'_>,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(codes.len() as u64);
    for c in codes {
        w.u64(u64::from(*c));
    }
    w.str(message);
    w.array(if extra.cancellation_reasons.is_some() { 4 } else { 3 });
    match request_id {
        Some(r) => w.str(r),
        None => w.null(),
    };
    match extra.error_code {
        Some(c) => w.str(c),
        None => w.null(),
    };
    match http_status {
        Some(s) => w.u64(u64::from(s)),
        None => w.null(),
    };
    if let Some(reasons) = extra.cancellation_reasons {
        w.array(reasons.len() as u64 * 3);
        for r in reasons {
            match &r.code {
                Some(c) => w.str(c),
                None => w.null(),
            };
            match &r.message {
                Some(m) => w.str(m),
                None => w.null(),
            };
            match &r.item {
                Some(i) => w.bytes(i),
                None => w.null(),
            };
        }
    }
    w.into_bytes()
}

/// How one DynamoDB exception is sent to DAX clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionCodes {
    /// DynamoDB/DAX exception name (sent as detail[1]).
    pub name: &'static str,
    /// The code sequence clients map to that exception.
    pub codes: &'static [u32],
    /// The HTTP status to send as detail[2].
    pub http_status: u16,
}

/// Exception name → codes, per the protocol notes §7.2 with the choices of §7.4 where a
/// name has several sequences.
pub const EXCEPTIONS: &[ExceptionCodes] = &[
    ExceptionCodes { name: "ResourceNotFoundException", codes: &[4, 37, 38, 39, 41], http_status: 400 },
    ExceptionCodes { name: "ResourceInUseException", codes: &[4, 37, 38, 39, 45], http_status: 400 },
    ExceptionCodes { name: "ProvisionedThroughputExceededException", codes: &[4, 37, 38, 39, 40], http_status: 400 },
    ExceptionCodes { name: "ConditionalCheckFailedException", codes: &[4, 37, 38, 39, 43], http_status: 400 },
    ExceptionCodes { name: "ValidationException", codes: &[4, 37, 38, 39, 46], http_status: 400 },
    ExceptionCodes { name: "InternalServerError", codes: &[1, 37, 38, 39, 47], http_status: 500 },
    ExceptionCodes { name: "ItemCollectionSizeLimitExceededException", codes: &[4, 37, 38, 39, 48], http_status: 400 },
    ExceptionCodes { name: "LimitExceededException", codes: &[4, 37, 38, 39, 49], http_status: 400 },
    ExceptionCodes { name: "ThrottlingException", codes: &[4, 37, 38, 39, 50], http_status: 400 },
    ExceptionCodes { name: "TransactionConflictException", codes: &[4, 37, 38, 39, 57], http_status: 400 },
    ExceptionCodes { name: "TransactionCanceledException", codes: &[4, 37, 38, 39, 58], http_status: 400 },
    ExceptionCodes { name: "TransactionInProgressException", codes: &[4, 37, 38, 39, 59], http_status: 400 },
    ExceptionCodes { name: "IdempotentParameterMismatchException", codes: &[4, 37, 38, 39, 60], http_status: 400 },
    ExceptionCodes { name: "RequestLimitExceeded", codes: &[4, 37, 38, 39, 61], http_status: 400 },
    ExceptionCodes { name: "AccessDeniedException", codes: &[4, 37, 38, 42], http_status: 400 },
    ExceptionCodes { name: "NotImplementedException", codes: &[4, 37, 38, 44], http_status: 400 },
    ExceptionCodes { name: "AuthenticationRequiredException", codes: &[4, 23, 31, 33], http_status: 400 },
    ExceptionCodes { name: "UnrecognizedClientException", codes: &[4, 23, 31, 33], http_status: 400 },
    ExceptionCodes { name: "InternalServerErrorException", codes: &[3, 37, 54], http_status: 500 },
];

/// Codes for names not in [`EXCEPTIONS`]: a client-error class sequence no client maps,
/// so the Python and JavaScript clients fall back to detail[1] for the exception name.
/// It must end on a code the clients do not know: the Python client walks its nested map
/// code by code, and a sequence that stops on an inner node (`[4, 37, 38, 39]`) made the
/// code a dict, which crashed its retry logic with `TypeError: unhashable type: 'dict'`.
pub const UNMAPPED_CODES: &[u32] = &[4, 37, 38, 39, 0];

/// The table entry for an exception name.
pub fn exception_codes(name: &str) -> Option<&'static ExceptionCodes> {
    EXCEPTIONS.iter().find(|e| e.name == name)
}

/// The exception a code sequence stands for, as the Python/JavaScript clients read it
/// (first match in [`EXCEPTIONS`], plus the alternative sequences `[4, 23, 24]`,
/// `[4, 23, 35]` and `[4, 37, 38, 39, 47]` of §7.2).
pub fn exception_for_codes(codes: &[u32]) -> Option<&'static str> {
    if codes == [4, 23, 24] {
        return Some("ResourceNotFoundException");
    }
    if codes == [4, 23, 35] {
        return Some("ResourceInUseException");
    }
    if codes == [4, 37, 38, 39, 47] {
        return Some("InternalServerError");
    }
    EXCEPTIONS.iter().find(|e| e.codes == codes).map(|e| e.name)
}

/// The error frame for a DynamoDB exception: codes and status from [`EXCEPTIONS`],
/// the name as detail[1], and cancellation reasons when given.
pub fn encode_exception(
    name: &str,
    message: &str,
    request_id: Option<&str>,
    cancellation_reasons: Option<&[CancellationReason]>,
) -> Vec<u8> {
    let (codes, status) = match exception_codes(name) {
        Some(e) => (e.codes, e.http_status),
        None => (UNMAPPED_CODES, 400),
    };
    encode_error(codes, message, request_id, Some(status), &ErrorExtra { error_code: Some(name), cancellation_reasons })
}
