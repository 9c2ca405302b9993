//! Creates the template's resources on a backend, idempotently: streams, queues with their
//! attributes and redrive policies, tables with their keys and billing. Safe to run against
//! resources that already exist. What is created comes from the [`PipelineSpec`] alone.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_kinesis::types::{StreamMode, StreamModeDetails, StreamStatus};
use aws_sdk_sqs::types::QueueAttributeName;

use super::BackendError;
use crate::template::spec::{
    EVENTS_DLQ, EVENTS_QUEUE, EVENTS_STREAM, EVENTS_TABLE, PipelineSpec, QueueSpec, StreamSpec,
    TableSpec,
};

/// The pipeline's own resources (the logical ids `EventsStream`, `EventsQueue`, `EventsDlq`,
/// `EventsTable`) as the template names and shapes them.
#[derive(Debug, Clone)]
pub struct Resources {
    /// The stream's name.
    pub stream: String,
    /// `None`: an on-demand stream.
    pub shards: Option<u32>,
    /// The queue the forward function sends to.
    pub queue: String,
    /// The dead-letter queue.
    pub dlq: String,
    /// The table the store function writes.
    pub table: String,
    /// Receives before SQS moves a message from the queue to the DLQ.
    pub max_receive_count: Option<u32>,
    /// The queue's visibility timeout.
    pub visibility_timeout: Duration,
}

impl Resources {
    /// The pipeline's resources in `spec`.
    pub fn of(spec: &PipelineSpec) -> Resources {
        let queue = &spec.queues[EVENTS_QUEUE];
        Resources {
            stream: spec.streams[EVENTS_STREAM].name.clone(),
            shards: spec.streams[EVENTS_STREAM].shards,
            queue: queue.name.clone(),
            dlq: spec.queues[EVENTS_DLQ].name.clone(),
            table: spec.tables[EVENTS_TABLE].name.clone(),
            max_receive_count: queue.redrive.as_ref().map(|r| r.max_receive_count),
            visibility_timeout: queue.visibility_timeout,
        }
    }
}

/// What provisioning found or made.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The pipeline's resources by name.
    pub resources: Resources,
    /// The stream's ARN.
    pub stream_arn: String,
    /// The queue's URL.
    pub queue_url: String,
    /// The queue's ARN.
    pub queue_arn: String,
    /// The DLQ's URL.
    pub dlq_url: String,
    /// The DLQ's ARN.
    pub dlq_arn: String,
    /// Every queue of the template by logical id: its URL.
    pub queue_urls: BTreeMap<String, String>,
}

