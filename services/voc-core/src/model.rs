//! A linear text classifier over character n-grams: the learned second opinion beside the rules.
//!
//! Rules see only what someone wrote a rule for: on voices written by people who never read
//! them, a fifth of the complaints slipped past (data/eval/README.md). This model gives every
//! voice a probability per voice type, sentiment, complaint type and topic, from character
//! 1–3-grams of the same normalised, masked text the rules read. The decision (`decide.rs`) asks
//! it where the rules are silent or weak, each time against a threshold of the rules' `[model]`
//! table: it mostly adds what the rules missed, and may overrule them only as `[model]` documents
//! (a veto of a complaint, a polarity the lexicon did not give, a surer complaint type).
//!
//! Features: every run of 1 to 3 characters within a line (each line padded with a space at both
//! ends; runs of white space and punctuation alone left out; no case folding: the text is
//! NFKC-normalised already),
//! the `max_features` found in most voices; weighted as scikit-learn's `TfidfVectorizer` with
//! `sublinear_tf`: tf = 1 + ln(count), smoothed idf = ln((1 + n) / (1 + df)) + 1 (natural log),
//! each vector L2-normalised. Character n-grams need no word segmentation, so they survive
//! speech-recognition errors, slang and spelling variants that a lemma never matches. The heads
//! are multinomial (voice type, sentiment, complaint type) and one-vs-rest binary (topics)
//! logistic regressions, fitted by `voc model train`.
//!
//! Everything here is pure: the model file is bytes in, a [`TextModel`] out.

use std::collections::HashMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

/// The longest n-gram, in characters. Three characters pack into one `u64` key (21 bits each).
pub const NGRAM_MAX: usize = 3;

/// The file format version this build reads and writes.
pub const FORMAT: u32 = 1;

/// What a head predicts, and how its outputs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadLabel {
    /// One of the voice types (softmax over the classes).
    Voice,
    /// One of negative, neutral, positive (softmax).
    Sentiment,
    /// The complaint type of a complaint (softmax; fitted on complaints only).
    ComplaintType,
    /// Each topic on its own (a sigmoid per class).
    Topics,
}

impl HeadLabel {
    fn softmax(self) -> bool {
        self != HeadLabel::Topics
    }
}

/// A model file: what `voc model train` writes (gzip-compressed JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub format: u32,
    /// A name for evidence and `voc rules check`, e.g. `ja-contact-center@2026-11-29`.
    pub name: String,
    /// The labeled sets it was fitted on, and how many voices they held.
    pub trained_on: Vec<String>,
    pub items: usize,
    /// L2 regularisation strength of the fit (the `alpha` of linfa-logistic; 1 / C).
    pub alpha: f64,
    /// The n-grams and their idf, in feature order.
    pub features: Vec<(String, f32)>,
    pub heads: Vec<HeadFile>,
}

/// One head of a model file: per class, its bias and one weight per feature (`weights[class]
/// [feature]`, in the order of [`ModelFile::features`]); logits are `bias + weights · x` for the
/// voice's L2-normalised TF-IDF vector `x`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadFile {
    pub label: HeadLabel,
    pub classes: Vec<String>,
    pub bias: Vec<f32>,
    pub weights: Vec<Vec<f32>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read the model: {0}")]
    Read(#[from] std::io::Error),
    #[error("the model is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the model is format {found}; this build reads format {FORMAT}")]
    Format { found: u32 },
    #[error("the model's {head:?} head is malformed: {why}")]
    Shape { head: HeadLabel, why: String },
    #[error("the model's feature {0:?} is not an n-gram of 1 to {NGRAM_MAX} characters")]
    Feature(String),
    #[error("the model's feature {0:?} {1}")]
    Vocabulary(String, &'static str),
}

/// A head at run time: its classes and where its outputs sit in the weight rows.
#[derive(Debug, Clone)]
struct Head {
    label: HeadLabel,
    classes: Vec<String>,
    offset: usize,
    bias: Vec<f32>,
}

/// A loaded model: n-gram keys to feature ids, and the weights of every head, one row of
/// `outputs` weights per feature so a voice's features read contiguous memory.
#[derive(Debug, Clone)]
pub struct TextModel {
    pub name: String,
    /// FNV-1a (64 bit) of the model's JSON: tells two fits with the same name apart.
    pub digest: u64,
    vocab: foldhash::HashMap<u64, u32>,
    idf: Vec<f32>,
    outputs: usize,
    weights: Vec<f32>,
    heads: Vec<Head>,
}

/// The probabilities of one voice, by head and class, and what each n-gram occurrence
/// contributed; borrows the class names and weights from its model.
#[derive(Debug, Clone)]
pub struct Prediction<'m> {
    model: &'m TextModel,
    probs: Vec<f32>,
    features: usize,
    occurrences: Vec<Occurrence>,
}

