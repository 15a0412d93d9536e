//! voc demo.
pub mod corpus;
pub mod local_clickhouse;
