#!/usr/bin/env bash
# Kinesis through the AWS CLI (v1 from PyPI or v2), as a user would type it.
#
#     AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS=aws bash kinesis_awscli.sh
#
# AWS names the CLI (default `aws`). Exits non-zero naming the first difference.
set -euo pipefail
AWS="${AWS:-aws}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" AWS_PAGER=""
kinesis() { "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" kinesis "$@"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

stream="cli-client-$$-$RANDOM"
kinesis create-stream --stream-name "$stream" --shard-count 1
kinesis wait stream-exists --stream-name "$stream"
status=$(kinesis describe-stream-summary --stream-name "$stream" \
  --query StreamDescriptionSummary.StreamStatus --output text)
[ "$status" = ACTIVE ] || fail "status $status"

# The CLI v1 takes --data as text and v2 as base64 unless told otherwise; "aGVsbG8=" is read
# as base64 by v2 (hello) and as text by v1: either way GetRecords gives the bytes back.
version=$("$AWS" --version 2>&1)
case "$version" in
  aws-cli/1.*) data="hello" ;;
  *) data="aGVsbG8=" ;;
esac
shard=$(kinesis put-record --stream-name "$stream" --partition-key k --data "$data" \
  --query ShardId --output text)
[ "$shard" = shardId-000000000000 ] || fail "shard $shard"
iterator=$(kinesis get-shard-iterator --stream-name "$stream" --shard-id "$shard" \
  --shard-iterator-type TRIM_HORIZON --query ShardIterator --output text)
got=$(kinesis get-records --shard-iterator "$iterator" --query 'Records[0].Data' --output text)
# The CLI prints Data base64-encoded.
[ "$got" = aGVsbG8= ] || fail "data $got"

if err=$(kinesis describe-stream-summary --stream-name "$stream-missing" 2>&1); then
  fail "a missing stream was described"
fi
case "$err" in
  *ResourceNotFoundException*) ;;
  *) fail "error $err" ;;
esac
kinesis delete-stream --stream-name "$stream"
echo "kinesis_awscli.sh: ok"