impl<'m> Prediction<'m> {
    /// The probability of `class` under `head`, if the model has it.
    pub fn prob(&self, head: HeadLabel, class: &str) -> Option<f32> {
        self.classes(head)
            .find(|(c, _)| *c == class)
            .map(|(_, p)| p)
    }

    /// Every class of `head` with its probability (none if the model has no such head).
    pub fn classes(&self, head: HeadLabel) -> impl Iterator<Item = (&'m str, f32)> + '_ {
        self.model
            .heads
            .iter()
            .filter(move |h| h.label == head)
            .flat_map(|h| {
                h.classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), self.probs[h.offset + i]))
            })
    }

    /// How many distinct features of the model the text had (0: the probabilities are the
    /// model's priors alone).
    pub fn features(&self) -> usize {
        self.features
    }

    /// The likeliest class of `head` among those `keep` accepts, with its probability.
    pub fn best(&self, head: HeadLabel, keep: impl Fn(&str) -> bool) -> Option<(&'m str, f32)> {
        self.classes(head)
            .filter(|(c, _)| keep(c))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Of `pieces` (byte ranges of the text, in order: its sentences), the index of the one whose
    /// n-grams add most to `class`'s score under `head`: the evidence shown for a label the model
    /// decided. A linear model's score is a sum over features; each feature's value is shared
    /// evenly among its occurrences (a convention: tf is sublinear), so one pass over the text
    /// suffices. A piece whose n-grams speak against the class is no evidence (None when all do).
    pub fn strongest(
        &self,
        pieces: &[std::ops::Range<usize>],
        head: HeadLabel,
        class: &str,
    ) -> Option<usize> {
        let h = self.model.heads.iter().find(|h| h.label == head)?;
        let output = h.offset + h.classes.iter().position(|c| c == class)?;
        let outputs = self.model.outputs;
        let mut score = vec![0.0f32; pieces.len()];
        let mut piece = 0;
        for o in &self.occurrences {
            let at = o.at as usize;
            while piece + 1 < pieces.len() && at >= pieces[piece].end {
                piece += 1;
            }
            if pieces
                .get(piece)
                .is_some_and(|p| p.contains(&at) || at == p.end)
            {
                score[piece] += o.share * self.model.weights[o.id as usize * outputs + output];
            }
        }
        // Ties go to the first piece; a piece that speaks against the class is no evidence.
        (0..pieces.len())
            .rev()
            .max_by(|a, b| score[*a].total_cmp(&score[*b]))
            .filter(|i| score[*i] > 0.0)
    }
}

/// Calls `f` with the n-gram key of every run of 1 to [`NGRAM_MAX`] characters within a line,
/// with repeats; each line is padded with a space at both ends (so a line's first and last
/// characters are features of their own); n-grams of blanks alone (white space and punctuation,
/// [`is_blank`]) are left out.
pub fn for_each_ngram(text: &str, mut f: impl FnMut(u64)) {
    walk_ngrams(text, |key, _| {
        f(key);
        true
    });
}

