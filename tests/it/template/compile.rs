//! Reading and checking templates: the project's compiles into the pipeline it describes; what
//! the harness cannot simulate is refused by name unless accepted; values AWS refuses are
//! refused with AWS's rule.

use std::time::Duration;

use harness::esm::StartingPosition;
use harness::template::spec::{Binary, CompileOptions, EventSource};
use harness::template::{Acceptance, PipelineSpec, TemplateError};

use super::{edited, parse, project_text, with_resources};

fn compile(text: &str) -> Result<PipelineSpec, TemplateError> {
    compile_with(text, Acceptance::default())
}

fn compile_with(text: &str, accept: Acceptance) -> Result<PipelineSpec, TemplateError> {
    PipelineSpec::compile(
        &parse(text),
        &CompileOptions {
            accept,
            region: "us-east-1".into(),
            account: "000000000000".into(),
            ..CompileOptions::default()
        },
    )
}

fn refused(text: &str) -> String {
    compile(text)
        .expect_err("the template is refused")
        .to_string()
}

#[test]
fn the_project_template_compiles_into_the_pipeline_it_describes() {
    let spec = compile(&project_text()).expect("template.yaml compiles");
    assert!(
        spec.accepted.is_empty(),
        "nothing ignored: {:?}",
        spec.accepted
    );
    // Names: none given, so the logical ids.
    assert_eq!(spec.streams["EventsStream"].name, "EventsStream");
    assert_eq!(spec.streams["EventsStream"].shards, Some(2));
    let queue = &spec.queues["EventsQueue"];
    assert_eq!(queue.visibility_timeout, Duration::from_secs(30));
    let redrive = queue.redrive.as_ref().expect("a redrive policy");
    assert_eq!(
        (redrive.dead_letter.as_str(), redrive.max_receive_count),
        ("EventsDlq", 3)
    );
    let table = &spec.tables["EventsTable"];
    assert_eq!(
        (table.hash_key.as_str(), table.provisioned),
        ("id", None),
        "on-demand, keyed by id"
    );
    assert_eq!(table.attributes, [("id".to_owned(), "S".to_owned())]);

    let forward = &spec.functions["ForwardFunction"];
    assert_eq!(forward.binary, Some(Binary::Forward));
    assert_eq!(forward.timeout, Duration::from_secs(30));
    let EventSource::Kinesis(k) = &forward.events[0].source else {
        panic!("ForwardFunction reads the stream")
    };
    assert_eq!(k.starting_position, StartingPosition::TrimHorizon);
    assert_eq!(
        (
            k.batch_size,
            k.maximum_retry_attempts,
            k.parallelization_factor
        ),
        (100, Some(10), 1)
    );
    assert_eq!(k.maximum_record_age, Some(Duration::from_secs(86_400)));
    assert!(k.report_batch_item_failures && !k.bisect_batch_on_function_error);
    assert_eq!(k.on_failure.as_deref(), Some("EventsDlq"));

    let store = &spec.functions["StoreFunction"];
    let EventSource::Sqs(s) = &store.events[0].source else {
        panic!("StoreFunction reads the queue")
    };
    assert_eq!(
        (
            s.batch_size,
            s.maximum_concurrency,
            s.report_batch_item_failures
        ),
        (10, Some(5), true)
    );
    assert_eq!(spec.api.stage, "prod");
    assert_eq!(spec.api.keys, [pipeline::config::SEED_API_KEY]);
    assert!(spec.api_key_required("IngestFunction"));
    let throttle = spec.api.throttle.expect("the usage plan throttles");
    assert_eq!((throttle.rate_limit, throttle.burst_limit), (10000.0, 5000));
}

