//! The Kinesis transport: one PutRecord per envelope, data = the envelope JSON. The SDK's own
//! retries (standard mode, 3 attempts) stay on here: the client owns the retry after a 503.

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::Blob;

use super::{Receipt, Transport, TransportError};
use crate::config::{KINESIS_MAX_RECORD_BYTES, PartitionKeySource};
use crate::envelope::Envelope;
use crate::retry::classify;

/// Kinesis's partition key length limit, in characters.
const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Puts envelopes on one Kinesis stream.
#[derive(Debug, Clone)]
pub struct KinesisTransport {
    client: aws_sdk_kinesis::Client,
    stream_name: String,
    partition_key: PartitionKeySource,
}

impl KinesisTransport {
    /// A transport putting each envelope on `stream_name`, its partition key taken as
    /// `partition_key` says.
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream_name: impl Into<String>,
        partition_key: PartitionKeySource,
    ) -> Self {
        KinesisTransport {
            client,
            stream_name: stream_name.into(),
            partition_key,
        }
    }

    /// The partition key for `envelope`: always 1 to 256 characters.
    pub fn partition_key(&self, envelope: &Envelope) -> String {
        let key = match &self.partition_key {
            PartitionKeySource::Id => envelope.id.clone(),
            PartitionKeySource::Stream => envelope.stream.clone(),
            PartitionKeySource::PayloadField(pointer) => match envelope.payload.pointer(pointer) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => envelope.id.clone(),
            },
        };
        key.chars().take(MAX_PARTITION_KEY_CHARS).collect()
    }

    /// The record for `envelope`: its data and partition key, refused if over Kinesis's limit
    /// (which counts the data blob and the partition key).
    pub(super) fn encode(&self, envelope: &Envelope) -> Result<(Vec<u8>, String), TransportError> {
        let data = envelope.to_json().into_bytes();
        let partition_key = self.partition_key(envelope);
        let size = data.len() + partition_key.len();
        if size > KINESIS_MAX_RECORD_BYTES {
            return Err(TransportError::TooLarge {
                size,
                limit: KINESIS_MAX_RECORD_BYTES,
            });
        }
        Ok((data, partition_key))
    }

    pub(super) fn client(&self) -> &aws_sdk_kinesis::Client {
        &self.client
    }

    pub(super) fn stream_name(&self) -> &str {
        &self.stream_name
    }
}

/// An SDK error as a transport error: retryable ones mean "unavailable, try later".
pub(super) fn transport_error<E>(err: &aws_sdk_kinesis::error::SdkError<E>) -> TransportError
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let classified = classify(err);
    if classified.retryable {
        TransportError::Unavailable {
            reason: classified.reason,
        }
    } else {
        TransportError::Failed {
            reason: classified.reason,
        }
    }
}

#[async_trait]
impl Transport for KinesisTransport {
    async fn send(&self, envelope: &Envelope) -> Result<Receipt, TransportError> {
        let (data, partition_key) = self.encode(envelope)?;
        let out = self
            .client
            .put_record()
            .stream_name(&self.stream_name)
            .partition_key(partition_key)
            .data(Blob::new(data))
            .send()
            .await
            .map_err(|err| transport_error(&err))?;
        Ok(Receipt {
            shard_id: out.shard_id,
            sequence_number: out.sequence_number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn transport(source: PartitionKeySource) -> KinesisTransport {
        let conf = aws_sdk_kinesis::Config::builder()
            .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
            .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
            .build();
        KinesisTransport::new(aws_sdk_kinesis::Client::from_conf(conf), "events", source)
    }

    #[test]
    fn partition_key_comes_from_the_configured_source() {
        let e = Envelope::new(
            "e-1",
            "default",
            Utc::now(),
            json!({"dev": "d-9", "n": 4, "o": {}}),
        );
        assert_eq!(transport(PartitionKeySource::Id).partition_key(&e), "e-1");
        assert_eq!(
            transport(PartitionKeySource::Stream).partition_key(&e),
            "default"
        );
        let field =
            |p: &str| transport(PartitionKeySource::PayloadField(p.into())).partition_key(&e);
        assert_eq!(field("/dev"), "d-9");
        assert_eq!(field("/n"), "4");
        assert_eq!(field("/o"), "e-1", "a non-scalar falls back to the id");
        assert_eq!(field("/missing"), "e-1");
    }

    #[test]
    fn partition_keys_are_cut_to_kinesis_limit() {
        let e = Envelope::new("x".repeat(300), "default", Utc::now(), json!({}));
        assert_eq!(
            transport(PartitionKeySource::Id)
                .partition_key(&e)
                .chars()
                .count(),
            256
        );
    }

    #[tokio::test]
    async fn a_record_over_one_mebibyte_is_refused_before_sending() {
        let e = Envelope::new(
            "e",
            "default",
            Utc::now(),
            json!("x".repeat(KINESIS_MAX_RECORD_BYTES)),
        );
        let err = transport(PartitionKeySource::Id)
            .send(&e)
            .await
            .expect_err("too large");
        assert!(matches!(
            err,
            TransportError::TooLarge {
                limit: KINESIS_MAX_RECORD_BYTES,
                ..
            }
        ));
        assert!(!err.is_retryable());
    }
}
