//! The live view of a running pipeline (`harness up`): one page (plain HTML/JS embedded in
//! the binary) that polls `GET /api/state` every second, and one write action,
//! `POST /api/redrive` (the DLQ back to the queue, [`Harness::redrive`]).
//!
//! The state: the stream's shards with the records put on each and the mapping's iterator
//! age, the queue's and the DLQ's depths (visible, in flight, delayed) and the DLQ's messages
//! with their failure attributes, the table's item count and latest items, the counts per
//! hop and the journeys of the latest events. Reading the DLQ's messages receives them and
//! makes them visible again at once (as every harness report does), so it is done only when
//! the DLQ's depth changed.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use aws_sdk_sqs::types::QueueAttributeName;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::journeys::JourneyLog;
use super::model::{Lane, lane_of};
use crate::stack::{DlqEntry, Harness, HarnessError};

const PAGE: &str = include_str!("live.html");
/// Journeys the page shows.
const JOURNEYS: usize = 12;
/// Latest items the page shows.
const ITEMS: usize = 10;
/// DLQ messages the page lists.
const DLQ_LISTED: usize = 20;

/// The DLQ's messages as last read, and the depth (visible, in flight) they were read at.
#[derive(Default)]
struct DlqCache {
    depth: Option<(u64, u64)>,
    entries: Vec<DlqEntry>,
}

/// What the handlers share.
struct Live {
    harness: Arc<Harness>,
    journeys: Arc<JourneyLog>,
    sqs: aws_sdk_sqs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    kinesis: aws_sdk_kinesis::Client,
    dlq: Mutex<DlqCache>,
}

/// The live view's routes: `/` (the page), `/api/state`, `POST /api/redrive`. `journeys`
/// must observe `harness` (see [`crate::HarnessOptions::observe`]).
pub fn router(harness: Arc<Harness>, journeys: Arc<JourneyLog>) -> Router {
    // Clients without the fault layer: looking never trips a fault rule.
    let config = harness.backend().sdk_config();
    let live = Arc::new(Live {
        sqs: aws_sdk_sqs::Client::new(&config),
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        kinesis: aws_sdk_kinesis::Client::new(&config),
        harness,
        journeys,
        dlq: Mutex::default(),
    });
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/state", get(state))
        .route("/api/redrive", post(redrive))
        .with_state(live)
}

/// A failed read, as a 502 naming the call.
struct LiveError(HarnessError);

impl IntoResponse for LiveError {
    fn into_response(self) -> Response {
        let mut text = self.0.to_string();
        let mut source = std::error::Error::source(&self.0);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        (StatusCode::BAD_GATEWAY, Json(json!({ "error": text }))).into_response()
    }
}

impl From<HarnessError> for LiveError {
    fn from(e: HarnessError) -> Self {
        LiveError(e)
    }
}

#[derive(Serialize)]
struct QueueState {
    role: &'static str,
    name: String,
    visible: u64,
    in_flight: u64,
    delayed: u64,
}

async fn state(State(live): State<Arc<Live>>) -> Result<Json<Value>, LiveError> {
    let h = &live.harness;
    let shards = live
        .kinesis
        .list_shards()
        .stream_name(h.stream())
        .send()
        .await
        .map_err(|e| HarnessError::aws("ListShards", e))?;
    let records = live.journeys.shard_records();
    let shards: Vec<Value> = shards
        .shards()
        .iter()
        .map(|s| json!({ "id": s.shard_id(), "records": records.get(s.shard_id()).copied().unwrap_or(0) }))
        .collect();
    let consumers: Vec<Value> = h
        .kinesis_mapping_stats()
        .await
        .into_iter()
        .map(|(function, s)| {
            json!({
                "function": function,
                "iterator_age_ms": s.iterator_age_ms,
                "batches": s.batches_invoked,
                "records": s.records_delivered,
                "checkpoints": s.checkpoints,
            })
        })
        .collect();
    let queue = queue_state(&live.sqs, "queue", h.queue(), &h.provisioned().queue_url).await?;
    let dlq = queue_state(&live.sqs, "dlq", h.dlq(), &h.provisioned().dlq_url).await?;
    let dlq_messages = dlq_messages(&live, &dlq).await?;
    let (count, latest) = table(&live).await?;
    let journeys: Vec<Lane> = live
        .journeys
        .latest(JOURNEYS)
        .into_iter()
        .map(|(id, observed)| lane_of(id, &observed))
        .collect();
    Ok(Json(json!({
        "stream": { "name": h.stream(), "shards": shards, "consumers": consumers },
        "queues": [queue, dlq],
        "dlq_messages": dlq_messages,
        "table": { "name": h.table(), "items": count, "latest": latest },
        "counts": h.counts(),
        "journeys": journeys,
    })))
}

async fn queue_state(
    sqs: &aws_sdk_sqs::Client,
    role: &'static str,
    name: &str,
    url: &str,
) -> Result<QueueState, HarnessError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| HarnessError::aws("GetQueueAttributes", e))?;
    let get = |a: QueueAttributeName| {
        out.attributes()
            .and_then(|m| m.get(&a))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(QueueState {
        role,
        name: name.to_owned(),
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// The DLQ's messages, read again only when its depth changed (a read receives them).
async fn dlq_messages(live: &Live, dlq: &QueueState) -> Result<Vec<Value>, HarnessError> {
    let depth = (dlq.visible, dlq.in_flight);
    let cached = {
        let cache = live.dlq.lock().unwrap_or_else(|e| e.into_inner());
        (cache.depth == Some(depth)).then(|| cache.entries.clone())
    };
    let entries = match cached {
        Some(entries) => entries,
        None if depth == (0, 0) => Vec::new(),
        None => live.harness.dlq_messages().await?,
    };
    let listed = entries
        .iter()
        .take(DLQ_LISTED)
        .map(|m| {
            json!({
                "id": m.id,
                "message_id": m.message_id,
                "attributes": m.attributes,
                "receive_count": m.receive_count,
            })
        })
        .collect();
    *live.dlq.lock().unwrap_or_else(|e| e.into_inner()) = DlqCache {
        depth: Some(depth),
        entries,
    };
    Ok(listed)
}

/// The table's item count (a counting Scan) and its latest items (the ids stored last).
async fn table(live: &Live) -> Result<(u64, Vec<Value>), HarnessError> {
    let table = live.harness.table();
    let mut count = 0u64;
    let mut start = None;
    loop {
        let page = live
            .dynamodb
            .scan()
            .table_name(table)
            .select(Select::Count)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| HarnessError::aws("Scan", e))?;
        count += page.count() as u64;
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    let mut latest = Vec::new();
    for id in live.journeys.latest_stored().into_iter().take(ITEMS) {
        let out = live
            .dynamodb
            .get_item()
            .table_name(table)
            .key("id", AttributeValue::S(id))
            .send()
            .await
            .map_err(|e| HarnessError::aws("GetItem", e))?;
        if let Some(item) = out.item {
            latest.push(serde_dynamo::from_item(item).map_err(HarnessError::ItemNotJson)?);
        }
    }
    Ok((count, latest))
}

async fn redrive(State(live): State<Arc<Live>>) -> Result<Json<Value>, LiveError> {
    let moved = live.harness.redrive().await?;
    tracing::info!("live view: {moved} message(s) redriven from the DLQ");
    Ok(Json(json!({ "moved": moved })))
}
