//! Kinesis over CBOR (`Content-Type: application/x-amz-cbor-1.1`), the wire format the AWS SDK
//! for Java (v1 and v2) and the KCL use for Kinesis by default.
//!
//! A codec at the service's edge, so that the operations stay protocol-independent: a CBOR
//! request body becomes the awsJson1_1 body the core parses, and the JSON answer (result or
//! error) goes back as CBOR with the same status and headers. The two formats differ in two
//! types only:
//! - blobs (`Data`, the only blob member of the Kinesis model) are CBOR byte strings, not
//!   base64 text;
//! - timestamps are CBOR tag 1 around an integer of epoch **milliseconds** (not RFC 8949's
//!   seconds), where JSON has fractional epoch seconds. The Java SDK writes
//!   `writeTag(1); writeNumber(instant.toEpochMilli())` (aws-sdk-java-v2
//!   `core/protocols/aws-cbor-protocol/.../SdkCborGenerator.java`) and reads payload timestamps
//!   as `UNIX_TIMESTAMP_MILLIS` (`AwsCborProtocolFactory.getDefaultTimestampFormats`); Kinesis
//!   answers `ApproximateArrivalTimestamp` as integer milliseconds
//!   (aws/aws-sdk-java-v2#184, aws/aws-sdk-java-v2#4661).
//!
//! Requests are converted by type (a byte string is a blob, a tag 1 a timestamp). Answers are
//! converted by member name, as the Kinesis service model names them: `Data` is the blob, and
//! every timestamp member's name ends in `Timestamp` (`ApproximateArrivalTimestamp`,
//! `StreamCreationTimestamp`, ...). No answer of the emulator has a map with user-chosen keys,
//! so a name cannot be mistaken for a member.

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use ciborium::Value as Cbor;
use http::{HeaderValue, Request, Response};
use serde_json::{Map, Number, Value as Json};

use crate::aws_error;
use crate::error::AwsError;
use crate::wire::{self, Service};

/// The CBOR tag of an epoch-based date/time.
const TIMESTAMP_TAG: u64 = 1;

/// Whether `request` is a Kinesis call in CBOR.
pub fn is_cbor(request: &Request<Bytes>) -> bool {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
    };
    header(http::header::CONTENT_TYPE.as_str()).starts_with(wire::CBOR_1_1)
        && Service::from_target(header("x-amz-target"))
            .is_some_and(|(service, _)| service == Service::Kinesis)
}

/// Answers a CBOR request: its body translated to JSON, answered by `answer_json`, the answer
/// translated back. A body that is not CBOR is AWS's `SerializationException`, in CBOR.
pub async fn serve<F, Fut>(
    request: Request<Bytes>,
    request_id: &str,
    answer_json: F,
) -> Response<Bytes>
where
    F: FnOnce(Request<Bytes>) -> Fut,
    Fut: Future<Output = Response<Bytes>>,
{
    let (mut parts, body) = request.into_parts();
    let response = match request_to_json(&body) {
        Ok(json) => {
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(Service::Kinesis.content_type()),
            );
            answer_json(Request::from_parts(parts, json)).await
        }
        Err(err) => wire::encode(Service::Kinesis, Err(err), request_id),
    };
    response_to_cbor(response)
}

/// A CBOR request body as the JSON body of the same request (an empty body stays empty).
pub fn request_to_json(body: &[u8]) -> Result<Bytes, AwsError> {
    if body.is_empty() {
        return Ok(Bytes::new());
    }
    let value: Cbor = ciborium::from_reader(body)
        .map_err(|e| aws_error!(SerializationException, "Malformed CBOR request body: {e}"))?;
    let json = to_json(value)?;
    Ok(Bytes::from(serde_json::to_vec(&json).unwrap_or_default()))
}

/// A JSON answer (result or error) as the same answer in CBOR.
pub fn response_to_cbor(response: Response<Bytes>) -> Response<Bytes> {
    let (mut parts, body) = response.into_parts();
    let json: Json = if body.is_empty() {
        Json::Object(Map::new())
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| Json::Object(Map::new()))
    };
    let mut out = Vec::new();
    // Writing a `ciborium::Value` into a `Vec` cannot fail.
    let _ = ciborium::into_writer(&to_cbor(json, None), &mut out);
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(wire::CBOR_1_1),
    );
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Bytes::from(out))
}

fn to_json(value: Cbor) -> Result<Json, AwsError> {
    Ok(match value {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(b),
        Cbor::Text(s) => Json::String(s),
        Cbor::Bytes(b) => Json::String(BASE64.encode(b)),
        Cbor::Integer(i) => Json::Number(integer(i128::from(i))?),
        Cbor::Float(f) => Json::Number(float(f)?),
        Cbor::Tag(TIMESTAMP_TAG, inner) => {
            let millis = match *inner {
                Cbor::Integer(i) => i128::from(i) as f64,
                Cbor::Float(f) => f,
                other => {
                    return Err(malformed(format!(
                        "a timestamp (tag 1) holds {other:?}, not a number"
                    )));
                }
            };
            Json::Number(float(millis / 1000.0)?)
        }
        Cbor::Tag(_, inner) => to_json(*inner)?,
        Cbor::Array(items) => {
            Json::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let Cbor::Text(key) = key else {
                    return Err(malformed(format!("a map key is {key:?}, not text")));
                };
                map.insert(key, to_json(value)?);
            }
            Json::Object(map)
        }
        other => return Err(malformed(format!("unsupported CBOR value {other:?}"))),
    })
}

