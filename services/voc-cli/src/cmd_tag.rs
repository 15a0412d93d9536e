//! `voc tag` and `voc eval`: offline tagging with the same analysis the worker runs.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use voc_core::eval::{EvalReport, GoldLabels};
use voc_core::{Analysis, Analyzer, Limits, MessageError, Tags, parse_message};

use crate::jsonl::{self, Line};

/// What happened to one input line.
enum Outcome {
    Tagged(Box<Analysis>, Vec<u8>),
    Rejected { line: usize, error: String },
}

fn process(analyzer: &Analyzer, limits: &Limits, line: Line) -> Outcome {
    match line {
        Line::TooLong { number, bytes } => Outcome::Rejected {
            line: number,
            error: MessageError::TooLarge {
                bytes,
                limit: limits.max_message_bytes,
            }
            .to_string(),
        },
        Line::Data { number, bytes } => match parse_message(&bytes, limits) {
            Err(e) => Outcome::Rejected {
                line: number,
                error: e.to_string(),
            },
            Ok(msg) => match analyzer.analyze(&msg) {
                Ok(a) => Outcome::Tagged(Box::new(a), bytes),
                Err(e) => Outcome::Rejected {
                    line: number,
                    error: format!("analysis failed: {e}"),
                },
            },
        },
    }
}

fn report_rejection(line: usize, error: &str) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
    serde_json::to_writer(&mut err, &serde_json::json!({"line": line, "error": error}))?;
    writeln!(err)?;
    Ok(())
}

/// A `voc tag` output line: the tags (docs/CONTRACT.md §2), plus with `--with-text` the customer's text
/// exactly as it would be stored (normalised and masked), to audit the masker on one's own data.
#[derive(serde::Serialize)]
struct OutputLine<'a> {
    #[serde(flatten)]
    tags: &'a Tags,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_text: Option<&'a str>,
}

/// Tags every line; returns the number of rejected lines.
pub fn tag(
    analyzer: &Analyzer,
    limits: &Limits,
    input: Option<&Path>,
    with_text: bool,
) -> anyhow::Result<usize> {
    let reader = jsonl::open(input)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut rejected = 0;
    for line in jsonl::Lines::new(reader, limits.max_message_bytes) {
        match process(analyzer, limits, line.context("cannot read input")?) {
            Outcome::Tagged(analysis, _) => {
                let line = OutputLine {
                    tags: &analysis.tags,
                    customer_text: with_text.then_some(analysis.customer_text.as_str()),
                };
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
            Outcome::Rejected { line, error } => {
                rejected += 1;
                out.flush()?;
                report_rejection(line, &error)?;
            }
        }
    }
    out.flush()?;
    Ok(rejected)
}

/// One mismatch between gold and predicted labels, for `--errors`.
fn mismatches(gold: &GoldLabels, pred: &Tags) -> Vec<String> {
    let mut out = Vec::new();
    let mut g = gold.topics.clone();
    let mut p = pred.topics.clone();
    g.sort();
    p.sort();
    if g != p {
        out.push(format!("topics {g:?} → {p:?}"));
    }
    if gold.voice_type != pred.voice_type {
        out.push(format!("voice {} → {}", gold.voice_type, pred.voice_type));
    }
    if gold.voice_type == voc_core::VoiceType::Complaint
        && gold.complaint_type != pred.complaint_type
    {
        out.push(format!(
            "complaint {:?} → {:?}",
            gold.complaint_type, pred.complaint_type
        ));
    }
    if gold.sentiment != pred.sentiment {
        out.push(format!(
            "sentiment {} → {} ({})",
            gold.sentiment, pred.sentiment, pred.sentiment_score
        ));
    }
    if gold.severity != pred.severity {
        out.push(format!("severity {} → {}", gold.severity, pred.severity));
    }
    if gold.churn_risk != pred.churn_risk {
        out.push(format!("churn {} → {}", gold.churn_risk, pred.churn_risk));
    }
    out
}

/// Labeled records tagged: the figures, rejected lines, and (if asked) every mismatch.
pub struct Evaluation {
    pub report: EvalReport,
    pub rejected: usize,
    pub problems: Vec<String>,
}

/// Analyses every line of a labeled file and hands each analysis with its gold labels to
/// `visit`; rejected lines are reported on stderr and counted (the return value).
///
/// Errors: the file cannot be read, or a line has no well-formed `labels`.
pub fn for_each_labeled(
    analyzer: &Analyzer,
    limits: &Limits,
    input: &Path,
    mut visit: impl FnMut(&Analysis, GoldLabels),
) -> anyhow::Result<usize> {
    let reader = jsonl::open(Some(input))?;
    let mut rejected = 0;
    for line in jsonl::Lines::new(reader, limits.max_message_bytes) {
        match process(analyzer, limits, line.context("cannot read input")?) {
            Outcome::Rejected { line, error } => {
                rejected += 1;
                report_rejection(line, &error)?;
            }
            Outcome::Tagged(analysis, bytes) => {
                #[derive(serde::Deserialize)]
                struct Labeled {
                    labels: GoldLabels,
                }
                let gold: Labeled = serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "{}: `labels` missing or malformed in {}",
                        input.display(),
                        analysis.tags.interaction_id
                    )
                })?;
                visit(&analysis, gold.labels);
            }
        }
    }
    Ok(rejected)
}

/// Tags a labeled file against its gold labels; rejected lines are reported on stderr.
pub fn evaluate(
    analyzer: &Analyzer,
    limits: &Limits,
    input: &Path,
    errors: bool,
) -> anyhow::Result<Evaluation> {
    let mut report = EvalReport::default();
    let mut problems = Vec::new();
    let rejected = for_each_labeled(analyzer, limits, input, |analysis, gold| {
        let tags = &analysis.tags;
        report.add(&gold, tags);
        if errors {
            let m = mismatches(&gold, tags);
            if !m.is_empty() {
                problems.push(format!("{}: {}", tags.interaction_id, m.join("; ")));
            }
        }
    })?;
    Ok(Evaluation {
        report,
        rejected,
        problems,
    })
}

/// Tags a labeled file and prints the figures; with `errors`, every mismatch too.
pub fn eval(
    analyzer: &Analyzer,
    limits: &Limits,
    input: &Path,
    json: bool,
    errors: bool,
) -> anyhow::Result<usize> {
    let Evaluation {
        report,
        rejected,
        problems,
    } = evaluate(analyzer, limits, input, errors)?;
    if json {
        let mut summary = serde_json::Map::new();
        summary.insert("items".into(), report.items.into());
        for (k, v) in report.headline() {
            summary.insert(k.into(), v.into());
        }
        summary.insert("report".into(), serde_json::to_value(&report)?);
        println!("{}", serde_json::Value::Object(summary));
    } else {
        print!(
            "rules: {} ({})\n{}",
            analyzer.rules().version,
            analyzer.rules().source,
            report.render()
        );
        if errors {
            println!("\nmismatches ({}):", problems.len());
            for p in &problems {
                println!("  {p}");
            }
        }
    }
    Ok(rejected)
}
