//! voc-demo: the whole product on one machine.
//!
//! - [`grafana`]: the dashboards' panel SQL as Grafana sends it (macros and variables expanded);
//! - [`corpus`]: a seeded, realistic sample corpus with recurring problems and an emerging burst;
//! - [`local_clickhouse`]: a private ClickHouse server from Debian's package;
//! - [`loopback`]: free ports, HTTP GET, metrics scraping and `voc worker` processes, shared by
//!   the demo, `voc bench e2e` and the end-to-end tests;
//! - [`team_hook`]: a stand-in for the owning team's chat channel (a webhook receiver);
//! - [`run`]: the demo itself: broker, ClickHouse, migrate, produce, workers, flagger, summary.

pub mod corpus;
pub mod grafana;
pub mod local_clickhouse;
pub mod loopback;
pub mod run;
pub mod team_hook;

pub use run::{DemoOptions, DemoSummary, run_demo};
