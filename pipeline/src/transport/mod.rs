//! Transports: where the ingest API puts an envelope. A client's `"stream"` names one; Kinesis
//! is the default kind. Sending events to another service is a new [`Transport`], nothing else.

mod batching;
mod kinesis;

pub use batching::KinesisBatchTransport;
pub use kinesis::KinesisTransport;

use async_trait::async_trait;

use crate::envelope::Envelope;

/// The backend's acknowledgement of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The shard the record went to.
    pub shard_id: String,
    /// Its sequence number there.
    pub sequence_number: String,
}

/// Why a record was not accepted. The ingest API answers 413, 503 or 502 accordingly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Refused by us before sending: the encoded record is over the backend's limit (413).
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The encoded record's size in bytes.
        size: usize,
        /// The backend's limit in bytes.
        limit: usize,
    },
    /// The backend is throttling or down, still after the SDK's retries; the client may retry
    /// later (503 with Retry-After).
    #[error("stream unavailable: {reason}")]
    Unavailable {
        /// The last error (`Code: message (HTTP status)`).
        reason: String,
    },
    /// The backend refused the record for a reason a retry will not fix (a missing stream,
    /// denied access): a configuration problem on our side (502).
    #[error("stream rejected the record: {reason}")]
    Failed {
        /// The error (`Code: message (HTTP status)`).
        reason: String,
    },
}

impl TransportError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TransportError::Unavailable { .. })
    }
}

/// Puts envelopes somewhere durable and says where.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Puts one envelope; the receipt says where it went.
    async fn send(&self, envelope: &Envelope) -> Result<Receipt, TransportError>;
}