#[test]
fn a_property_the_harness_does_not_simulate_is_refused_by_logical_id_and_property() {
    let text = edited(
        "      RetentionPeriodHours: 24\n",
        "      RetentionPeriodHours: 24\n      StreamEncryption:\n        EncryptionType: KMS\n        KeyId: alias/aws/kinesis\n",
    );
    let err = compile(&text).expect_err("refused");
    let TemplateError::Unsupported { findings, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(findings.len(), 1, "{err}");
    assert_eq!(findings[0].key(), "EventsStream.StreamEncryption");
    assert!(
        err.to_string()
            .contains("EventsStream: StreamEncryption is not simulated"),
        "{err}"
    );
    assert!(err.to_string().contains("--accept-unsupported"), "{err}");

    // Accepted: it runs, and says what it ignored.
    let spec =
        compile_with(&text, Acceptance::new(["EventsStream.StreamEncryption"])).expect("accepted");
    assert_eq!(spec.accepted, findings.clone());
}

#[test]
fn resource_types_sections_intrinsics_and_stray_variables_are_refused_by_name() {
    let topic = refused(&with_resources(
        "  Alarms:\n    Type: AWS::SNS::Topic\n    Properties: {}\n",
    ));
    assert!(
        topic.contains("Alarms: Type AWS::SNS::Topic is not emulated"),
        "{topic}"
    );

    let conditions = refused(&format!(
        "{}\nConditions:\n  IsProd: true\n",
        project_text()
    ));
    assert!(conditions.contains("Template: Conditions"), "{conditions}");

    let intrinsic = harness::template::Template::parse(
        &edited("MAX_ATTEMPTS: \"3\"", "MAX_ATTEMPTS: !Select [0, [\"3\"]]"),
        "t.yaml",
    )
    .expect_err("refused")
    .to_string();
    assert!(
        intrinsic.contains("ForwardFunction.Properties.Environment.Variables.MAX_ATTEMPTS"),
        "{intrinsic}"
    );
    assert!(intrinsic.contains("Select is not supported"), "{intrinsic}");

    let stray = refused(&edited(
        "          MAX_ATTEMPTS: \"3\"\n",
        "          MAX_ATTEMPS: \"3\"\n",
    ));
    assert!(
        stray.contains(
            "ForwardFunction: Environment.Variables.MAX_ATTEMPS is not read by the `forward` binary"
        ),
        "{stray}"
    );
}

/// Each value below is one AWS refuses, with the rule it gives (Lambda's
/// CreateEventSourceMapping, SQS's SetQueueAttributes, CloudFormation's schemas).
#[test]
fn values_aws_refuses_are_refused_with_awss_rule() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "            BatchSize: 100\n",
            "            BatchSize: 0\n",
            "BatchSize: 0 is not valid: AWS accepts 1 to 10000",
        ),
        (
            "        maxReceiveCount: 3\n",
            "        maxReceiveCount: 0\n",
            "RedrivePolicy.maxReceiveCount",
        ),
        (
            "      VisibilityTimeout: 30\n",
            "      VisibilityTimeout: 4\n",
            "Queue visibility timeout: 4 seconds is less than Function timeout: 5 seconds",
        ),
        (
            "            StartingPosition: TRIM_HORIZON\n",
            "",
            "Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.",
        ),
        (
            "            MaximumRecordAgeInSeconds: 86400\n",
            "            MaximumRecordAgeInSeconds: 30\n",
            "30 is not valid: -1 (no limit) or 60 to 604800",
        ),
        (
            "            BatchSize: 10\n",
            "            BatchSize: 20\n",
            "requires MaximumBatchingWindowInSeconds of at least 1",
        ),
        (
            "              MaximumConcurrency: 5\n",
            "              MaximumConcurrency: 1\n",
            "1 is not valid: AWS accepts 2 to 1000",
        ),
        (
            "                Type: SQS\n",
            "                Type: SNS\n",
            "an on-failure destination of type SNS is not emulated",
        ),
        (
            "      Timeout: 5\n",
            "      Timeout: 0\n",
            "Timeout: 0 is not valid",
        ),
        (
            "      ShardCount: !Ref ShardCount\n",
            "      ShardCount: !Ref ShardCount\n      StreamModeDetails: {StreamMode: ON_DEMAND}\n",
            "ShardCount cannot be set for an ON_DEMAND stream",
        ),
    ];
    for (find, replace, expected) in cases {
        let err = refused(&edited(find, replace));
        assert!(err.contains(expected), "{replace:?}: {err}");
    }
    // Kinesis takes a batch of 100 with no window; only SQS needs one above 10.
    compile(&project_text()).expect("BatchSize 100, window 0 on Kinesis");
}

#[test]
fn a_second_mapping_for_one_function_and_source_is_a_resource_conflict() {
    let err = refused(&edited(
        "      Events:\n        Queue:\n",
        "      Events:\n        Again:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt EventsQueue.Arn\n            FunctionResponseTypes: [ReportBatchItemFailures]\n        Queue:\n",
    ));
    assert!(err.contains("ResourceConflictException"), "{err}");
}

#[test]
fn parameters_are_checked_against_their_constraints() {
    let err = PipelineSpec::compile(
        &parse(&project_text()),
        &CompileOptions {
            parameters: [("ShardCount".to_owned(), "0".to_owned())].into(),
            ..CompileOptions::default()
        },
    )
    .expect_err("below MinValue")
    .to_string();
    assert!(
        err.contains("ShardCount") && err.contains("MinValue"),
        "{err}"
    );
    let spec = PipelineSpec::compile(
        &parse(&project_text()),
        &CompileOptions {
            parameters: [("ShardCount".to_owned(), "4".to_owned())].into(),
            ..CompileOptions::default()
        },
    )
    .expect("a valid shard count");
    assert_eq!(spec.streams["EventsStream"].shards, Some(4));
}