/// The one walk over a text's n-grams, for fitting ([`for_each_ngram`]) and for look-ups
/// ([`tfidf_into`]) alike, so both see the same n-grams. `f` gets each key and the byte offset of
/// its last character (a line's end pad counts as its last character) and says whether the key
/// is a feature; a bigram is offered only when both its characters are features (or blank), a
/// trigram only when neither of its bigrams was refused. An n-gram is in no more voices than its
/// parts, and [`fit_vocabulary`] keeps none without them, so this skips only misses.
fn walk_ngrams(text: &str, mut f: impl FnMut(u64, usize) -> bool) {
    let mut start = 0;
    for line in text.split('\n') {
        // The two characters before the current one (0: none), whether each is blank, whether
        // the previous one is blank or a feature, and what became of the bigram ending at it
        // (None: blanks alone, not an n-gram).
        let (mut p2, mut p1) = (0u64, 0u64);
        let (mut b2, mut b1, mut ok1) = (true, true, true);
        let mut prefix: Option<bool> = None;
        let end = start + line.len();
        let last = line.char_indices().last().map_or(start, |(i, _)| start + i);
        let chars = line.char_indices().map(|(i, c)| (start + i, c));
        for (at, c) in std::iter::once((start, ' '))
            .chain(chars)
            .chain(std::iter::once((last, ' ')))
        {
            let (k, blank) = (c as u64, is_blank(c));
            let ok = blank || f(k, at);
            let bigram = (p1 != 0 && !(blank && b1)).then(|| ok && ok1 && f(p1 | k << 21, at));
            if p2 != 0 && !(blank && b1 && b2) && bigram != Some(false) && prefix != Some(false) {
                f(p2 | p1 << 21 | k << 42, at);
            }
            (p2, p1, b2, b1, ok1, prefix) = (p1, k, b1, blank, ok, bigram);
        }
        start = end + 1;
    }
}

/// Whether a character says nothing on its own: white space and punctuation marks. An n-gram of
/// these alone is no feature (a text of "……" or "!!" has nothing the model could judge), while
/// next to a letter they are (なんで？, 。また).
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '、' | '。'
                | '，'
                | '．'
                | '・'
                | '…'
                | '‥'
                | '「'
                | '」'
                | '『'
                | '』'
                | '（'
                | '）'
                | '【'
                | '】'
                | '〔'
                | '〕'
                | '［'
                | '］'
                | '｛'
                | '｝'
                | '〈'
                | '〉'
                | '《'
                | '》'
                | '！'
                | '？'
                | '：'
                | '；'
                | '〜'
                | '～'
                | '―'
                | '‐'
                | '“'
                | '”'
                | '‘'
                | '’'
        )
}

/// The n-gram keys of a text, with repeats (see [`for_each_ngram`]).
pub fn ngram_keys(text: &str) -> Vec<u64> {
    let mut keys = Vec::with_capacity(text.len() * 2);
    for_each_ngram(text, |k| keys.push(k));
    keys
}

/// The key of an n-gram written as text (what model files store), if it is 1 to 3 characters.
pub fn key_of(ngram: &str) -> Option<u64> {
    let chars: Vec<char> = ngram.chars().collect();
    if chars.is_empty() || chars.len() > NGRAM_MAX || chars.contains(&'\0') {
        return None;
    }
    Some(
        chars
            .iter()
            .enumerate()
            .fold(0, |k, (n, c)| k | (*c as u64) << (21 * n)),
    )
}

/// The text of an n-gram key.
pub fn ngram_of(key: u64) -> String {
    (0..NGRAM_MAX)
        .map(|n| ((key >> (21 * n)) & 0x1f_ffff) as u32)
        .take_while(|&c| c != 0)
        .filter_map(char::from_u32)
        .collect()
}

/// Sparse TF-IDF vector of a text: `(feature id, value)` pairs in first-seen order,
/// L2-normalised; n-grams not in `vocab` are ignored.
pub fn tfidf(text: &str, vocab: &foldhash::HashMap<u64, u32>, idf: &[f32]) -> Vec<(u32, f32)> {
    let mut out = Vec::new();
    tfidf_into(text, vocab, idf, &mut vec![0; idf.len()], &mut out, None);
    out
}

