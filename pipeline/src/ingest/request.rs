//! Reading a `PUT /{stage}/stream` request: the API key check and the body's rules
//! (`stream`, `payload`, and the event id from `id` or `Idempotency-Key`).

use axum::http::HeaderMap;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::error::IngestError;

/// Longest event id: Kinesis's partition key limit, as the id is the default partition key.
pub const MAX_ID_CHARS: usize = 256;

/// `true` when `x-api-key` is one of `keys`. Every key is compared, each in constant time,
/// so the answer's timing does not reveal how much of a key matched.
pub fn api_key_valid(headers: &HeaderMap, keys: &[String]) -> bool {
    let Some(given) = headers.get("x-api-key") else {
        return false;
    };
    let given = given.as_bytes();
    keys.iter().fold(false, |ok, key| {
        ok | bool::from(key.as_bytes().ct_eq(given))
    })
}

/// The parts of a valid body.
#[derive(Debug, PartialEq)]
pub struct IngestRequest {
    /// `stream`: which configured stream the event goes to.
    pub stream: String,
    /// `id`, when the client gives one (else one is made at ingest).
    pub id: Option<String>,
    /// `payload`: the event itself, any JSON value.
    pub payload: Value,
}

/// Parses the body and the id rules. Every failure is a 400 naming the problem.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<IngestRequest, IngestError> {
    let bad = |m: String| IngestError::BadRequest(m);
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("Invalid request body: not valid JSON ({e})")))?;
    let Value::Object(mut object) = value else {
        return Err(bad("Invalid request body: expected a JSON object".into()));
    };
    let stream = match object.remove("stream") {
        None | Some(Value::Null) => return Err(bad("Missing required field `stream`".into())),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(bad("Field `stream` must not be empty".into()));
        }
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad("Field `stream` must be a string".into())),
    };
    let payload = match object.remove("payload") {
        None | Some(Value::Null) => return Err(bad("Missing required field `payload`".into())),
        Some(p) => p,
    };
    let body_id = match object.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(valid_id(s, "Field `id`")?),
        Some(_) => return Err(bad("Field `id` must be a string".into())),
    };
    let header_id = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| bad("Header `Idempotency-Key` must be visible ASCII".into()))?;
            Some(valid_id(text.to_owned(), "Header `Idempotency-Key`")?)
        }
    };
    let id = match (body_id, header_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(format!(
                "Field `id` ({a}) and header `Idempotency-Key` ({b}) disagree"
            )));
        }
        (a, b) => a.or(b),
    };
    Ok(IngestRequest {
        stream,
        id,
        payload,
    })
}

fn valid_id(id: String, what: &str) -> Result<String, IngestError> {
    let chars = id.chars().count();
    if chars == 0 {
        return Err(IngestError::BadRequest(format!("{what} must not be empty")));
    }
    if chars > MAX_ID_CHARS {
        return Err(IngestError::BadRequest(format!(
            "{what} is {chars} characters, over the limit of {MAX_ID_CHARS}"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(IngestError::BadRequest(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(id)
}
