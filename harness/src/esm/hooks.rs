//! Where delivery faults enter the event source mappings.
//!
//! The mappings ask their [`DeliveryHooks`] before each invocation; the fault plan implements
//! it, so a scenario can deliver a batch twice or crash a consumer before it checkpoints.

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sqs::SqsMessage;

/// What happens to one delivery of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFault {
    /// Invoke the handler with the same batch a second time (a consumer-side duplicate).
    Duplicate,
    /// Invoke the handler, then crash before checkpointing: the consumer restarts from its
    /// last checkpoint and re-delivers the batch.
    CrashBeforeCheckpoint,
    /// Kinesis only: the consumer dies halfway through the batch: the handler gets the first
    /// half of its records (none of a one-record batch), then nothing is checkpointed, so the
    /// restarted consumer delivers the whole batch again.
    CrashMidBatch,
}

/// Consulted once per batch, before the handler is invoked.
pub trait DeliveryHooks: Send + Sync + 'static {
    /// The faults to apply to the batch of `records` read from `shard_id` (none: deliver once).
    fn on_kinesis_batch(
        &self,
        shard_id: &str,
        records: &[KinesisEventRecord],
    ) -> Vec<DeliveryFault>;
    /// The faults to apply to the batch of `messages` received from `queue` (none: deliver once).
    fn on_sqs_batch(&self, queue: &str, messages: &[SqsMessage]) -> Vec<DeliveryFault>;
}

/// The default: every batch is delivered once.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeliveryFaults;

impl DeliveryHooks for NoDeliveryFaults {
    fn on_kinesis_batch(&self, _: &str, _: &[KinesisEventRecord]) -> Vec<DeliveryFault> {
        Vec::new()
    }
    fn on_sqs_batch(&self, _: &str, _: &[SqsMessage]) -> Vec<DeliveryFault> {
        Vec::new()
    }
}
