//! The pipeline's handlers and ingest API against scripted and emulated AWS.

mod forward;
mod scripted;
mod store;
