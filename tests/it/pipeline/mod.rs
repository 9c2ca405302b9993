//! The pipeline's handlers and ingest API against scripted and emulated AWS.

mod forward;
mod ingest;
mod scripted;
mod store;
