"""Kinesis over CBOR as a Python user would speak it: cbor2 bodies, SigV4-signed by botocore.

Speaks `application/x-amz-cbor-1.1` the way the AWS SDK for Java does (aws-sdk-java-v2
SdkCborGenerator): `Data` as a CBOR byte string, timestamps as CBOR tag 1 around integer epoch
milliseconds, in requests and in answers. Run against any endpoint:

    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python kinesis_cbor.py

Needs `pip install botocore cbor2`. Exits non-zero naming the first difference.
"""

import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import cbor2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENDPOINT = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
CREDENTIALS = Credentials(
    os.environ.get("AWS_ACCESS_KEY_ID", "test"), os.environ.get("AWS_SECRET_ACCESS_KEY", "test")
)


class Millis(int):
    """A tag-1 timestamp as AWS's CBOR sends it: epoch milliseconds."""


def decode_millis(value, *_):
    # AWS's tag 1 holds milliseconds, not RFC 8949's seconds: keep the number as it is
    # (cbor2 6 calls a semantic decoder with the tagged value and its `immutable` flag).
    return Millis(value)


def call(op, body):
    """Sends one signed CBOR request; returns (status, content type, decoded body)."""
    data = cbor2.dumps(body)
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=data,
        headers={
            "Content-Type": "application/x-amz-cbor-1.1",
            "X-Amz-Target": "Kinesis_20131202." + op,
        },
    )
    SigV4Auth(CREDENTIALS, "kinesis", REGION).add_auth(request)
    http = urllib.request.Request(
        ENDPOINT + "/", data=data, headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    answer = cbor2.loads(raw, semantic_decoders={1: decode_millis})
    return status, headers.get("Content-Type"), answer


def ok(op, body):
    status, content_type, answer = call(op, body)
    check(status == 200, f"{op}: status {status}: {answer}")
    check(content_type == "application/x-amz-cbor-1.1", f"{op}: content type {content_type}")
    return answer


def check(condition, what):
    if not condition:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


def now_ms():
    return int(time.time() * 1000)


def main():
    stream = "cbor-client-" + uuid.uuid4().hex[:8]
    before = now_ms()
    ok("CreateStream", {"StreamName": stream, "ShardCount": 1})
    deadline = time.monotonic() + 30
    while True:
        summary = ok("DescribeStreamSummary", {"StreamName": stream})["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            break
        check(time.monotonic() < deadline, f"{stream} not ACTIVE within 30 s")
        time.sleep(0.05)
    created = summary["StreamCreationTimestamp"]
    check(isinstance(created, Millis), f"StreamCreationTimestamp {created!r} is not tag 1")
    check(abs(created - before) < 60_000, f"StreamCreationTimestamp {created} is not epoch ms")

    every_byte = bytes(range(256))
    put = ok("PutRecord", {"StreamName": stream, "PartitionKey": "k", "Data": every_byte})
    check(put["ShardId"] == "shardId-000000000000", f"PutRecord: {put}")
    puts = ok(
        "PutRecords",
        {
            "StreamName": stream,
            "Records": [
                {"PartitionKey": "a", "Data": b"\x00"},
                {"PartitionKey": "b", "Data": "é".encode()},
            ],
        },
    )
    check(puts["FailedRecordCount"] == 0, f"PutRecords: {puts}")
    after = now_ms()

    iterator = ok(
        "GetShardIterator",
        {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"},
    )["ShardIterator"]
    records = ok("GetRecords", {"ShardIterator": iterator})["Records"]
    data = [r["Data"] for r in records]
    check(data == [every_byte, b"\x00", "é".encode()], f"GetRecords data {data!r}")
    for record in records:
        arrived = record["ApproximateArrivalTimestamp"]
        check(isinstance(arrived, Millis), f"ApproximateArrivalTimestamp {arrived!r} is not tag 1")
        check(before - 1000 <= arrived <= after + 1000, f"arrived {arrived}, put in {before}..{after}")

    # AT_TIMESTAMP with a tag-1 millisecond timestamp: the first record arrived at it.
    first = records[0]["ApproximateArrivalTimestamp"]
    at = ok(
        "GetShardIterator",
        {
            "StreamName": stream,
            "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_TIMESTAMP",
            "Timestamp": cbor2.CBORTag(1, int(first)),
        },
    )["ShardIterator"]
    again = ok("GetRecords", {"ShardIterator": at})["Records"]
    check([r["Data"] for r in again] == data, f"AT_TIMESTAMP read {again!r}")

    status, content_type, error = call("DescribeStreamSummary", {"StreamName": stream + "-missing"})
    check(status == 400, f"missing stream: status {status}")
    check(content_type == "application/x-amz-cbor-1.1", f"error content type {content_type}")
    check(error.get("__type") == "ResourceNotFoundException", f"error body {error}")
    check("not found" in error.get("message", ""), f"error body {error}")

    ok("DeleteStream", {"StreamName": stream})
    print("kinesis_cbor.py: ok")


if __name__ == "__main__":
    main()
