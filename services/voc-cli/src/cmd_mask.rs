//! `voc mask report`: what the masker does to a set of interactions, and on lines annotated with
//! their personal data (`"pii": [...]`), what it lets through and what it masks needlessly.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use voc_core::pii_eval::{self, Annotation, MaskReport, MaskedSpan};
use voc_core::{Analyzer, Limits, parse_message};

use crate::jsonl::{self, Line};

/// Audits every line of `file`; with `reveal` prints every leak and masked span with its
/// original text. Lines that are not interactions are counted and named on stderr. Returns the
/// report.
pub fn report(
    analyzer: &Analyzer,
    limits: &Limits,
    file: &Path,
    reveal: bool,
    out: &mut impl Write,
) -> anyhow::Result<MaskReport> {
    let mut report = MaskReport::default();
    let reader = jsonl::open(Some(file))?;
    for line in jsonl::Lines::new(reader, limits.max_message_bytes) {
        let (number, bytes) = match line.context("cannot read input")? {
            Line::Data { number, bytes } => (number, bytes),
            Line::TooLong { number, .. } => {
                report.unparsed += 1;
                eprintln!(
                    "{}:{number}: line over the message size limit",
                    file.display()
                );
                continue;
            }
        };
        let msg = match parse_message(&bytes, limits) {
            Ok(msg) => msg,
            Err(e) => {
                // An audit that skipped lines silently would report them as clean.
                report.unparsed += 1;
                eprintln!("{}:{number}: {e}", file.display());
                continue;
            }
        };
        let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let annotation: Annotation = serde_json::from_slice(json).with_context(|| {
            format!(
                "{}:{number}: `pii` is not a list of strings",
                file.display()
            )
        })?;
        let pii = annotation.pii.as_deref();
        let audit = pii_eval::audit(analyzer, &msg, pii)?;
        report.add(&audit, pii.is_some(), pii.map_or(0, <[String]>::len));
        if reveal {
            for v in &audit.leaked {
                writeln!(out, "LEAK\t{}\t{v}", audit.interaction_id)?;
            }
            write_spans(
                out,
                "FALSE POSITIVE",
                &audit.interaction_id,
                &audit.false_positives,
            )?;
            if pii.is_none() {
                write_spans(out, "MASKED", &audit.interaction_id, &audit.spans)?;
            }
        }
    }
    Ok(report)
}

/// One line per span: what, the interaction, the placeholder, the text it covers.
fn write_spans(
    out: &mut impl Write,
    what: &str,
    id: &str,
    spans: &[MaskedSpan],
) -> std::io::Result<()> {
    for s in spans {
        writeln!(
            out,
            "{what}\t{id}\t{}\t{}",
            s.kind.placeholder(),
            s.original
        )?;
    }
    Ok(())
}

/// The report as a person reads it.
pub fn print(file: &Path, r: &MaskReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}", file.display())?;
    if r.unparsed > 0 {
        writeln!(
            out,
            "  {} lines could not be read as interactions (see stderr)",
            r.unparsed
        )?;
    }
    let masked: Vec<String> = r.masked.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(
        out,
        "  {} lines, {} words; masked: {} ({:.1} per 1,000 words)",
        r.lines,
        r.tokens,
        if masked.is_empty() {
            "nothing".to_string()
        } else {
            masked.join(", ")
        },
        r.masked_per_1000_tokens()
    )?;
    if r.annotated_lines > 0 {
        writeln!(
            out,
            "  annotated: {} lines with personal data, {} leaked ({:.1} % clean), {} of {} values leaked",
            r.lines_with_pii,
            r.leaky_lines,
            r.clean_line_rate() * 100.0,
            r.leaked_values,
            r.values
        )?;
        writeln!(
            out,
            "  false positives: {} masked spans cover no annotated value; {} of {} lines without personal data were masked",
            r.false_positives,
            r.clean_lines_masked,
            r.annotated_lines - r.lines_with_pii
        )?;
    } else {
        writeln!(
            out,
            "  no `pii` annotation: every masked span above is unverified (--reveal lists them)"
        )?;
    }
    Ok(())
}
