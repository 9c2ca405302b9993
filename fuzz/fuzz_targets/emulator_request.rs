//! The emulator's request handling: each input is up to eight requests (any `X-Amz-Target`,
//! headers and body; see the crate docs for the text format) answered in order by one fresh
//! [`Emulator`] through `Emulator::handle`, so a CreateTable/CreateQueue/CreateStream seed
//! lets later requests reach the item, message and record paths of all three services.
//!
//! Checked: no panic, no hang, and every answer is an HTTP response a client can read: a 2xx
//! with a body, or a 4xx/5xx carrying the AWS error code in `x-amzn-ErrorType` or its body.

#![no_main]

use std::cell::RefCell;

use bytes::Bytes;
use emulator::{Emulator, EmulatorConfig};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new(kinesis_pipeline_fuzz::runtime());
}

fuzz_target!(|data: &[u8]| {
    let requests = kinesis_pipeline_fuzz::requests(data);
    RUNTIME.with_borrow(|rt| {
        rt.block_on(async {
            let emulator = Emulator::new(EmulatorConfig::default());
            for text in requests {
                let Some(request) = build(&text) else {
                    continue;
                };
                let response = emulator.handle(request).await;
                let status = response.status();
                assert!(
                    status.is_success() || status.is_client_error() || status.is_server_error(),
                    "status {status} for {text:?}"
                );
            }
        })
    });
});

/// The HTTP request the text describes, as an SDK would send it; `None` when the text names
/// a header `http` cannot carry (no client could send it either).
fn build(text: &kinesis_pipeline_fuzz::TextRequest<'_>) -> Option<http::Request<Bytes>> {
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri("http://localhost:4566/")
        .header(
            "x-amz-target",
            http::HeaderValue::from_bytes(text.first_line).ok()?,
        );
    for (name, value) in &text.headers {
        let name = http::HeaderName::from_bytes(name).ok()?;
        let value = http::HeaderValue::from_bytes(value).ok()?;
        builder = builder.header(name, value);
    }
    builder.body(Bytes::copy_from_slice(text.body)).ok()
}
