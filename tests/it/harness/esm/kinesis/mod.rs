//! The Kinesis mapping against the embedded emulator (AWS-SEMANTICS 2): helpers here,
//! [`delivery`] for what is delivered when (batching, positions, order, checkpoints, delivery
//! faults) and [`failures`] for what a failing function causes (retries, age, bisect, partial
//! batch responses, on-failure records).

mod delivery;
mod failures;
mod window;

use std::sync::Arc;

use ::harness::esm::{
    BoxError, CheckpointStore, DeliveryHooks, InMemoryCheckpoints, KinesisHandler, KinesisMapping,
    KinesisMappingConfig, KinesisMappingHandle, NoDeliveryFaults,
};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use aws_sdk_kinesis::primitives::Blob;

use super::Seen;
use crate::support::{Env, unique};

/// A fresh stream with `shards` shards.
pub(super) async fn stream(env: &Env, shards: i32) -> String {
    let name = unique("esm");
    env.kinesis()
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    name
}

/// Puts one record; answers its sequence number.
pub(super) async fn put(env: &Env, stream: &str, key: &str, data: &str) -> String {
    env.kinesis()
        .put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data))
        .send()
        .await
        .unwrap()
        .sequence_number()
        .to_owned()
}

pub(super) async fn put_all(env: &Env, stream: &str, data: &[&str]) -> Vec<String> {
    let mut seqs = Vec::new();
    for d in data {
        seqs.push(put(env, stream, "key", d).await);
    }
    seqs
}

pub(super) fn datas(event: &KinesisEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.kinesis.data).into_owned())
        .collect()
}

/// A handler that records every event and answers with `respond(event, invocation number)`.
pub(super) fn recording(
    seen: &Seen<KinesisEvent>,
    respond: impl Fn(&KinesisEvent, usize) -> Result<KinesisEventResponse, BoxError>
    + Send
    + Sync
    + 'static,
) -> Arc<dyn KinesisHandler> {
    let seen = seen.clone();
    let respond = Arc::new(respond);
    Arc::new(move |event: KinesisEvent| {
        let n = seen.push(event.clone());
        let answer = respond(&event, n);
        async move { answer }
    })
}

pub(super) fn ok(_: &KinesisEvent, _: usize) -> Result<KinesisEventResponse, BoxError> {
    Ok(KinesisEventResponse::default())
}

pub(super) fn failures(seqs: &[&str]) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    response.batch_item_failures = seqs
        .iter()
        .map(|s| {
            let mut f = KinesisBatchItemFailure::default();
            f.item_identifier = Some((*s).to_owned());
            f
        })
        .collect();
    response
}

pub(super) async fn spawn(
    env: &Env,
    stream: &str,
    config: KinesisMappingConfig,
    handler: Arc<dyn KinesisHandler>,
) -> KinesisMappingHandle {
    spawn_with(
        env,
        stream,
        config,
        handler,
        Arc::new(InMemoryCheckpoints::new()),
        Arc::new(NoDeliveryFaults),
    )
    .await
}

pub(super) async fn spawn_with(
    env: &Env,
    stream: &str,
    config: KinesisMappingConfig,
    handler: Arc<dyn KinesisHandler>,
    checkpoints: Arc<dyn CheckpointStore>,
    hooks: Arc<dyn DeliveryHooks>,
) -> KinesisMappingHandle {
    let config = KinesisMappingConfig {
        clock: env.emulator().map(|e| e.clock().clone()),
        ..config
    };
    KinesisMapping::spawn(
        env.kinesis(),
        env.sqs(),
        stream,
        config,
        handler,
        checkpoints,
        hooks,
    )
    .await
    .unwrap()
}

pub(super) async fn queue(env: &Env) -> String {
    env.sqs()
        .create_queue()
        .queue_name(unique("on-failure"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}

pub(super) async fn on_failure_records(env: &Env, queue_url: &str) -> Vec<serde_json::Value> {
    let out = env
        .sqs()
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}
