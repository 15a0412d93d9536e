//! voc-stream: the Kafka side of voc.
//!
//! - [`worker`]: the streaming worker, source → analysis pool → sink, with backpressure;
//! - [`offsets`]: per-partition offset tracking (offsets move forward only after acknowledgement);
//! - [`context`]: rebalance and statistics callbacks of the consumer;
//! - [`dlq`]: dead letters with the reason and original bytes;
//! - [`produce`]: publishing JSONL to the input topic (`voc produce`);
//! - [`metrics`], [`http`]: Prometheus metrics and the `/metrics` + `/health` endpoint;
//! - [`config`]: worker settings and librdkafka configuration.

pub mod config;
pub mod context;
pub mod dlq;
pub mod http;
pub mod metrics;
pub mod offsets;
pub mod produce;
pub mod worker;

pub use config::WorkerConfig;
pub use metrics::Metrics;
pub use worker::{WorkerReport, run_worker};