fn integer(i: i128) -> Result<Number, AwsError> {
    if let Ok(i) = i64::try_from(i) {
        Ok(Number::from(i))
    } else if let Ok(u) = u64::try_from(i) {
        Ok(Number::from(u))
    } else {
        Err(malformed(format!("the integer {i} is out of range")))
    }
}

fn float(f: f64) -> Result<Number, AwsError> {
    Number::from_f64(f).ok_or_else(|| malformed(format!("the number {f} is not finite")))
}

fn malformed(detail: String) -> AwsError {
    aws_error!(
        SerializationException,
        "Malformed CBOR request body: {detail}"
    )
}

/// `member` is the name this value has in its structure, if it is a member.
fn to_cbor(value: Json, member: Option<&str>) -> Cbor {
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(b),
        Json::String(s) if member == Some("Data") => match BASE64.decode(&s) {
            Ok(bytes) => Cbor::Bytes(bytes),
            Err(_) => Cbor::Text(s),
        },
        Json::String(s) => Cbor::Text(s),
        Json::Number(n) if member.is_some_and(|m| m.ends_with("Timestamp")) => {
            let seconds = n.as_f64().unwrap_or_default();
            let millis = (seconds * 1000.0).round() as i64;
            Cbor::Tag(TIMESTAMP_TAG, Box::new(Cbor::Integer(millis.into())))
        }
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cbor::Integer(i.into()),
            (None, Some(u)) => Cbor::Integer(u.into()),
            _ => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Json::Array(items) => Cbor::Array(items.into_iter().map(|v| to_cbor(v, None)).collect()),
        Json::Object(map) => Cbor::Map(
            map.into_iter()
                .map(|(k, v)| {
                    let v = to_cbor(v, Some(&k));
                    (Cbor::Text(k), v)
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(map: &'a Cbor, name: &str) -> &'a Cbor {
        let Cbor::Map(entries) = map else {
            panic!("{map:?} is not a map")
        };
        let key = Cbor::Text(name.into());
        &entries.iter().find(|(k, _)| *k == key).expect(name).1
    }

    fn cbor(value: &Cbor) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    #[test]
    fn requests_turn_byte_strings_into_base64_and_millisecond_tags_into_seconds() {
        let request = Cbor::Map(vec![
            (Cbor::Text("Data".into()), Cbor::Bytes(vec![0, 255, 10])),
            (
                Cbor::Text("Timestamp".into()),
                Cbor::Tag(1, Box::new(Cbor::Integer(1_787_036_486_712_i64.into()))),
            ),
            (Cbor::Text("Limit".into()), Cbor::Integer(5.into())),
        ]);
        let json: Json =
            serde_json::from_slice(&request_to_json(&cbor(&request)).unwrap()).unwrap();
        assert_eq!(json["Data"], "AP8K");
        assert_eq!(json["Timestamp"], 1_787_036_486.712);
        assert_eq!(json["Limit"], 5);
    }

    #[test]
    fn answers_turn_data_into_bytes_and_timestamps_into_millisecond_tags() {
        let json = serde_json::json!({
            "Records": [{"Data": "AP8K", "ApproximateArrivalTimestamp": 1_787_036_486.712,
                         "PartitionKey": "Data"}],
            "MillisBehindLatest": 0,
        });
        let answer = to_cbor(json, None);
        let Cbor::Array(records) = field(&answer, "Records") else {
            panic!("{answer:?}")
        };
        let record = &records[0];
        assert_eq!(field(record, "Data"), &Cbor::Bytes(vec![0, 255, 10]));
        assert_eq!(
            field(record, "ApproximateArrivalTimestamp"),
            &Cbor::Tag(1, Box::new(Cbor::Integer(1_787_036_486_712_i64.into())))
        );
        assert_eq!(field(record, "PartitionKey"), &Cbor::Text("Data".into()));
        assert_eq!(
            field(&answer, "MillisBehindLatest"),
            &Cbor::Integer(0.into())
        );
    }

    #[test]
    fn a_body_that_is_not_cbor_is_a_serialization_exception() {
        let err = request_to_json(&[0xff, 0x00]).unwrap_err();
        assert_eq!(err.code, "SerializationException");
        let err = request_to_json(&cbor(&Cbor::Map(vec![(
            Cbor::Integer(1.into()),
            Cbor::Null,
        )])))
        .unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }
}
