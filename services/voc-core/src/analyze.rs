//! `analyze`: one validated interaction in, its tags out — the function every entry point calls.
//!
//! Only the customer's words are judged (docs/TAXONOMY.md); agent, bot and system turns are context and
//! never stored. Each customer turn is normalised, cleaned of fillers, skipped if it is only
//! あいづち, and masked before tokenising, so keywords and evidence only ever see masked text.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decide;
use crate::keywords;
use crate::labels::{Sentiment, VoiceType};
use crate::mask::{mask, mask_names};
use crate::message::{Channel, Interaction, Speaker};
use crate::normalize::{is_backchannel, normalize, strip_fillers};
use crate::rules::RuleSet;
use crate::rules::matcher::{self, Document};
use crate::sentiment;
use crate::tokenize::{Morpheme, TokenizeError, Tokenizer, WordSource, mark_negation};

/// Why a rule fired, on which (masked) text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub rule: String,
    pub text: String,
}

/// The tags of one interaction: exactly the `voc tag` output of docs/CONTRACT.md §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tags {
    pub interaction_id: String,
    pub topics: Vec<String>,
    pub voice_type: VoiceType,
    pub complaint_type: Option<String>,
    pub sentiment: Sentiment,
    pub sentiment_score: f64,
    pub severity: u8,
    pub churn_risk: bool,
    pub keywords: Vec<String>,
    pub evidence: Vec<Evidence>,
    pub rules_version: String,
}

/// Tags plus what the store needs: the customer's masked text.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub tags: Tags,
    /// Customer turns, normalised and masked, joined by newlines. The only text ever stored.
    pub customer_text: String,
    /// How many pieces of personal data were masked.
    pub pii_masked: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
}

/// Rules plus a tokenizer. Cheap to clone: give each worker thread its own clone.
#[derive(Debug, Clone)]
pub struct Analyzer {
    rules: Arc<RuleSet>,
    tokenizer: Tokenizer,
}

impl Analyzer {
    pub fn new(rules: Arc<RuleSet>, tokenizer: Tokenizer) -> Self {
        Self { rules, tokenizer }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The customer's turns as the analysis reads them: normalised, fillers removed, turns of
    /// あいづち alone dropped; not yet masked.
    fn customer_turns(interaction: &Interaction) -> impl Iterator<Item = String> + '_ {
        interaction
            .turns
            .iter()
            .filter(|t| t.speaker == Speaker::Customer)
            .map(|turn| strip_fillers(&normalize(&turn.text)))
            .filter(|clean| !clean.is_empty() && !is_backchannel(clean))
    }

    /// The customer's words, normalised and masked (all but names, which need the morphemes).
    ///
    /// The turns are masked together, joined by newlines: a number dictated over two turns
    /// (090の1234の / 5678です) is one number.
    pub fn customer_document(interaction: &Interaction) -> (String, usize) {
        let masked = mask(&Self::customer_text_unmasked(interaction));
        let found = masked.found.len();
        (masked.text, found)
    }

    /// The customer's turns, cleaned and joined by newlines, before masking: for audits only.
    pub fn customer_text_unmasked(interaction: &Interaction) -> String {
        Self::customer_turns(interaction)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn analyze(&self, interaction: &Interaction) -> Result<Analysis, AnalyzeError> {
        let (text, pii) = Self::customer_document(interaction);
        self.analyze_document(&interaction.interaction_id, interaction.channel, text, pii)
    }

    /// Re-tags a stored interaction: its customer text as stored (already normalised and
    /// masked). Gives the same tags as [`Self::analyze`] gave for the original message with the
    /// same rules, so a re-tag with new rules changes only what the rules change.
    pub fn analyze_stored(
        &self,
        interaction_id: &str,
        channel: Channel,
        customer_text: &str,
    ) -> Result<Analysis, AnalyzeError> {
        // Masked again with today's masker: history gains what it learnt since (idempotent on
        // text it already masked).
        let masked = mask(customer_text);
        self.analyze_document(interaction_id, channel, masked.text, masked.found.len())
    }

    fn analyze_document(
        &self,
        id: &str,
        channel: Channel,
        mut text: String,
        mut pii: usize,
    ) -> Result<Analysis, AnalyzeError> {
        let mut morphemes = self.tokenizer.tokenize(&text)?;
        if let Some(masked) = mask_names(&text, &morphemes, &|m| self.is_own_word(m)) {
            pii += masked.1;
            text = masked.0;
            morphemes = self.tokenizer.tokenize(&text)?;
        }
        mark_negation(&mut morphemes);
        let tags = self.decide(id, channel, &text, &morphemes);
        drop(morphemes);
        Ok(Analysis {
            tags,
            customer_text: text,
            pii_masked: pii,
        })
    }

    /// The company's own words (user dictionary, terms the rules name): never masked as names.
    pub fn is_own_word(&self, m: &Morpheme<'_>) -> bool {
        m.source == WordSource::User
            || self.rules.knows_term(m.surface)
            || self.rules.knows_term(m.base)
    }

    /// Matches the rules, scores sentiment, and decides every label (see [`crate::decide`]).
    fn decide(&self, id: &str, channel: Channel, text: &str, morphemes: &[Morpheme<'_>]) -> Tags {
        let rules = &*self.rules;
        let doc = Document::new(text, morphemes);
        let hits = matcher::atom_hits(&rules.atoms, &doc);
        let firings = matcher::fire_all(rules, hits.by_atom(), &doc);
        let senti = sentiment::score(rules, &hits, &doc, &firings);
        let prediction = rules.model.as_ref().map(|gate| gate.model.predict(text));
        let own = crate::own_mishap::find(rules, &doc);
        let fired = decide::Fired {
            rules,
            firings: &firings,
            sentiment: &senti,
            own: &own,
            prediction: prediction.as_ref(),
        };
        let (voice_type, mut sentiment, mut by_model) = decide::voice(&fired);
        let (mut topics, model_topics) = decide::topics(&fired, channel, voice_type);
        by_model.topics = model_topics;
        if let Some(s) = decide::model_sentiment(&fired, sentiment) {
            sentiment = s;
            by_model.sentiment = true;
        }
        let complaint_type = (voice_type == VoiceType::Complaint).then(|| {
            let (ct, model_chose) = decide::complaint_type(&fired, &topics);
            by_model.complaint_type = model_chose;
            ct
        });
        if let Some(ct) = &complaint_type {
            decide::topic_of_complaint(rules, &mut topics, ct);
        }
        let severity = decide::severity(&fired, voice_type);
        let evidence = decide::evidence(
            &fired,
            &decide::Decided {
                topics: &topics,
                voice: voice_type,
                complaint_type: complaint_type.as_deref(),
                severity,
                sentiment,
                by_model,
            },
            text,
        );
        Tags {
            interaction_id: id.to_string(),
            topics,
            voice_type,
            complaint_type,
            sentiment,
            sentiment_score: ((senti.score / 3.0).tanh() * 100.0).round() / 100.0,
            severity,
            churn_risk: decide::churn_risk(&fired),
            keywords: keywords::extract(text, morphemes, &rules.stop_words, rules.max_keywords),
            evidence,
            rules_version: rules.version.clone(),
        }
    }
}