/// [`tfidf`] into `out`, counting in `counts` (one slot per feature, all zero on entry and on
/// return), so the analysis reuses both buffers and allocates nothing per voice. The n-grams are
/// those of [`walk_ngrams`], which looks a longer one up only behind known parts.
fn tfidf_into(
    text: &str,
    vocab: &foldhash::HashMap<u64, u32>,
    idf: &[f32],
    counts: &mut [u16],
    out: &mut Vec<(u32, f32)>,
    mut explain: Option<Explain<'_>>,
) {
    out.clear();
    walk_ngrams(text, |k, at| {
        let Some(&id) = vocab.get(&k) else {
            return false;
        };
        let slot = &mut counts[id as usize];
        if *slot == 0 {
            out.push((id, 0.0));
        }
        *slot = slot.saturating_add(1);
        if let Some(e) = explain.as_mut() {
            e.occurrences.push(Occurrence {
                at: at as u32,
                id,
                share: 0.0,
            });
        }
        true
    });
    let mut norm = 0.0f32;
    for (id, v) in out.iter_mut() {
        *v = sublinear_tf(counts[*id as usize]) * idf[*id as usize];
        norm += *v * *v;
    }
    let norm = norm.sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|(_, v)| *v /= norm);
    }
    // Each occurrence's share of its feature's value (value / count), for the evidence.
    if let Some(e) = explain {
        for (id, v) in out.iter() {
            e.shares[*id as usize] = v / f32::from(counts[*id as usize]);
        }
        for o in e.occurrences.iter_mut() {
            o.share = e.shares[o.id as usize];
        }
    }
    for (id, _) in out.iter() {
        counts[*id as usize] = 0;
    }
}

/// Where [`tfidf_into`] writes what each n-gram occurrence contributes: the occurrences, and a
/// per-feature buffer it overwrites for the features of the text.
struct Explain<'a> {
    occurrences: &'a mut Vec<Occurrence>,
    shares: &'a mut [f32],
}

/// One occurrence of a feature in a text: the byte offset of its last character, the feature, and
/// its share of the feature's value in the text's vector.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Occurrence {
    at: u32,
    id: u32,
    share: f32,
}

/// 1 + ln(count), from a table for the counts a voice usually has.
fn sublinear_tf(count: u16) -> f32 {
    const TABLE: usize = 32;
    static TF: std::sync::LazyLock<[f32; TABLE]> =
        std::sync::LazyLock::new(|| std::array::from_fn(|c| 1.0 + (c.max(1) as f32).ln()));
    TF.get(usize::from(count))
        .copied()
        .unwrap_or_else(|| 1.0 + f32::from(count).ln())
}

