//! A Kinesis transport that coalesces concurrent sends into PutRecords requests (up to 500
//! records and 5 MiB each, AWS-SEMANTICS 1.1), for throughput: under load one HTTP request
//! carries many events instead of one each. Nothing waits to fill a batch: a batch is whatever
//! queued up while earlier requests were in flight, so a lone event goes out at once.
//!
//! Each caller still gets its own answer: PutRecords reports per record, and a record refused
//! inside a successful request (`ProvisionedThroughputExceededException`, `InternalFailure`)
//! is unavailable for that caller only. Kinesis does not promise order within one request;
//! events with the same partition key sent concurrently have no order anyway.

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use super::kinesis::transport_error;
use super::{KinesisTransport, Receipt, Transport, TransportError};
use crate::config::PartitionKeySource;
use crate::envelope::Envelope;

/// PutRecords limits: records per request, and bytes (data plus partition keys) per request.
const MAX_RECORDS: usize = 500;
const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;
/// Sends waiting for a batch before callers wait to enqueue (backpressure).
const QUEUE_DEPTH: usize = 4 * MAX_RECORDS;

/// Record codes in a PutRecords answer that a later attempt may get past.
const RETRYABLE_RECORD_CODES: &[&str] =
    &["ProvisionedThroughputExceededException", "InternalFailure"];

struct Pending {
    data: Vec<u8>,
    partition_key: String,
    reply: oneshot::Sender<Result<Receipt, TransportError>>,
}

impl Pending {
    fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Puts envelopes on one Kinesis stream through PutRecords, batching concurrent sends. It owns
/// its batching task: [`close`](Self::close) awaits it; dropped without `close`, the task still
/// answers every queued send and then ends.
pub struct KinesisBatchTransport {
    encoder: KinesisTransport,
    queue: mpsc::Sender<Pending>,
    worker: JoinHandle<()>,
}

impl KinesisBatchTransport {
    /// Starts the batching task on the current tokio runtime. At most `max_in_flight`
    /// PutRecords requests run at once.
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream_name: impl Into<String>,
        partition_key: PartitionKeySource,
        max_in_flight: usize,
    ) -> Self {
        let encoder = KinesisTransport::new(client, stream_name, partition_key);
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        let worker = tokio::spawn(run(
            encoder.client().clone(),
            encoder.stream_name().to_owned(),
            receiver,
            max_in_flight.max(1),
        ));
        KinesisBatchTransport {
            encoder,
            queue,
            worker,
        }
    }

    /// Stops taking sends and waits until every queued one is answered.
    pub async fn close(self) {
        drop(self.queue);
        // The worker only ends by draining; a panic in it has already failed its callers.
        let _ = self.worker.await;
    }
}

#[async_trait]
impl Transport for KinesisBatchTransport {
    async fn send(&self, envelope: &Envelope) -> Result<Receipt, TransportError> {
        let (data, partition_key) = self.encoder.encode(envelope)?;
        let (reply, answer) = oneshot::channel();
        let stopped = || TransportError::Unavailable {
            reason: "the batching transport has stopped".to_owned(),
        };
        self.queue
            .send(Pending {
                data,
                partition_key,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Takes what is queued, up to the request limits, and sends it; repeats until the queue is
/// closed and drained.
async fn run(
    client: aws_sdk_kinesis::Client,
    stream_name: String,
    mut queue: mpsc::Receiver<Pending>,
    max_in_flight: usize,
) {
    let mut in_flight = JoinSet::new();
    let mut carried: Option<Pending> = None;
    loop {
        while in_flight.try_join_next().is_some() {}
        while in_flight.len() >= max_in_flight {
            in_flight.join_next().await;
        }
        let first = match carried.take() {
            Some(pending) => pending,
            None => match queue.recv().await {
                Some(pending) => pending,
                None => break,
            },
        };
        let mut bytes = first.size();
        let mut batch = vec![first];
        while batch.len() < MAX_RECORDS {
            let Ok(next) = queue.try_recv() else { break };
            if bytes + next.size() > MAX_REQUEST_BYTES {
                carried = Some(next);
                break;
            }
            bytes += next.size();
            batch.push(next);
        }
        in_flight.spawn(put_records(client.clone(), stream_name.clone(), batch));
    }
    while in_flight.join_next().await.is_some() {}
}

/// One PutRecords request; every caller in `batch` gets its record's answer.
async fn put_records(client: aws_sdk_kinesis::Client, stream_name: String, batch: Vec<Pending>) {
    let mut replies = Vec::with_capacity(batch.len());
    let mut entries = Vec::with_capacity(batch.len());
    for pending in batch {
        // Both required fields are set, so building cannot fail.
        if let Ok(entry) = PutRecordsRequestEntry::builder()
            .data(Blob::new(pending.data))
            .partition_key(pending.partition_key)
            .build()
        {
            entries.push(entry);
            replies.push(pending.reply);
        }
    }
    let result = client
        .put_records()
        .stream_name(stream_name)
        .set_records(Some(entries))
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(err) => {
            let error = transport_error(&err);
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
            return;
        }
    };
    let mut results = out.records.into_iter();
    for reply in replies {
        let answer = match results.next() {
            Some(entry) => match (entry.shard_id, entry.sequence_number) {
                (Some(shard_id), Some(sequence_number)) => Ok(Receipt {
                    shard_id,
                    sequence_number,
                }),
                _ => {
                    let code = entry.error_code.unwrap_or_default();
                    let reason = format!("{code}: {}", entry.error_message.unwrap_or_default());
                    if RETRYABLE_RECORD_CODES.contains(&code.as_str()) {
                        Err(TransportError::Unavailable { reason })
                    } else {
                        Err(TransportError::Failed { reason })
                    }
                }
            },
            None => Err(TransportError::Unavailable {
                reason: "PutRecords answered fewer records than were sent".to_owned(),
            }),
        };
        // A caller that gave up (timeout) no longer listens; its record is in the stream.
        let _ = reply.send(answer);
    }
}
