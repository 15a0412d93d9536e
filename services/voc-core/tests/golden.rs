//! Golden tests: tokens and tags of a fixed Japanese fixture (`tests/fixtures/golden.jsonl`).
//!
//! Reviewing a change: run `cargo insta test -p voc-core --review` (or `cargo test` and read the
//! `.snap.new` files next to the snapshots). Accept a new snapshot only when every changed token
//! or tag is an improvement you can explain; a tag change belongs in the same commit as the rule
//! or code change that caused it. CI never updates snapshots (insta fails on a mismatch when CI=true).

mod common;

use std::fmt::Write;

use voc_core::message::Limits;
use voc_core::parse_message;
use voc_core::tokenize::mark_negation;

#[test]
fn golden_tokens_and_tags() {
    let analyzer = common::analyzer();
    let fixture = include_str!("fixtures/golden.jsonl");
    for line in fixture.lines() {
        let msg =
            parse_message(line.as_bytes(), &Limits::default()).expect("fixture lines are valid");
        let analysis = analyzer.analyze(&msg).expect("analysis succeeds");
        let mut morphemes = analyzer
            .tokenizer()
            .tokenize(&analysis.customer_text)
            .expect("tokenize");
        mark_negation(&mut morphemes);
        let mut tokens = String::new();
        for m in &morphemes {
            let neg = if m.negated { " NEG" } else { "" };
            let _ = writeln!(
                tokens,
                "{}\t{},{},{}\t{}{neg}",
                m.surface, m.pos, m.pos1, m.pos2, m.base
            );
        }
        let tags = serde_json::to_string_pretty(&analysis.tags).expect("tags serialise");
        insta::assert_snapshot!(
            msg.interaction_id.clone(),
            format!(
                "text: {}\n\ntokens:\n{tokens}\ntags:\n{tags}\n",
                analysis.customer_text
            )
        );
    }
}