/// Provisioning `resource` failed: an SDK error (kept as the source, with its own sources)
/// or what was wrong with an answer.
fn failed(
    resource: &str,
    err: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> BackendError {
    BackendError::Provision {
        resource: resource.to_owned(),
        source: err.into(),
    }
}

/// Creates whatever of the template's resources does not exist yet (streams, queues with
/// their attributes and redrive policies, tables) and waits until each is usable.
pub async fn provision(sdk: &SdkConfig, spec: &PipelineSpec) -> Result<Provisioned, BackendError> {
    let streams =
        futures::future::try_join_all(spec.streams.values().map(|s| provision_stream(sdk, s)));
    let tables =
        futures::future::try_join_all(spec.tables.values().map(|t| provision_table(sdk, t)));
    let (_, queue_urls, _) = tokio::try_join!(streams, provision_queues(sdk, spec), tables)?;
    found(sdk, spec, queue_urls).await
}

async fn found(
    sdk: &SdkConfig,
    spec: &PipelineSpec,
    queue_urls: BTreeMap<String, String>,
) -> Result<Provisioned, BackendError> {
    let resources = Resources::of(spec);
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let stream_arn = kinesis
        .describe_stream_summary()
        .stream_name(&resources.stream)
        .send()
        .await
        .map_err(|e| failed(&resources.stream, e))?
        .stream_description_summary
        .map(|d| d.stream_arn)
        .unwrap_or_default();
    let queue_url = queue_urls[EVENTS_QUEUE].clone();
    let dlq_url = queue_urls[EVENTS_DLQ].clone();
    Ok(Provisioned {
        stream_arn,
        queue_arn: queue_arn(&sqs, &queue_url, &resources.queue).await?,
        dlq_arn: queue_arn(&sqs, &dlq_url, &resources.dlq).await?,
        queue_url,
        dlq_url,
        queue_urls,
        resources,
    })
}

/// Polls `ready` every 50 ms for at most 60 s (real AWS creates streams and tables in seconds).
async fn until_ready<T, F, Fut>(resource: &str, mut ready: F) -> Result<T, BackendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, BackendError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = ready().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(failed(resource, "not ready after 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn provision_stream(sdk: &SdkConfig, stream: &StreamSpec) -> Result<(), BackendError> {
    let name = &stream.name;
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    let mut request = kinesis.create_stream().stream_name(name);
    request = match stream.shards {
        Some(shards) => request.shard_count(shards as i32),
        None => request.stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .map_err(|e| failed(name, e))?,
        ),
    };
    if let Err(err) = request.send().await {
        let err = err.into_service_error();
        if !err.is_resource_in_use_exception() {
            return Err(failed(name, err));
        }
    }
    let retention = until_ready(name, || {
        let kinesis = kinesis.clone();
        async move {
            let summary = kinesis
                .describe_stream_summary()
                .stream_name(name)
                .send()
                .await
                .map_err(|e| failed(name, e))?;
            Ok(summary
                .stream_description_summary
                .filter(|d| d.stream_status == StreamStatus::Active)
                .map(|d| d.retention_period_hours))
        }
    })
    .await?;
    if let Some(hours) = stream.retention_hours
        && hours as i32 > retention
    {
        kinesis
            .increase_stream_retention_period()
            .stream_name(name)
            .retention_period_hours(hours as i32)
            .send()
            .await
            .map_err(|e| failed(name, e))?;
    }
    Ok(())
}

/// Every queue, each after the queue its redrive policy names (its ARN goes into the policy).
async fn provision_queues(
    sdk: &SdkConfig,
    spec: &PipelineSpec,
) -> Result<BTreeMap<String, String>, BackendError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut urls: BTreeMap<String, String> = BTreeMap::new();
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    while urls.len() < spec.queues.len() {
        let ready: Vec<(&String, &QueueSpec)> = spec
            .queues
            .iter()
            .filter(|(id, q)| {
                !urls.contains_key(*id)
                    && q.redrive
                        .as_ref()
                        .is_none_or(|r| arns.contains_key(&r.dead_letter))
            })
            .collect();
        if ready.is_empty() {
            return Err(failed("queues", "their redrive policies form a cycle"));
        }
        for (id, queue) in ready {
            let mut attributes: BTreeMap<String, String> = queue.attributes.clone();
            attributes.insert(
                "VisibilityTimeout".into(),
                queue.visibility_timeout.as_secs().to_string(),
            );
            if let Some(redrive) = &queue.redrive {
                attributes.insert(
                    "RedrivePolicy".into(),
                    serde_json::json!({
                        "deadLetterTargetArn": arns[&redrive.dead_letter],
                        "maxReceiveCount": redrive.max_receive_count.to_string(),
                    })
                    .to_string(),
                );
            }
            let url = create_queue(&sqs, &queue.name, &attributes).await?;
            arns.insert(id.clone(), queue_arn(&sqs, &url, &queue.name).await?);
            urls.insert(id.clone(), url);
        }
    }
    Ok(urls)
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<String, BackendError> {
    let attributes: std::collections::HashMap<QueueAttributeName, String> = attributes
        .iter()
        .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
        .collect();
    let created = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.clone()))
        .send()
        .await;
    match created {
        Ok(out) => out
            .queue_url
            .ok_or_else(|| failed(name, "CreateQueue returned no URL")),
        Err(err) => {
            let err = err.into_service_error();
            if !err.is_queue_name_exists() {
                return Err(failed(name, err));
            }
            // It exists with other attributes: bring them in line.
            let url = sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| failed(name, e))?
                .queue_url
                .ok_or_else(|| failed(name, "GetQueueUrl returned no URL"))?;
            sqs.set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| failed(name, e))?;
            Ok(url)
        }
    }
}

async fn queue_arn(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: &str,
) -> Result<String, BackendError> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed(name, e))?;
    attrs
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| failed(name, "GetQueueAttributes returned no QueueArn"))
}

async fn provision_table(sdk: &SdkConfig, table: &TableSpec) -> Result<(), BackendError> {
    let name = &table.name;
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let mut request = dynamodb.create_table().table_name(name);
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| failed(name, e))?,
        );
    }
    let keys = std::iter::once((&table.hash_key, KeyType::Hash))
        .chain(table.range_key.as_ref().map(|k| (k, KeyType::Range)));
    for (attribute, kind) in keys {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(kind)
                .build()
                .map_err(|e| failed(name, e))?,
        );
    }
    request = match table.provisioned {
        None => request.billing_mode(BillingMode::PayPerRequest),
        Some((read, write)) => request
            .billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(|e| failed(name, e))?,
            ),
    };
    if let Err(err) = request.send().await {
        let err = err.into_service_error();
        if !err.is_resource_in_use_exception() {
            return Err(failed(name, err));
        }
    }
    until_ready(name, || {
        let dynamodb = dynamodb.clone();
        async move {
            let described = dynamodb
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| failed(name, e))?;
            let status = described.table.and_then(|t| t.table_status);
            Ok((status == Some(TableStatus::Active)).then_some(()))
        }
    })
    .await
}

/// Finds the template's existing resources without changing them (for tools run against a
/// live pipeline).
pub async fn lookup(sdk: &SdkConfig, spec: &PipelineSpec) -> Result<Provisioned, BackendError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut urls = BTreeMap::new();
    for (id, queue) in &spec.queues {
        let url = sqs
            .get_queue_url()
            .queue_name(&queue.name)
            .send()
            .await
            .map_err(|e| failed(&queue.name, e))?
            .queue_url
            .ok_or_else(|| failed(&queue.name, "GetQueueUrl returned no URL"))?;
        urls.insert(id.clone(), url);
    }
    found(sdk, spec, urls).await
}
