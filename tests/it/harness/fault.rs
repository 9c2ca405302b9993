//! Fault injection through the SDK HttpClient layer.
