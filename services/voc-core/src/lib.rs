//! voc-core: the pure analysis of one interaction, shared by the worker, the CLI and benchmarks.
//!
//! Data flow of [`analyze::Analyzer::analyze`]:
//! ```text
//! message (bytes) ─▶ message::parse_message ─▶ customer turns ─▶ normalize ─▶ mask
//!   ─▶ tokenize (lindera, IPADIC) ─▶ rules::matcher (atoms → rules) ─▶ sentiment ─▶ decide ─▶ Tags
//!                                                                 └▶ keywords
//! ```
//! - [`message`]: the interaction format (docs/CONTRACT.md §1) and its validation;
//! - [`normalize`]: NFKC, marks, whitespace, fillers and あいづち;
//! - [`mask`]: personal data → typed placeholders (patterns, shapes, names), the one owner of
//!   every masking rule;
//! - [`dictionary`]: building and loading IPADIC (the only file-system code here);
//! - [`tokenize`]: lindera morphemes and negation scope;
//! - [`keywords`]: compound nouns and base forms;
//! - [`rules`]: the taxonomy rules file, compiled and matched;
//! - [`sentiment`]: lexicon polarity with negation, intensifiers and contrast;
//! - [`model`]: the learned second opinion (character n-gram logistic regression) that adds
//!   what the rules missed;
//! - [`analyze`]: the decision and the `voc tag` output;
//! - [`labels`]: the closed label sets (voice type, sentiment); [`closed`]: how closed sets are
//!   declared (enums that read and write their wire names);
//! - [`eval`]: precision, recall and F1 against labeled data;
//! - [`pii_eval`]: masking leaks and false positives against annotated personal data;
//! - [`retag`]: what re-tagging stored interactions with new rules changes.

pub mod analyze;
pub mod closed;
mod decide;
pub mod dictionary;
pub mod eval;
pub mod keywords;
pub mod labels;
pub mod mask;
pub mod message;
pub mod model;
pub mod normalize;
mod own_mishap;
pub mod pii_eval;
pub mod retag;
pub mod rules;
mod sentiment;
pub mod tokenize;

pub use analyze::{Analysis, Analyzer, Evidence, Tags};
pub use labels::{Sentiment, VoiceType};
pub use message::{Interaction, Limits, MessageError, RejectReason, parse_message};
pub use rules::RuleSet;
