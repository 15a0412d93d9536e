//! Evidence in a masked text, for display: the text cut into segments, those that carry a rule's
//! evidence marked with its labels. Pure; the template escapes every segment.

use serde::Serialize;

/// A piece of the text; `labels` non-empty when it is evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    pub labels: Vec<String>,
}

/// One evidence item as stored (`interactions.evidence`): the label it supports and the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Evidence {
    pub label: String,
    #[serde(default)]
    pub text: String,
}

/// Cuts `text` at every occurrence of an evidence text (first occurrence of each, longest first
/// where they overlap).
pub fn segments(text: &str, evidence: &[Evidence]) -> Vec<Segment> {
    let mut spans: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let mut items: Vec<&Evidence> = evidence.iter().filter(|e| !e.text.is_empty()).collect();
    items.sort_by(|a, b| {
        b.text
            .len()
            .cmp(&a.text.len())
            .then_with(|| a.label.cmp(&b.label))
    });
    for e in items {
        let Some(start) = text.find(&e.text) else {
            continue;
        };
        let end = start + e.text.len();
        if let Some(same) = spans.iter_mut().find(|s| s.0 == start && s.1 == end) {
            if !same.2.contains(&e.label) {
                same.2.push(e.label.clone());
            }
            continue;
        }
        if spans.iter().all(|s| end <= s.0 || start >= s.1) {
            spans.push((start, end, vec![e.label.clone()]));
        }
    }
    spans.sort_by_key(|s| s.0);
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end, labels) in spans {
        if start > at {
            out.push(Segment {
                text: text[at..start].to_string(),
                labels: vec![],
            });
        }
        out.push(Segment {
            text: text[start..end].to_string(),
            labels,
        });
        at = end;
    }
    if at < text.len() {
        out.push(Segment {
            text: text[at..].to_string(),
            labels: vec![],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(label: &str, text: &str) -> Evidence {
        Evidence {
            label: label.into(),
            text: text.into(),
        }
    }

    #[test]
    fn evidence_is_marked_where_it_occurs_and_the_rest_is_kept_verbatim() {
        let text = "認証コードが届きません。<script>alert(1)</script>困ります。";
        let segs = segments(
            text,
            &[
                ev("topic:account_login", "認証コードが届きません。"),
                ev("sentiment", "困ります。"),
                ev("x", "not there"),
            ],
        );
        let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, text, "nothing lost or added");
        assert_eq!(segs[0].labels, ["topic:account_login"]);
        assert!(segs[1].labels.is_empty() && segs[1].text.contains("<script>"));
        assert_eq!(segs[2].labels, ["sentiment"]);
    }
}
