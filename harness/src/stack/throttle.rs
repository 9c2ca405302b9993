//! The usage plan's throttle in front of the ingest API, as API Gateway applies it: a token
//! bucket of `BurstLimit` tokens refilled at `RateLimit` per second; a request that finds it
//! empty gets `429 {"message":"Too Many Requests"}` and never reaches the function.
//!
//! Written here rather than taken from a rate-limiting crate: the bucket must run on tokio's
//! clock, so paused-clock tests and scenarios see the same throttling as real time.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::template::spec::Throttle;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket shared by every request of one harness.
#[derive(Debug, Clone)]
pub struct UsagePlanThrottle {
    limits: Throttle,
    bucket: Arc<Mutex<Bucket>>,
}

impl UsagePlanThrottle {
    pub fn new(limits: Throttle) -> Self {
        UsagePlanThrottle {
            limits,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: f64::from(limits.burst_limit),
                last: Instant::now(),
            })),
        }
    }

    /// Takes a token if there is one.
    pub fn try_acquire(&self) -> bool {
        let now = Instant::now();
        // The lock is held for a few arithmetic operations, never across an await.
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.limits.rate_limit;
        bucket.tokens = (bucket.tokens + refill).min(f64::from(self.limits.burst_limit));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The axum middleware.
    pub async fn middleware(
        State(throttle): State<UsagePlanThrottle>,
        request: Request,
        next: Next,
    ) -> Response {
        if throttle.try_acquire() {
            next.run(request).await
        } else {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("content-type", "application/json")],
                r#"{"message":"Too Many Requests"}"#,
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_steady_rate() {
        let t = UsagePlanThrottle::new(Throttle {
            rate_limit: 10.0,
            burst_limit: 3,
        });
        assert!((0..3).all(|_| t.try_acquire()), "the burst");
        assert!(!t.try_acquire(), "empty");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(t.try_acquire(), "one token per 100 ms at 10/s");
        assert!(!t.try_acquire());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            (0..10).filter(|_| t.try_acquire()).count(),
            3,
            "capped at the burst"
        );
    }
}
