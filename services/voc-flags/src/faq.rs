//! FAQ candidates: recurring question themes worth a self-service article
//! (よくある問い合わせをFAQにして自己解決を促す), ranked, as a pure function over per-theme counts.

use serde::Serialize;

/// One theme's counts over the last `days` days and the `days` before them.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, clickhouse::Row)]
pub struct ThemeQuestions {
    pub theme_id: String,
    /// Member interactions in the recent period.
    pub recent: u64,
    /// Member interactions in the period before it.
    pub previous: u64,
    /// Recent members that are questions…
    pub questions: u64,
    /// …and of those, how many reached an agent (an `agent_id` is set).
    pub with_agent: u64,
}

/// A theme customers ask about, with why it ranks where it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaqCandidate {
    pub theme_id: String,
    pub label: String,
    /// Recent questions in the theme.
    pub questions: u64,
    /// Recent members against the period before (2.0 is a doubling); `None` when the period
    /// before had none (a new theme, or no data that far back).
    pub growth: Option<f64>,
    /// Share of the questions that needed an agent: what an article could save.
    pub agent_share: f64,
    /// `questions × min(growth, 3)`, growth taken as 1 when unknown.
    pub score: f64,
    /// Masked sample questions, newest first.
    pub samples: Vec<String>,
}

/// Themes whose recent members are mostly (`min_question_share`) questions, at least
/// `min_questions` of them, ranked by volume times growth (growth capped at 3, so a fast riser
/// does not outrank a large steady theme on novelty alone).
pub fn rank(
    stats: &[ThemeQuestions],
    label_of: impl Fn(&str) -> Option<String>,
    min_questions: u64,
    min_question_share: f64,
) -> Vec<FaqCandidate> {
    let mut out: Vec<FaqCandidate> = stats
        .iter()
        .filter(|s| {
            s.questions >= min_questions
                && s.questions as f64 >= min_question_share * s.recent as f64
        })
        .filter_map(|s| {
            let growth = (s.previous > 0).then(|| s.recent as f64 / s.previous as f64);
            Some(FaqCandidate {
                theme_id: s.theme_id.clone(),
                label: label_of(&s.theme_id)?,
                questions: s.questions,
                growth: growth.map(|g| (g * 100.0).round() / 100.0),
                agent_share: s.with_agent as f64 / s.questions.max(1) as f64,
                score: s.questions as f64 * growth.unwrap_or(1.0).min(3.0),
                samples: Vec::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.theme_id.cmp(&b.theme_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(id: &str, recent: u64, previous: u64, questions: u64) -> ThemeQuestions {
        ThemeQuestions {
            theme_id: id.into(),
            recent,
            previous,
            questions,
            with_agent: questions / 2,
        }
    }

    #[test]
    fn question_themes_rank_by_volume_and_growth_and_complaint_themes_are_not_faq() {
        let all = [
            stats("steady", 40, 40, 36),
            stats("rising", 30, 10, 27),
            stats("complaints", 80, 80, 10),
            stats("tiny", 3, 0, 3),
            stats("unknown", 50, 50, 50),
        ];
        let label = |id: &str| (id != "unknown").then(|| format!("label of {id}"));
        let ranked = rank(&all, label, 5, 0.5);
        let ids: Vec<&str> = ranked.iter().map(|c| c.theme_id.as_str()).collect();
        assert_eq!(ids, ["rising", "steady"], "{ranked:?}");
        assert_eq!(ranked[0].growth, Some(3.0));
        let fresh = rank(&[stats("new", 9, 0, 9)], label, 5, 0.5);
        assert_eq!(
            fresh[0].growth, None,
            "no period before: growth unknown, not infinite"
        );
        assert_eq!(fresh[0].score, 9.0);
        assert!((ranked[1].agent_share - 18.0 / 36.0).abs() < 1e-9);
    }
}
