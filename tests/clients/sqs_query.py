"""Every SQS operation the emulator serves, through boto3 speaking SQS's awsQuery protocol.

Run by the `sqs_query_client` test in tests/it/emulator/sqs/query.rs with an old botocore
(< 1.31, whose SQS model is still `"protocol": "query"`) against a fresh emulator:

    python tests/clients/sqs_query.py http://127.0.0.1:PORT

botocore checks the MD5 digests of what it sends and receives, and raises ClientError with
the awsQuery code of XML errors; any failed check exits non-zero.
"""

import sys

import boto3
import botocore
from botocore.exceptions import ClientError


def client(endpoint):
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    protocol = sqs.meta.service_model.protocol
    assert protocol == "query", f"botocore {botocore.__version__} speaks {protocol}, not query"
    return sqs


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} succeeded")


def main(endpoint):
    sqs = client(endpoint)

    # Queues: create with attributes and tags, look up, list, attributes, tags.
    url = sqs.create_queue(
        QueueName="query-q",
        Attributes={"VisibilityTimeout": "40", "DelaySeconds": "0"},
        tags={"team": "ingest"},
    )["QueueUrl"]
    assert url.endswith("/query-q"), url
    assert sqs.get_queue_url(QueueName="query-q")["QueueUrl"] == url
    dlq = sqs.create_queue(QueueName="query-dlq")["QueueUrl"]
    assert sorted(sqs.list_queues(QueueNamePrefix="query-")["QueueUrls"]) == sorted([url, dlq])
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="nothing-")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "40", attrs
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"5"}' % dlq_arn,
        },
    )
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "ingest"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "test"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}

    # Messages: attributes of every type (botocore checks the MD5s), receive, visibility.
    body = "line one\r\nline <two> & 'three'"
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "v"},
            "n": {"DataType": "Number", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01bin"},
        },
        MessageSystemAttributes={
            "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}
        },
    )
    assert sent["MD5OfMessageAttributes"], sent
    got = sqs.receive_message(
        QueueUrl=url,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
    )["Messages"]
    assert len(got) == 1, got
    message = got[0]
    assert message["Body"] == body, message
    assert message["MessageId"] == sent["MessageId"]
    assert message["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01bin", message
    assert message["MessageAttributes"]["n"]["StringValue"] == "42"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1", message
    assert message["Attributes"]["AWSTraceHeader"].startswith("Root=1-"), message
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert again[0]["MessageId"] == sent["MessageId"], again
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)

    # Batches, with one failed entry.
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "first"},
            {"Id": "b", "MessageBody": "second", "DelaySeconds": 0},
            {"Id": "bad", "MessageBody": "x", "DelaySeconds": 901},
        ],
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["a", "b"], batch
    assert [(f["Id"], f["SenderFault"]) for f in batch["Failed"]] == [("bad", True)], batch
    received = []
    while len(received) < 2:
        received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    entries = [{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[dict(e, VisibilityTimeout=30) for e in entries]
    )
    assert len(changed["Successful"]) == 2, changed
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert len(deleted["Successful"]) == 2 and "Failed" not in deleted, deleted
    # Dead-letter redrive: a message received more than maxReceiveCount times moves to the
    # DLQ, and a move task takes it back to its source.
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"1"}' % dlq_arn},
    )
    sqs.send_message(QueueUrl=url, MessageBody="dead")
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, WaitTimeSeconds=1)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    dlq_count = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert dlq_count["Attributes"]["ApproximateNumberOfMessages"] == "1", dlq_count
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert tasks and tasks[0]["Status"] in ("RUNNING", "COMPLETED"), tasks
    if tasks[0]["Status"] == "RUNNING":
        sqs.cancel_message_move_task(TaskHandle=handle)

    sqs.send_message(QueueUrl=url, MessageBody="purged")
    sqs.purge_queue(QueueUrl=url)

    # A FIFO queue: sequence numbers, deduplication, group attributes.
    fifo = sqs.create_queue(
        QueueName="query-q.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    first = sqs.send_message(QueueUrl=fifo, MessageBody="f1", MessageGroupId="g")
    sqs.send_message(QueueUrl=fifo, MessageBody="f1", MessageGroupId="g")  # a duplicate
    sqs.send_message(QueueUrl=fifo, MessageBody="f2", MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["f1", "f2"], got
    assert got[0]["Attributes"]["MessageGroupId"] == "g", got
    assert got[0]["Attributes"]["SequenceNumber"] == first["SequenceNumber"], got
    sqs.delete_queue(QueueUrl=fifo)

    # Errors: the awsQuery codes and statuses.
    assert error_code(sqs.get_queue_url, QueueName="missing") == ("AWS.SimpleQueueService.NonExistentQueue", 400)
    assert error_code(sqs.send_message, QueueUrl=url, MessageBody="x", DelaySeconds=901)[0] == "InvalidParameterValue"
    try:
        sqs.get_queue_url(QueueName="missing")
    except sqs.exceptions.QueueDoesNotExist:
        pass

    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq)
    print(f"OK: every SQS operation over query (botocore {botocore.__version__})")


if __name__ == "__main__":
    main(sys.argv[1])