/// Per-thread buffers of [`TextModel::logits`]: feature counts and the sparse vector.
#[derive(Debug, Default)]
struct Scratch {
    counts: Vec<u16>,
    shares: Vec<f32>,
    vector: Vec<(u32, f32)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl TextModel {
    /// Reads a model file: gzip-compressed JSON (as `voc model train` writes it) or plain JSON.
    ///
    /// Errors: unreadable or invalid bytes, another format version, heads whose weights do not
    /// match the features.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let json = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
            out
        } else {
            bytes.to_vec()
        };
        let mut model = Self::from_file(serde_json::from_slice(&json)?)?;
        model.digest = fnv1a(&json);
        Ok(model)
    }

    /// Checks a parsed model file and lays its weights out for prediction (`digest` 0: it is
    /// computed from the bytes by [`Self::from_bytes`]).
    ///
    /// Errors: another format version, a feature that is no 1–3-character n-gram, is written twice,
    /// has an idf that is not a positive number, or lacks one of its parts (the look-ups of
    /// `tfidf_into` rely on them, see [`fit_vocabulary`]); a head written twice, or whose biases
    /// and weights do not match its classes and the features, or are not finite.
    pub fn from_file(file: ModelFile) -> Result<Self, ModelError> {
        if file.format != FORMAT {
            return Err(ModelError::Format { found: file.format });
        }
        let n = file.features.len();
        let mut vocab = foldhash::HashMap::default();
        let mut idf = Vec::with_capacity(n);
        for (i, (gram, weight)) in file.features.iter().enumerate() {
            let key = key_of(gram).ok_or_else(|| ModelError::Feature(gram.clone()))?;
            if vocab.insert(key, i as u32).is_some() {
                return Err(ModelError::Vocabulary(gram.clone(), "is written twice"));
            }
            if !(weight.is_finite() && *weight > 0.0) {
                return Err(ModelError::Vocabulary(gram.clone(), "has no positive idf"));
            }
            idf.push(*weight);
        }
        for (gram, _) in &file.features {
            if !parts_known(key_of(gram).unwrap_or(0), |k| vocab.contains_key(&k)) {
                return Err(ModelError::Vocabulary(
                    gram.clone(),
                    "lacks one of its parts among the features",
                ));
            }
        }
        for (i, head) in file.heads.iter().enumerate() {
            if file.heads[..i].iter().any(|h| h.label == head.label) {
                return Err(ModelError::Shape {
                    head: head.label,
                    why: "written twice".into(),
                });
            }
            if !head
                .bias
                .iter()
                .chain(head.weights.iter().flatten())
                .all(|w| w.is_finite())
            {
                return Err(ModelError::Shape {
                    head: head.label,
                    why: "a weight is not a finite number".into(),
                });
            }
        }
        let outputs: usize = file.heads.iter().map(|h| h.classes.len()).sum();
        let mut weights = vec![0.0f32; n * outputs];
        let mut heads = Vec::new();
        let mut offset = 0;
        for head in file.heads {
            let shape = |why: String| ModelError::Shape {
                head: head.label,
                why,
            };
            let k = head.classes.len();
            if head.bias.len() != k || head.weights.len() != k {
                return Err(shape(format!(
                    "{k} classes but {} biases and {} weight rows",
                    head.bias.len(),
                    head.weights.len()
                )));
            }
            if head.label.softmax() && k < 2 {
                return Err(shape("a softmax head needs two classes or more".into()));
            }
            for (c, row) in head.weights.iter().enumerate() {
                if row.len() != n {
                    return Err(shape(format!(
                        "class {} has {} weights for {n} features",
                        head.classes[c],
                        row.len()
                    )));
                }
                for (f, w) in row.iter().enumerate() {
                    weights[f * outputs + offset + c] = *w;
                }
            }
            heads.push(Head {
                label: head.label,
                classes: head.classes,
                offset,
                bias: head.bias,
            });
            offset += k;
        }
        Ok(Self {
            name: file.name,
            digest: 0,
            vocab,
            idf,
            outputs,
            weights,
            heads,
        })
    }

    /// The raw scores of every output, and how many distinct features the text had.
    fn logits(&self, text: &str, occurrences: &mut Vec<Occurrence>) -> (Vec<f32>, usize) {
        let mut out = vec![0.0f32; self.outputs];
        for head in &self.heads {
            out[head.offset..head.offset + head.bias.len()].copy_from_slice(&head.bias);
        }
        let features = SCRATCH.with_borrow_mut(|scratch| {
            let Scratch {
                counts,
                shares,
                vector,
            } = scratch;
            if counts.len() < self.idf.len() {
                counts.resize(self.idf.len(), 0);
                shares.resize(self.idf.len(), 0.0);
            }
            let explain = Explain {
                occurrences,
                shares,
            };
            tfidf_into(text, &self.vocab, &self.idf, counts, vector, Some(explain));
            for &(id, v) in vector.iter() {
                let row = &self.weights[id as usize * self.outputs..][..self.outputs];
                out.iter_mut().zip(row).for_each(|(o, w)| *o += v * w);
            }
            vector.len()
        });
        (out, features)
    }

    /// The probabilities of every head's classes for a text.
    pub fn predict(&self, text: &str) -> Prediction<'_> {
        // About one feature occurrence per byte of Japanese text (three n-grams per character
        // of three bytes, fewer found): one allocation for most voices (ASCII text may grow it).
        let mut occurrences = Vec::with_capacity(text.len());
        let (mut probs, features) = self.logits(text, &mut occurrences);
        for head in &self.heads {
            let z = &mut probs[head.offset..head.offset + head.classes.len()];
            if head.label.softmax() {
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                z.iter_mut().for_each(|v| *v = (*v - max).exp());
                let sum: f32 = z.iter().sum();
                z.iter_mut().for_each(|v| *v /= sum);
            } else {
                z.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
            }
        }
        Prediction {
            model: self,
            probs,
            features,
            occurrences,
        }
    }

    /// How many n-gram features the model knows.
    pub fn feature_count(&self) -> usize {
        self.idf.len()
    }

    /// The heads' labels and classes, for `voc rules check`.
    pub fn heads(&self) -> impl Iterator<Item = (HeadLabel, &[String])> {
        self.heads.iter().map(|h| (h.label, h.classes.as_slice()))
    }
}

