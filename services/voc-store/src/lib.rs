//! voc-store: everything ClickHouse.
//!
//! - [`client`]: connecting, with the server version detected once (old servers need the row
//!   validation of the `clickhouse` crate turned off);
//! - [`migrate`]: the numbered SQL migrations of `schemas/clickhouse/`, templated by server
//!   version (LowCardinality, TTL) and recorded in a ledger;
//! - [`rows`]: a domain analysis → an `interactions` row;
//! - [`refusal`]: ClickHouse errors no retry fixes, with what to do about them;
//! - [`writer`]: batched inserts retried with capped exponential delays (backon), never dropping a batch, stopping at errors no retry fixes;
//! - [`history`]: stored interactions read back for a re-tag;
//! - [`aggregates`]: rebuilding aggregate hours from `interactions FINAL` after a re-tag;
//! - [`closing`]: exact counts for the days no longer open to late messages, so the aggregates
//!   grow with their groups, not with the interactions;
//! - [`levels`], [`days`], [`months`]: keyword counts of closed days rolled up by day and by
//!   complete month, for the keyword panels over long ranges;
//! - [`compaction`]: past months of `interactions` merged into one part each, so `FINAL` reads
//!   them without collapsing;
//! - [`cluster`]: the same schema on a cluster of shards and replicas (`voc migrate --cluster`);
//! - [`ddl_queue`]: waiting for every server of a cluster to run a queued `ON CLUSTER` statement;
//! - [`retag`]: the re-tag engine (chunks of hours, checkpoint, pace, write, rebuild).

pub mod aggregates;
pub mod client;
pub mod closing;
pub mod cluster;
pub mod compaction;
pub mod days;
pub mod ddl_queue;
pub mod history;
pub mod levels;
pub mod migrate;
pub mod months;
pub mod refusal;
pub mod repeats;
pub mod retag;
pub mod rows;
pub mod writer;

pub use client::{ServerVersion, Store, StoreConfig, StoreError, is_plain_name};
pub use rows::InteractionRow;
