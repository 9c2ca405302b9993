//! What a finished run left behind, read back through clients without faults: every record
//! the stream holds (the ground truth of what was accepted, including the copies a lost
//! response made), the table's raw items, the DLQ, and the journal.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::types::ShardIteratorType;
use harness::Harness;
use harness::fault::{Attempt, AttemptStatus, FiredFault};
use harness::stack::{Counts, DlqEntry, IngestOutcome};
use pipeline::Envelope;

/// A table's items by id.
pub type Items = BTreeMap<String, HashMap<String, AttributeValue>>;

/// One record on the stream.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub envelope: Envelope,
}

/// Everything the invariants look at.
#[derive(Debug)]
pub struct Observed {
    /// What each ingest answered, by id, in history order.
    pub outcomes: Vec<(String, IngestOutcome)>,
    /// Every record, per shard in sequence-number order.
    pub stream: Vec<StreamRecord>,
    /// The table's items as DynamoDB holds them, by id.
    pub items: BTreeMap<String, HashMap<String, AttributeValue>>,
    /// The table before a replay, if the case replayed.
    pub before_replay: Option<Items>,
    pub dlq: Vec<DlqEntry>,
    pub attempts: Vec<Attempt>,
    pub fired: Vec<FiredFault>,
    pub counts: Counts,
    pub lost: Vec<String>,
}

impl Observed {
    pub async fn read(
        h: &Harness,
        outcomes: Vec<(String, IngestOutcome)>,
        before_replay: Option<Items>,
    ) -> anyhow::Result<Self> {
        let sdk = h.backend().sdk_config();
        let resources = &h.provisioned().resources;
        let stream = read_stream(&aws_sdk_kinesis::Client::new(&sdk), &resources.stream).await?;
        let items = scan_table(&aws_sdk_dynamodb::Client::new(&sdk), &resources.table).await?;
        let dlq = h.dlq_messages().await?;
        // `Harness::lost_ids` would scan the table and peek the DLQ again.
        let lost = h
            .recorder()
            .accepted_ids()
            .into_iter()
            .filter(|id| !items.contains_key(id) && !dlq.iter().any(|m| m.id.as_ref() == Some(id)))
            .collect();
        Ok(Observed {
            outcomes,
            stream,
            items,
            before_replay,
            dlq,
            attempts: h.journal().attempt_log(),
            fired: h.journal().faults_fired(),
            counts: h.counts(),
            lost,
        })
    }

    /// Ids with at least one 200 from the ingest API.
    pub fn accepted(&self, id: &str) -> bool {
        self.outcomes
            .iter()
            .any(|(i, o)| i == id && o.status == 200)
    }

    /// The records the stream holds for `id`, in order.
    pub fn copies(&self, id: &str) -> Vec<&StreamRecord> {
        self.stream.iter().filter(|r| r.envelope.id == id).collect()
    }

    /// DLQ messages carrying `id` whose `failure.stage` is `stage` (`None`: messages without
    /// one, which the queue's redrive policy moved there unchanged).
    pub fn dlq_count(&self, id: &str, stage: Option<&str>) -> usize {
        self.dlq
            .iter()
            .filter(|m| {
                m.id.as_deref() == Some(id)
                    && m.attributes.get("failure.stage").map(String::as_str) == stage
            })
            .count()
    }

    /// Attempts of `service`/`operation` carrying `id`, with their index in the log.
    pub fn attempts_of<'a>(
        &'a self,
        service: &'a str,
        operation: &'a str,
        id: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Attempt)> + 'a {
        self.attempts.iter().enumerate().filter(move |(_, a)| {
            a.service == service
                && (a.operation == operation && a.event_ids.iter().any(|e| e == id)
                    || harness::fault::entry_operation(&a.operation) == Some(operation)
                        && a.entries.iter().any(|e| e.event_id.as_deref() == Some(id)))
        })
    }

    /// SendMessage attempts carrying `id` that the backend applied: each made one message, on
    /// the queue or on the DLQ. Those that succeeded, and those whose response a
    /// `lose_response` rule dropped after the backend applied them.
    /// A SendMessageBatch entry (the forwarder's sends) counts as a SendMessage of its own.
    pub fn sends(&self, id: &str) -> usize {
        let lost = |rule: &Option<String>| {
            rule.as_deref()
                .is_some_and(|r| r.contains(":lose_response#"))
        };
        self.attempts_of("sqs", "SendMessage", id)
            .map(|(_, a)| {
                if a.entries.is_empty() {
                    usize::from(matches!(a.status, AttemptStatus::Ok { .. }) || lost(&a.rule))
                } else {
                    a.entries
                        .iter()
                        .filter(|e| e.event_id.as_deref() == Some(id))
                        .filter(|e| e.ok() || lost(&e.rule) || lost(&a.rule))
                        .count()
                }
            })
            .sum()
    }

    /// PutItem attempts carrying `id` that wrote the item (2xx).
    pub fn writes(&self, id: &str) -> usize {
        self.attempts_of("dynamodb", "PutItem", id)
            .filter(|(_, a)| matches!(a.status, AttemptStatus::Ok { .. }))
            .count()
    }

    /// PutItem attempts the condition refused: duplicates suppressed.
    pub fn suppressed(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| {
                a.operation == "PutItem"
                    && matches!(&a.status, AttemptStatus::AwsError { code, .. }
                        if code == "ConditionalCheckFailedException")
            })
            .count()
    }

    /// Whether a Kinesis delivery fault (duplicate or crash) fired on a batch holding `id`.
    pub fn redelivered_by_fault(&self, id: &str) -> bool {
        self.fired.iter().any(|f| {
            f.service == "kinesis"
                && f.operation == "delivery"
                && f.event_ids.iter().any(|e| e == id)
        })
    }
}

/// Every record of every shard, from TRIM_HORIZON, in sequence-number order per shard.
async fn read_stream(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
) -> anyhow::Result<Vec<StreamRecord>> {
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .context("ListShards")?
        .shards
        .unwrap_or_default();
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(&shard.shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .context("GetShardIterator")?
            .shard_iterator;
        while let Some(it) = iterator {
            let page = client
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .context("GetRecords")?;
            let caught_up = page.records.is_empty() || page.millis_behind_latest == Some(0);
            for record in page.records {
                let envelope = Envelope::from_slice(record.data.as_ref())
                    .context("a record on the stream is not an envelope")?;
                records.push(StreamRecord {
                    shard_id: shard.shard_id.clone(),
                    sequence_number: record.sequence_number,
                    envelope,
                });
            }
            if caught_up {
                break;
            }
            iterator = page.next_shard_iterator;
        }
    }
    Ok(records)
}

/// The table's items as DynamoDB returns them, by id.
/// The table's items as DynamoDB holds them.
pub async fn table(h: &Harness) -> anyhow::Result<Items> {
    let client = aws_sdk_dynamodb::Client::new(&h.backend().sdk_config());
    scan_table(&client, &h.provisioned().resources.table).await
}

async fn scan_table(client: &aws_sdk_dynamodb::Client, table: &str) -> anyhow::Result<Items> {
    let mut items = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .context("Scan")?;
        for item in page.items.unwrap_or_default() {
            let id = item
                .get("id")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .context("an item without a string id")?;
            anyhow::ensure!(
                items.insert(id.clone(), item).is_none(),
                "the scan returned {id} twice"
            );
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// Sequence numbers are decimal strings of up to 128 bits: compare them as numbers.
pub fn sequence_key(sequence_number: &str) -> (usize, &str) {
    (sequence_number.len(), sequence_number)
}