/// Whether the parts of an n-gram key are features (`known`) or blank: both characters of a
/// bigram, both bigrams of a trigram. [`walk_ngrams`] offers an n-gram only behind its parts.
fn parts_known(key: u64, known: impl Fn(u64) -> bool) -> bool {
    const CHAR: u64 = 0x1f_ffff;
    let char_ok = |c: u64| char::from_u32(c as u32).is_some_and(is_blank) || known(c);
    if key >> 42 != 0 {
        known(key & ((1 << 42) - 1)) && known(key >> 21)
    } else if key >> 21 != 0 {
        char_ok(key & CHAR) && char_ok(key >> 21)
    } else {
        true
    }
}

/// FNV-1a, 64 bit (Fowler, Noll, Vo): a stable digest, the same on every machine and run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Counts of each n-gram's documents, for fitting a vocabulary: `(vocab, idf)` of the n-grams in
/// at least `min_df` of `docs`, most frequent first (ties by key, so a fit is reproducible), at
/// most `max_features` of them, less any bigram or trigram whose parts did not make the cut.
pub fn fit_vocabulary(docs: &[&str], min_df: usize, max_features: usize) -> (Vec<u64>, Vec<f32>) {
    let mut df: HashMap<u64, usize> = HashMap::new();
    for doc in docs {
        let mut keys = ngram_keys(doc);
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            *df.entry(k).or_default() += 1;
        }
    }
    let mut kept: Vec<(u64, usize)> = df.into_iter().filter(|(_, d)| *d >= min_df).collect();
    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    kept.truncate(max_features);
    // An n-gram whose parts were cut is never looked up (see `walk_ngrams`): drop it too; bigrams
    // first, so a trigram is judged by the bigrams that stay.
    let known = |kept: &[(u64, usize)]| -> std::collections::HashSet<u64> {
        kept.iter().map(|(k, _)| *k).collect()
    };
    let bigram_parts = known(&kept);
    kept.retain(|(k, _)| k >> 42 != 0 || parts_known(*k, |x| bigram_parts.contains(&x)));
    let trigram_parts = known(&kept);
    kept.retain(|(k, _)| parts_known(*k, |x| trigram_parts.contains(&x)));
    let n = docs.len() as f32;
    let idf = kept
        .iter()
        .map(|(_, d)| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0)
        .collect();
    (kept.into_iter().map(|(k, _)| k).collect(), idf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_skip_blank_ngrams() {
        let keys = ngram_keys("届かない");
        let grams: Vec<String> = keys.iter().map(|k| ngram_of(*k)).collect();
        assert!(grams.contains(&" 届".to_string()), "{grams:?}");
        assert!(grams.contains(&"かない".to_string()));
        assert!(grams.contains(&"い ".to_string()));
        assert!(!grams.contains(&" ".to_string()));
        for g in &grams {
            assert_eq!(key_of(g).map(ngram_of).as_deref(), Some(g.as_str()));
        }
        // 4 characters + 2 pads: 6 unigrams (2 blank), 5 bigrams, 4 trigrams.
        assert_eq!(keys.len(), 4 + 5 + 4);
    }

    #[test]
    fn tfidf_is_unit_length_and_sublinear() {
        let docs = ["遅い遅い遅い", "早い"];
        let (keys, idf) = fit_vocabulary(&docs, 1, 1000);
        let vocab = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u32))
            .collect();
        let v = tfidf(docs[0], &vocab, &idf);
        let norm: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let of = |g: &str| {
            let id = vocab[&key_of(g).unwrap()];
            v.iter().find(|(i, _)| *i == id).unwrap().1
        };
        // 遅 occurs 3 times, " 遅" once, both with the same idf: 1 + ln 3 against 1.
        assert!((of("遅") / of(" 遅") - (1.0 + 3f32.ln())).abs() < 1e-4);
    }

    #[test]
    fn the_pruned_lookups_find_every_feature_of_the_text() {
        let docs = [
            "電源が入らない。\n画面が映らない",
            "電源が入りません  画面",
            "画面が割れた 電源",
        ];
        // Every cut: a truncated vocabulary cuts parts of n-grams it would keep, and those
        // must go too (else the pruned look-ups would miss them); min_df 1 keeps the odd ones.
        for (min_df, max) in [(1, 1000), (1, 60), (1, 25), (2, 12), (1, 3)] {
            let (keys, idf) = fit_vocabulary(&docs, min_df, max);
            assert!(keys.len() <= max);
            let vocab: foldhash::HashMap<u64, u32> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (*k, i as u32))
                .collect();
            assert!(
                keys.iter()
                    .all(|k| parts_known(*k, |x| vocab.contains_key(&x))),
                "max {max}"
            );
            for doc in docs.iter().copied().chain(["未知の画面 が入らない\n電源"]) {
                let mut expected: Vec<u32> = ngram_keys(doc)
                    .into_iter()
                    .filter_map(|k| vocab.get(&k).copied())
                    .collect();
                expected.sort_unstable();
                expected.dedup();
                let mut found: Vec<u32> = tfidf(doc, &vocab, &idf)
                    .into_iter()
                    .map(|(i, _)| i)
                    .collect();
                found.sort_unstable();
                assert_eq!(
                    found, expected,
                    "{doc:?} with min_df {min_df}, {max} features"
                );
            }
        }
    }

    fn tiny() -> ModelFile {
        ModelFile {
            format: FORMAT,
            name: "tiny@1".into(),
            trained_on: vec!["test".into()],
            items: 2,
            alpha: 1.0,
            features: vec![("遅".into(), 1.0), ("良".into(), 1.0)],
            heads: vec![
                HeadFile {
                    label: HeadLabel::Voice,
                    classes: vec!["complaint".into(), "praise".into()],
                    bias: vec![0.0, 0.0],
                    weights: vec![vec![2.0, -2.0], vec![-2.0, 2.0]],
                },
                HeadFile {
                    label: HeadLabel::Topics,
                    classes: vec!["delivery".into()],
                    bias: vec![-1.0],
                    weights: vec![vec![3.0, 0.0]],
                },
            ],
        }
    }

    #[test]
    fn predicts_with_softmax_and_sigmoid_heads() {
        let model = TextModel::from_file(tiny()).unwrap();
        let p = model.predict("遅い");
        let c = p.prob(HeadLabel::Voice, "complaint").unwrap();
        assert!(c > 0.95, "{c}");
        let sum: f32 = p.classes(HeadLabel::Voice).map(|(_, x)| x).sum();
        assert!((sum - 1.0).abs() < 1e-5);
        assert!(p.prob(HeadLabel::Topics, "delivery").unwrap() > 0.8);
        let q = model.predict("良い");
        assert!(q.prob(HeadLabel::Voice, "praise").unwrap() > 0.95);
        assert!(q.prob(HeadLabel::Topics, "delivery").unwrap() < 0.3);
        assert_eq!(q.prob(HeadLabel::Sentiment, "positive"), None);
        // "良い天気。遅い": the second sentence carries the complaint.
        let text = "良い天気。遅い";
        let pieces = [0..15, 15..text.len()];
        let p = model.predict(text);
        assert_eq!(p.strongest(&pieces, HeadLabel::Voice, "complaint"), Some(1));
        assert_eq!(p.strongest(&pieces, HeadLabel::Voice, "praise"), Some(0));
    }

    #[test]
    fn malformed_models_are_refused_with_the_reason() {
        let mut bad = tiny();
        bad.heads[0].weights[1].pop();
        let err = TextModel::from_file(bad).unwrap_err().to_string();
        assert!(
            err.contains("class praise has 1 weights for 2 features"),
            "{err}"
        );
        let mut old = tiny();
        old.format = 0;
        assert!(matches!(
            TextModel::from_file(old),
            Err(ModelError::Format { found: 0 })
        ));
        let mut long = tiny();
        long.features[0].0 = "遅すぎる".into();
        assert!(matches!(
            TextModel::from_file(long),
            Err(ModelError::Feature(_))
        ));
    }
}
