//! voc-store: everything ClickHouse.
//!
//! - [`client`]: connecting, with the server version detected once (old servers need the row
//!   validation of the `clickhouse` crate turned off);
//! - [`migrate`]: the numbered SQL migrations of `schemas/clickhouse/`, templated by server
//!   version (LowCardinality, TTL) and recorded in a ledger;
//! - [`rows`]: a domain analysis → an `interactions` row;
//! - [`writer`]: batched inserts with capped exponential backoff, never dropping a batch.

pub mod client;
pub mod migrate;
pub mod rows;
pub mod writer;

pub use client::{ServerVersion, Store, StoreConfig, StoreError};
pub use rows::InteractionRow;
