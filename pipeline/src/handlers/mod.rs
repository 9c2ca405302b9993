//! The two Lambda handlers, as plain async methods over `aws_lambda_events` types and SDK
//! clients: the harness's event source mappings call them in process, `lambda_runtime` calls
//! them on AWS (the `functions` crate's binaries). Per-record failure is data
//! (`batchItemFailures`), not `Err`; `Err` means the whole batch failed.

mod dead_letter;
pub mod forward;
pub mod store;

pub use forward::{ForwardError, Forwarder, decode_event};
pub use store::{Store, StoreError};

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::kinesis::KinesisEvent;
    use aws_lambda_events::event::sqs::SqsEvent;

    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Event source mappings spawn invocations on tokio: the handlers' futures must be `Send`.
    #[test]
    fn handler_futures_can_be_spawned() {
        fn check(forwarder: &Forwarder, store: &Store) {
            assert_send(&forwarder.handle(KinesisEvent::default()));
            assert_send(&store.handle(SqsEvent::default()));
        }
        let _ = check;
    }
}
