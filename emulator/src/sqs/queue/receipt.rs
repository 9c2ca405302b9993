//! Receipt handles: opaque to clients, they name the queue instance, the message and which
//! receive of it they came from (the receive count at that receive).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

const PREFIX: &str = "AQEB";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// Not a receipt handle of this queue (`ReceiptHandleIsInvalid`).
    Invalid,
    /// A handle of this queue whose message was deleted (or expired).
    Gone,
    /// The new timeout would hide the message more than 12 hours after its receive.
    BeyondVisibilityLimit,
}

pub fn encode(nonce: u64, seq: u64, receive_count: u32) -> String {
    let raw = format!("{nonce:016x}:{seq:x}:{receive_count:x}");
    format!("{PREFIX}{}", B64.encode(raw))
}

/// The `(seq, receive_count)` a handle names, if it is one of this queue's handles.
pub fn decode(handle: &str, nonce: u64) -> Result<(u64, u32), HandleError> {
    let parse = || -> Option<(u64, u64, u32)> {
        let bytes = B64.decode(handle.strip_prefix(PREFIX)?).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let mut parts = text.split(':');
        let n = u64::from_str_radix(parts.next()?, 16).ok()?;
        let seq = u64::from_str_radix(parts.next()?, 16).ok()?;
        let count = u32::from_str_radix(parts.next()?, 16).ok()?;
        parts.next().is_none().then_some((n, seq, count))
    };
    match parse() {
        Some((n, seq, count)) if n == nonce => Ok((seq, count)),
        _ => Err(HandleError::Invalid),
    }
}
