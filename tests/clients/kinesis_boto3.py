"""Kinesis through boto3 (awsJson1_1), as a Python user would call it.

    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python kinesis_boto3.py

Needs `pip install boto3`. Exits non-zero naming the first difference.
"""

import datetime
import os
import sys
import uuid

import boto3
from botocore.config import Config


def check(condition, what):
    if not condition:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


def main():
    client = boto3.client(
        "kinesis",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=Config(retries={"max_attempts": 1}),
    )
    stream = "boto3-client-" + uuid.uuid4().hex[:8]
    before = datetime.datetime.now(datetime.timezone.utc)
    client.create_stream(StreamName=stream, ShardCount=2)
    client.get_waiter("stream_exists").wait(
        StreamName=stream, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    summary = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    check(summary["OpenShardCount"] == 2, f"summary {summary}")
    created = summary["StreamCreationTimestamp"]
    check(abs((created - before).total_seconds()) < 60, f"created {created}, now {before}")

    every_byte = bytes(range(256))
    put = client.put_record(StreamName=stream, PartitionKey="k", Data=every_byte)
    puts = client.put_records(
        StreamName=stream,
        Records=[{"PartitionKey": "k", "Data": b"\x00"}, {"PartitionKey": "k", "Data": b"two"}],
    )
    check(puts["FailedRecordCount"] == 0, f"put_records {puts}")
    check(all(r["ShardId"] == put["ShardId"] for r in puts["Records"]), f"one key, one shard: {puts}")

    iterator = client.get_shard_iterator(
        StreamName=stream, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = client.get_records(ShardIterator=iterator)["Records"]
    check([r["Data"] for r in records] == [every_byte, b"\x00", b"two"], f"records {records}")
    check(records[0]["SequenceNumber"] == put["SequenceNumber"], f"records {records}")
    for record in records:
        arrived = record["ApproximateArrivalTimestamp"]
        check(abs((arrived - before).total_seconds()) < 60, f"arrived {arrived}, now {before}")

    try:
        client.describe_stream_summary(StreamName=stream + "-missing")
        check(False, "a missing stream was described")
    except client.exceptions.ResourceNotFoundException as error:
        check("not found" in str(error), f"error {error}")

    client.delete_stream(StreamName=stream)
    print("kinesis_boto3.py: ok")


if __name__ == "__main__":
    main()
