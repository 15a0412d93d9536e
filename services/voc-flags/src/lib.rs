//! voc-flags: recurring and emerging issues for support leads.
//!
//! - [`config`]: the `[flags]` settings and their defaults;
//! - [`detect`]: pure detectors (spike, emerging terms) over counts; no IO, no clock;
//! - [`filter`]: which flags a list shows (the CLI's and the console's one filter), pure;
//! - [`digest`]: the weekly digest per owning team (`[teams]`), pure;
//! - [`faq`]: FAQ candidates from question themes, ranked (pure);
//! - [`faq_store`]: the questions per theme from ClickHouse, for FAQ candidates;
//! - [`themes`]: discovered themes, pure: keyword co-occurrence communities, stable ids;
//! - [`theme_store`]: the themes' window in, `themes` and `theme_members` out;
//! - [`queries`]: the SQL of the detection queries, pure (also timed by `voc bench scale`);
//! - [`store`]: the counts they need from ClickHouse, and the `flags` table;
//! - [`metrics`]: the flagger's runs, failures and flags raised, and its health;
//! - [`run`]: one flagger run with an injectable clock, and notifications of new flags.

pub mod config;
pub mod detect;
pub mod digest;
pub mod faq;
pub mod faq_store;
pub mod filter;
pub mod metrics;
pub mod queries;
pub mod run;
pub mod store;
pub mod theme_store;
pub mod themes;

pub use config::FlagConfig;
pub use detect::FlagKind;
pub use run::{Notifier, RunReport, run_once};
pub use store::{Flag, FlagStatus};
