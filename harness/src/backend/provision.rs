//! Creates the pipeline's resources on a backend, idempotently: the stream, the queue with its
//! redrive policy to the DLQ, and the table. Safe to run against resources that already exist.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use aws_sdk_kinesis::types::StreamStatus;
use aws_sdk_sqs::types::QueueAttributeName;

use super::BackendError;

/// The names and shapes of the pipeline's resources.
#[derive(Debug, Clone)]
pub struct Resources {
    pub stream: String,
    pub shards: i32,
    pub queue: String,
    pub dlq: String,
    pub table: String,
    /// Receives before SQS moves a message to the DLQ.
    pub max_receive_count: u32,
    /// The queue's visibility timeout.
    pub visibility_timeout: Duration,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            stream: "events".into(),
            shards: 2,
            queue: "events".into(),
            dlq: "events-dlq".into(),
            table: "events".into(),
            max_receive_count: 3,
            visibility_timeout: Duration::from_secs(30),
        }
    }
}

impl Resources {
    /// The default resources under names no other run uses (tests sharing one backend).
    pub fn unique(tag: &str) -> Resources {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{tag}-{}-{n}", std::process::id());
        Resources {
            stream: format!("{prefix}-events"),
            queue: format!("{prefix}-events"),
            dlq: format!("{prefix}-events-dlq"),
            table: format!("{prefix}-events"),
            ..Resources::default()
        }
    }
}

/// What provisioning found or made.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub resources: Resources,
    pub stream_arn: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub dlq_url: String,
    pub dlq_arn: String,
}

fn failed(resource: &str, err: impl std::fmt::Display) -> BackendError {
    BackendError::Provision {
        resource: resource.to_owned(),
        message: err.to_string(),
    }
}

/// Creates whatever of `resources` does not exist yet and waits until it is usable.
pub async fn provision(
    sdk: &SdkConfig,
    resources: &Resources,
) -> Result<Provisioned, BackendError> {
    let (stream_arn, (dlq_url, dlq_arn, queue_url, queue_arn), ()) = tokio::try_join!(
        provision_stream(sdk, resources),
        provision_queues(sdk, resources),
        provision_table(sdk, resources),
    )?;
    Ok(Provisioned {
        resources: resources.clone(),
        stream_arn,
        queue_url,
        queue_arn,
        dlq_url,
        dlq_arn,
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

async fn provision_stream(sdk: &SdkConfig, r: &Resources) -> Result<String, BackendError> {
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    let created = kinesis
        .create_stream()
        .stream_name(&r.stream)
        .shard_count(r.shards)
        .send()
        .await;
    if let Err(err) = created {
        let err = err.into_service_error();
        if !err.is_resource_in_use_exception() {
            return Err(failed(
                &r.stream,
                aws_sdk_kinesis::error::DisplayErrorContext(err),
            ));
        }
    }
    until_ready(&r.stream, || {
        let kinesis = kinesis.clone();
        async move {
            let summary = kinesis
                .describe_stream_summary()
                .stream_name(&r.stream)
                .send()
                .await
                .map_err(|e| failed(&r.stream, aws_sdk_kinesis::error::DisplayErrorContext(e)))?;
            Ok(summary
                .stream_description_summary
                .filter(|d| d.stream_status == StreamStatus::Active)
                .map(|d| d.stream_arn))
        }
    })
    .await
}

async fn provision_queues(
    sdk: &SdkConfig,
    r: &Resources,
) -> Result<(String, String, String, String), BackendError> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq_url = create_queue(&sqs, &r.dlq, None).await?;
    let dlq_arn = queue_arn(&sqs, &dlq_url, &r.dlq).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": r.max_receive_count.to_string(),
    })
    .to_string();
    let queue_url = create_queue(
        &sqs,
        &r.queue,
        Some((redrive, r.visibility_timeout.as_secs().to_string())),
    )
    .await?;
    let queue_arn = queue_arn(&sqs, &queue_url, &r.queue).await?;
    Ok((dlq_url, dlq_arn, queue_url, queue_arn))
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive_and_visibility: Option<(String, String)>,
) -> Result<String, BackendError> {
    let mut request = sqs.create_queue().queue_name(name);
    if let Some((redrive, visibility)) = &redrive_and_visibility {
        request = request
            .attributes(QueueAttributeName::RedrivePolicy, redrive)
            .attributes(QueueAttributeName::VisibilityTimeout, visibility);
    }
    match request.send().await {
        Ok(out) => out
            .queue_url
            .ok_or_else(|| failed(name, "CreateQueue returned no URL")),
        Err(err) => {
            let err = err.into_service_error();
            if !err.is_queue_name_exists() {
                return Err(failed(name, aws_sdk_sqs::error::DisplayErrorContext(err)));
            }
            // It exists with other attributes: bring them in line.
            let url = sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| failed(name, aws_sdk_sqs::error::DisplayErrorContext(e)))?
                .queue_url
                .ok_or_else(|| failed(name, "GetQueueUrl returned no URL"))?;
            if let Some((redrive, visibility)) = redrive_and_visibility {
                sqs.set_queue_attributes()
                    .queue_url(&url)
                    .attributes(QueueAttributeName::RedrivePolicy, redrive)
                    .attributes(QueueAttributeName::VisibilityTimeout, visibility)
                    .send()
                    .await
                    .map_err(|e| failed(name, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            }
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
        .map_err(|e| failed(name, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    attrs
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| failed(name, "GetQueueAttributes returned no QueueArn"))
}

async fn provision_table(sdk: &SdkConfig, r: &Resources) -> Result<(), BackendError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let created = dynamodb
        .create_table()
        .table_name(&r.table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| failed(&r.table, e))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| failed(&r.table, e))?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    if let Err(err) = created {
        let err = err.into_service_error();
        if !err.is_resource_in_use_exception() {
            return Err(failed(
                &r.table,
                aws_sdk_dynamodb::error::DisplayErrorContext(err),
            ));
        }
    }
    until_ready(&r.table, || {
        let dynamodb = dynamodb.clone();
        async move {
            let table = dynamodb
                .describe_table()
                .table_name(&r.table)
                .send()
                .await
                .map_err(|e| failed(&r.table, aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            let status = table.table.and_then(|t| t.table_status);
            Ok((status == Some(TableStatus::Active)).then_some(()))
        }
    })
    .await
}

/// Finds existing resources without changing them (for tools run against a live pipeline).
pub async fn lookup(sdk: &SdkConfig, r: &Resources) -> Result<Provisioned, BackendError> {
    let kinesis = aws_sdk_kinesis::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let stream_arn = kinesis
        .describe_stream_summary()
        .stream_name(&r.stream)
        .send()
        .await
        .map_err(|e| failed(&r.stream, aws_sdk_kinesis::error::DisplayErrorContext(e)))?
        .stream_description_summary
        .map(|d| d.stream_arn)
        .unwrap_or_default();
    let url = |name: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| failed(&name, aws_sdk_sqs::error::DisplayErrorContext(e)))?
                .queue_url
                .ok_or_else(|| failed(&name, "GetQueueUrl returned no URL"))
        }
    };
    let queue_url = url(r.queue.clone()).await?;
    let dlq_url = url(r.dlq.clone()).await?;
    Ok(Provisioned {
        resources: r.clone(),
        stream_arn,
        queue_arn: queue_arn(&sqs, &queue_url, &r.queue).await?,
        dlq_arn: queue_arn(&sqs, &dlq_url, &r.dlq).await?,
        queue_url,
        dlq_url,
    })
}
