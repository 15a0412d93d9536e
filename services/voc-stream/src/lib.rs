//! voc-stream: the Kafka side of voc.
//!
//! - [`pipeline`]: the streaming worker, one file per stage (source → analysis → sink and dead
//!   letters, offsets owned by one task), with backpressure;
//! - [`produce`]: publishing JSONL to the input topic (`voc produce`);
//! - [`metrics`], [`http`]: Prometheus metrics and the `/metrics` + `/health` endpoint;
//! - [`config`]: worker settings and librdkafka configuration.

pub mod config;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod produce;

pub use config::WorkerConfig;
pub use metrics::Metrics;
pub use pipeline::{WorkerError, WorkerReport, run_worker};
