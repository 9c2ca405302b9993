//! The forward handler's retry and DLQ logic against scripted SQS answers (wiremock).
