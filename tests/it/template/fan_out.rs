//! Several consumers of one stream, the seed's reason for Kinesis over SQS: a second function
//! on `EventsStream` gets a mapping of its own, sees every record, and keeps its own
//! checkpoints, retries and failures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;
use harness::Harness;
use serde_json::json;

use super::{options, with_resources};

/// A function with no project binary (its handler is registered by the test) reading the
/// events stream, with the read permissions its mapping needs.
pub const AUDIT_FUNCTION: &str = "
  AuditFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Runtime: provided.al2023
      CodeUri: ./audit
      Timeout: 10
      Policies:
        - Statement:
            - Effect: Allow
              Action: [kinesis:DescribeStream, kinesis:DescribeStreamSummary, kinesis:GetRecords, kinesis:GetShardIterator, kinesis:ListShards, kinesis:ListStreams]
              Resource: '*'
      Events:
        Audit:
          Type: Kinesis
          Properties:
            Stream: !GetAtt EventsStream.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 5
            MaximumRetryAttempts: 2
";

#[tokio::test(start_paused = true)]
async fn a_second_function_on_the_stream_sees_every_record_with_its_own_retries() {
    crate::require!(PausedClock);
    // The audit function fails its first invocation that holds f-3, then succeeds.
    let deliveries = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let failed_once = Arc::new(Mutex::new(false));
    let (seen, failed) = (deliveries.clone(), failed_once.clone());
    let handler = Arc::new(move |event: KinesisEvent| {
        let ids: Vec<String> = event
            .records
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_slice(&r.kinesis.data.0).unwrap();
                v["id"].as_str().unwrap().to_owned()
            })
            .collect();
        for id in &ids {
            *seen.lock().unwrap().entry(id.clone()).or_default() += 1;
        }
        let fail = ids.iter().any(|id| id == "f-3")
            && !std::mem::replace(&mut *failed.lock().unwrap(), true);
        async move {
            if fail {
                Err("audit sink unavailable".to_owned())
            } else {
                Ok(KinesisEventResponse::default())
            }
        }
    });
    let o = options(&with_resources(AUDIT_FUNCTION)).kinesis_handler("AuditFunction", handler);
    let h = Harness::start_with(o).await.expect("starts");
    for n in 1..=10 {
        let body = json!({"stream": "default", "id": format!("f-{n}"), "payload": {"n": n}});
        assert_eq!(h.ingest_json(body).await.unwrap().status, 200);
    }
    h.drain().await.unwrap();

    // The pipeline's own consumer stored everything, untouched by the audit failure.
    assert_eq!(h.table_ids().await.unwrap().len(), 10);
    assert!(h.dlq_ids().await.unwrap().is_empty());
    let seen = deliveries.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        10,
        "the audit function saw every record: {seen:?}"
    );
    assert_eq!(
        seen["f-3"], 2,
        "f-3's batch was retried for the audit function only"
    );

    // A graceful restart of the audit consumer resumes from its own checkpoints.
    h.restart("AuditFunction", false).await.unwrap();
    h.drain().await.unwrap();
    assert_eq!(
        deliveries.lock().unwrap().clone(),
        seen,
        "nothing delivered again"
    );
}

#[tokio::test]
async fn a_function_with_neither_binary_nor_registered_handler_is_refused_by_name() {
    crate::require!(); // Refused before anything runs: any backend.
    let err = Harness::start_with(options(&with_resources(AUDIT_FUNCTION)))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("AuditFunction: no handler to run"), "{err}");
}
