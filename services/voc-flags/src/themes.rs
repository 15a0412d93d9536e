//! Discovered themes: clusters of interactions built from their keywords, as pure functions (no IO,
//! no clock). The flagger feeds them a sliding window of interactions and stores what they return.
//!
//! The method is a keyword co-occurrence network with community detection, the way KH Coder draws
//! co-occurrence networks for Japanese survey answers (Higuchi, 2016), clustered with Louvain
//! modularity optimisation (Blondel et al., 2008; `graphrs`, fixed seed):
//! 1. **terms**: keywords (lemmas and compound nouns of masked text) in at least `min_term_df`
//!    interactions and at most `max_term_share` of them (ubiquitous words such as 電話 carry no
//!    theme), at most `max_terms` of the most frequent;
//! 2. **edges**: term pairs that co-occur in at least `min_edge_count` interactions, weighted by
//!    their Jaccard coefficient (co-occurrences / interactions with either) in whole percents,
//!    kept from `min_jaccard` up, as KH Coder does; at most the 50,000 strongest;
//! 3. **communities**: Louvain on that weighted graph; nodes are inserted in term order and the
//!    integer weights sum exactly in any order, so the result depends on the graph only, not on
//!    the order of the interactions nor on hash-map order inside graphrs;
//! 4. **members**: each interaction joins the community that shares most of its terms (at least
//!    `min_shared_terms`; ties to the community with more terms), so it belongs to at most one
//!    theme;
//!    a community whose members nearly all (80 %) also use a term of a larger one is absorbed
//!    into it, as a facet of the same theme;
//! 5. **themes**: communities with at least `min_size` members; their terms are ranked by how many
//!    members use them, and the top ones make the label.
//!
//! Memory is bounded by the window: each interaction is its id, its time and its term ids
//! (`u32`); the graph by `max_terms` nodes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Settings of the theme discovery (config `[flags.themes]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThemeConfig {
    /// The sliding window the themes are computed over, in days (the flagger reads
    /// `max(window_days, baseline_days)` days plus `recent_hours`, so that every baseline day has
    /// its recent hours).
    pub window_days: u32,
    /// A term must occur in at least this many interactions.
    pub min_term_df: u32,
    /// A term in more than this share of the window's interactions is too common to mark a theme.
    pub max_term_share: f64,
    /// At most this many terms (the most frequent) enter the graph.
    pub max_terms: usize,
    /// Two terms are linked when they co-occur in at least this many interactions…
    pub min_edge_count: u32,
    /// …with at least this Jaccard coefficient.
    pub min_jaccard: f64,
    /// Louvain resolution: above 1 favours smaller communities.
    pub resolution: f64,
    /// An interaction joins a theme when it shares at least this many of its terms.
    pub min_shared_terms: usize,
    /// A community becomes a theme with at least this many member interactions.
    pub min_size: usize,
    /// A theme is covered by a rule topic (it *is* that topic again) when at least this share of
    /// its members carry the topic and it holds at least this share of the topic's interactions;
    /// a theme inside a larger topic is a sub-problem, not covered.
    pub covered_share: f64,
    /// A new theme is one whose members in the last this many hours are far above the same hours
    /// of its baseline days (the spike test of `[flags]`)…
    pub recent_hours: u32,
    /// …and at least this many times its expected count: a theme *appears*; one that only grows
    /// is the spike and emerging detectors' business.
    pub new_min_ratio: f64,
    /// A theme keeps the id of a previous one when their core terms overlap this much (Jaccard).
    pub match_overlap: f64,
}

impl Default for ThemeConfig {
    fn default() -> Self {
        Self {
            window_days: 7,
            min_term_df: 3,
            max_term_share: 0.08,
            max_terms: 5_000,
            min_edge_count: 2,
            min_jaccard: 0.2,
            resolution: 1.0,
            min_shared_terms: 2,
            min_size: 5,
            covered_share: 0.5,
            recent_hours: 24,
            new_min_ratio: 5.0,
            match_overlap: 0.3,
        }
    }
}

impl ThemeConfig {
    /// Checks serde cannot express; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        let share = |v: f64| (0.0..=1.0).contains(&v);
        if self.window_days == 0 || self.min_size == 0 || self.min_shared_terms == 0 {
            return Err(
                "flags.themes: window_days, min_size and min_shared_terms must be at least 1"
                    .into(),
            );
        }
        if !share(self.max_term_share)
            || !share(self.min_jaccard)
            || !share(self.covered_share)
            || !share(self.match_overlap)
        {
            return Err("flags.themes: max_term_share, min_jaccard, covered_share and match_overlap are shares in 0..=1".into());
        }
        if !(1..=24).contains(&self.recent_hours) {
            return Err("flags.themes: recent_hours must be 1..=24".into());
        }
        if !(self.resolution > 0.0 && self.resolution.is_finite()) {
            return Err("flags.themes: resolution must be a positive number".into());
        }
        Ok(())
    }
}

/// The interactions of a window, interned: ids, times, term ids and rule topics.
#[derive(Debug, Default, Clone)]
pub struct Corpus {
    ids: Vec<String>,
    /// Seconds since the epoch.
    times: Vec<u32>,
    terms: Vec<String>,
    term_index: HashMap<String, u32>,
    doc_terms: Vec<u32>,
    doc_ends: Vec<usize>,
    topics: Vec<Vec<String>>,
}

impl Corpus {
    /// Adds one interaction; repeated keywords count once.
    pub fn push<'a>(
        &mut self,
        id: &str,
        at: u32,
        keywords: impl IntoIterator<Item = &'a str>,
        topics: Vec<String>,
    ) {
        let start = self.doc_terms.len();
        for k in keywords {
            let t = match self.term_index.get(k) {
                Some(&t) => t,
                None => {
                    let t = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
                    self.terms.push(k.to_string());
                    self.term_index.insert(k.to_string(), t);
                    t
                }
            };
            if !self.doc_terms[start..].contains(&t) {
                self.doc_terms.push(t);
            }
        }
        self.doc_ends.push(self.doc_terms.len());
        self.ids.push(id.to_string());
        self.times.push(at);
        self.topics.push(topics);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, doc: usize) -> &str {
        &self.ids[doc]
    }

    /// Seconds since the epoch.
    pub fn time(&self, doc: usize) -> u32 {
        self.times[doc]
    }

    pub fn topics(&self, doc: usize) -> &[String] {
        &self.topics[doc]
    }

    /// How many interactions carry each rule topic.
    pub fn topic_totals(&self) -> HashMap<&str, u64> {
        let mut totals = HashMap::new();
        for t in self.topics.iter().flatten() {
            *totals.entry(t.as_str()).or_insert(0) += 1;
        }
        totals
    }

    fn terms_of(&self, doc: usize) -> &[u32] {
        let start = if doc == 0 { 0 } else { self.doc_ends[doc - 1] };
        &self.doc_terms[start..self.doc_ends[doc]]
    }
}

/// A discovered cluster, before it gets an id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Its terms with the number of members using each, most used first.
    pub terms: Vec<(String, u64)>,
    /// Member interactions (indices into the corpus), in corpus order.
    pub members: Vec<usize>,
    /// Rule topics among the members with their counts, most frequent first.
    pub topics: Vec<(String, u64)>,
    /// Up to five members that share the most terms with the theme.
    pub samples: Vec<usize>,
}

impl Cluster {
    /// A readable label from the top terms (`エンジン停止・警告灯`); a term inside a longer one
    /// already shown is skipped.
    pub fn label(&self) -> String {
        let mut shown: Vec<&str> = Vec::new();
        for (t, _) in &self.terms {
            if shown.len() == 3 {
                break;
            }
            if !shown
                .iter()
                .any(|s| s.contains(t.as_str()) || t.contains(s))
            {
                shown.push(t);
            }
        }
        shown.join("・")
    }

    /// The terms that identify the theme from run to run: its top ten, each weighted by the
    /// share of members using it.
    pub fn core_terms(&self) -> Vec<(String, f64)> {
        core(&self.terms, self.members.len() as u64)
    }

    /// The rule topic this theme is, if any: at least `share` of its members carry it, and it
    /// holds at least `share` of the topic's interactions (`totals`, from [`Corpus::topic_totals`]).
    pub fn covered_by(&self, share: f64, totals: &HashMap<&str, u64>) -> Option<&str> {
        let n = self.members.len().max(1) as f64;
        self.topics
            .first()
            .filter(|(t, c)| {
                let total = totals.get(t.as_str()).copied().unwrap_or(0).max(1) as f64;
                *c as f64 / n >= share && *c as f64 / total >= share
            })
            .map(|(t, _)| t.as_str())
    }
}

impl Cluster {
    /// Up to `n` members, newest first (ties by id).
    pub fn latest(&self, corpus: &Corpus, n: usize) -> Vec<usize> {
        let mut members = self.members.clone();
        members.sort_by(|&a, &b| {
            corpus
                .time(b)
                .cmp(&corpus.time(a))
                .then_with(|| corpus.id(a).cmp(corpus.id(b)))
        });
        members.truncate(n);
        members
    }
}

/// The day offsets of the members that fall in the recent hours of a day: 0 for the last
/// `recent_s` seconds before `end`, d for the same hours d days earlier (others are left out), for
/// [`crate::detect::window_counts`].
pub fn member_days(corpus: &Corpus, members: &[usize], end: u32, recent_s: u32) -> Vec<u32> {
    members
        .iter()
        .filter_map(|&d| {
            let age = end.saturating_sub(1).saturating_sub(corpus.time(d));
            (age % 86_400 < recent_s).then_some(age / 86_400)
        })
        .collect()
}

/// The interactions whose theme changed: (interaction, its theme now, `""` for none), given what
/// each is assigned now and the theme (and version) stored for it before.
pub fn membership_changes<'a>(
    corpus: &Corpus,
    assigned: &HashMap<&str, &'a str>,
    before: &HashMap<String, (String, u64)>,
) -> Vec<(usize, &'a str)> {
    (0..corpus.len())
        .filter_map(|d| {
            let now_in = assigned.get(corpus.id(d)).copied().unwrap_or("");
            let was = before.get(corpus.id(d)).map_or("", |(t, _)| t.as_str());
            (was != now_in).then_some((d, now_in))
        })
        .collect()
}

/// Clusters the window's interactions into themes, largest first. Deterministic and independent of
/// the order of the interactions (ties are broken by term text).
pub fn discover(corpus: &Corpus, c: &ThemeConfig) -> Vec<Cluster> {
    let n = corpus.len();
    if n == 0 {
        return Vec::new();
    }
    // 1. terms
    let mut df = vec![0u32; corpus.terms.len()];
    for &t in &corpus.doc_terms {
        df[t as usize] += 1;
    }
    let max_df = ((c.max_term_share * n as f64).floor() as u32).max(c.min_term_df);
    let mut kept: Vec<u32> = (0..df.len() as u32)
        .filter(|&t| (c.min_term_df..=max_df).contains(&df[t as usize]))
        .filter(|&t| !is_fragment(&corpus.terms[t as usize]))
        .collect();
    kept.sort_by(|&a, &b| {
        df[b as usize]
            .cmp(&df[a as usize])
            .then_with(|| corpus.terms[a as usize].cmp(&corpus.terms[b as usize]))
    });
    kept.truncate(c.max_terms);
    let mut in_graph = vec![false; df.len()];
    for &t in &kept {
        in_graph[t as usize] = true;
    }

    // 2. edges
    let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
    let mut doc: Vec<u32> = Vec::new();
    for d in 0..n {
        doc.clear();
        doc.extend(
            corpus
                .terms_of(d)
                .iter()
                .copied()
                .filter(|&t| in_graph[t as usize]),
        );
        doc.sort_unstable();
        for (i, &a) in doc.iter().enumerate() {
            for &b in &doc[i + 1..] {
                *pairs.entry((a, b)).or_insert(0) += 1;
            }
        }
    }
    let mut edges: Vec<(&str, &str, f64)> = pairs
        .into_iter()
        .filter(|&(_, co)| co >= c.min_edge_count)
        .filter_map(|((a, b), co)| {
            let jaccard = f64::from(co) / f64::from(df[a as usize] + df[b as usize] - co).max(1.0);
            let (a, b) = (
                corpus.terms[a as usize].as_str(),
                corpus.terms[b as usize].as_str(),
            );
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            (jaccard >= c.min_jaccard).then_some((a, b, (jaccard * 100.0).round()))
        })
        .collect();
    // The strongest edges, at most MAX_EDGES, in a fixed order.
    edges.sort_by(|x, y| {
        y.2.total_cmp(&x.2)
            .then_with(|| (x.0, x.1).cmp(&(y.0, y.1)))
    });
    edges.truncate(MAX_EDGES);
    edges.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));

    // 3. communities
    let communities = louvain(&edges, c.resolution);
    let mut community_of: HashMap<&str, usize> = HashMap::new();
    for (i, members) in communities.iter().enumerate() {
        for t in members {
            community_of.insert(t.as_str(), i);
        }
    }
    let mut term_community: Vec<Option<usize>> = corpus
        .terms
        .iter()
        .map(|t| community_of.get(t.as_str()).copied())
        .collect();

    // 4. members
    let mut members: Vec<Vec<(usize, usize)>> = vec![Vec::new(); communities.len()];
    let mut shared: Vec<usize> = vec![0; communities.len()];
    for d in 0..n {
        let touched: Vec<usize> = corpus
            .terms_of(d)
            .iter()
            .filter_map(|&t| term_community[t as usize])
            .collect();
        for &k in &touched {
            shared[k] += 1;
        }
        let best = touched
            .iter()
            .copied()
            .max_by(|&a, &b| {
                shared[a]
                    .cmp(&shared[b])
                    .then_with(|| communities[a].len().cmp(&communities[b].len()))
                    .then_with(|| b.cmp(&a))
            })
            .filter(|&k| shared[k] >= c.min_shared_terms);
        if let Some(k) = best {
            members[k].push((d, shared[k]));
        }
        for &k in &touched {
            shared[k] = 0;
        }
    }

    // 4b. A community whose members nearly all also use a term of a larger one is a facet of that
    // theme (大音量・家族 inside 夜中・勝手・喋る): absorb it, smallest first.
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&k| (members[k].len(), k));
    for &b in &order {
        if members[b].is_empty() {
            continue;
        }
        let mut touching: HashMap<usize, usize> = HashMap::new();
        for &(d, _) in &members[b] {
            let mut seen: Vec<usize> = corpus
                .terms_of(d)
                .iter()
                .filter_map(|&t| term_community[t as usize])
                .filter(|&k| k != b && members[k].len() > members[b].len())
                .collect();
            seen.sort_unstable();
            seen.dedup();
            for k in seen {
                *touching.entry(k).or_insert(0) += 1;
            }
        }
        let host = touching
            .into_iter()
            .filter(|&(_, n)| n as f64 >= ABSORB_SHARE * members[b].len() as f64)
            .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(&x.0)));
        if let Some((a, _)) = host {
            let moved = std::mem::take(&mut members[b]);
            members[a].extend(moved);
            members[a].sort_unstable();
            for k in term_community.iter_mut() {
                if *k == Some(b) {
                    *k = Some(a);
                }
            }
        }
    }

    // 5. themes
    let mut out: Vec<Cluster> = members
        .into_iter()
        .enumerate()
        .filter(|(_, m)| m.len() >= c.min_size)
        .map(|(k, m)| describe(corpus, &term_community, k, m))
        .collect();
    out.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.terms.cmp(&b.terms))
    });
    out
}

/// At most this many edges (the strongest) enter Louvain. Edge weights are whole percents of
/// Jaccard (20..=100), so graphrs' `f32` sums stay below 2^24 (2 × 100 × 50,000 = 10^7) and are
/// exact in whatever order its hash maps add them: the partition is the same in every process.
const MAX_EDGES: usize = 50_000;

/// Share of a community's members that must also use a term of a larger community for it to be
/// absorbed as a facet of that theme.
const ABSORB_SHARE: f64 = 0.8;

/// Two kana or fewer in hiragana (さる, くだ, よう): pieces of function words and set phrases a
/// tokenizer left behind, never what a theme is about.
fn is_fragment(term: &str) -> bool {
    term.chars().count() <= 2 && term.chars().all(|c| ('\u{3041}'..='\u{309f}').contains(&c))
}

/// Louvain communities of the term graph, each sorted, in order of their first term. Node order is
/// the sorted term order, so the partition depends on the graph only.
fn louvain(edges: &[(&str, &str, f64)], resolution: f64) -> Vec<Vec<String>> {
    use graphrs::{Edge, Graph, GraphSpecs, Node};
    if edges.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<&str> = edges.iter().flat_map(|e| [e.0, e.1]).collect();
    names.sort_unstable();
    names.dedup();
    let nodes = names
        .iter()
        .map(|t| Node::from_name(t.to_string()))
        .collect();
    let links = edges
        .iter()
        .map(|(a, b, w)| Edge::with_weight(a.to_string(), b.to_string(), *w))
        .collect();
    let graph: Graph<String, ()> =
        match Graph::new_from_nodes_and_edges(nodes, links, GraphSpecs::undirected()) {
            Ok(g) => g,
            // Only duplicate or dangling edges fail, and the edges are unique pairs of known nodes.
            Err(_) => return Vec::new(),
        };
    let found = graphrs::algorithms::community::louvain::louvain_communities(
        &graph,
        true,
        Some(resolution),
        None,
        Some(0),
    )
    .unwrap_or_default();
    let mut communities: Vec<Vec<String>> = found
        .into_iter()
        .map(|set| {
            let mut v: Vec<String> = set.into_iter().collect();
            v.sort();
            v
        })
        .filter(|v| v.len() >= 2)
        .collect();
    communities.sort();
    communities
}

fn describe(
    corpus: &Corpus,
    term_community: &[Option<usize>],
    k: usize,
    members: Vec<(usize, usize)>,
) -> Cluster {
    let mut term_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut topic_counts: BTreeMap<&str, u64> = BTreeMap::new();
    for &(d, _) in &members {
        for &t in corpus.terms_of(d) {
            if term_community[t as usize] == Some(k) {
                *term_counts
                    .entry(corpus.terms[t as usize].as_str())
                    .or_insert(0) += 1;
            }
        }
        for topic in corpus.topics(d) {
            *topic_counts.entry(topic.as_str()).or_insert(0) += 1;
        }
    }
    let ranked = |m: BTreeMap<&str, u64>| {
        let mut v: Vec<(String, u64)> = m.into_iter().map(|(t, c)| (t.to_string(), c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut by_fit: Vec<(usize, usize)> = members.clone();
    by_fit.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| corpus.id(a.0).cmp(corpus.id(b.0)))
    });
    Cluster {
        terms: ranked(term_counts),
        topics: ranked(topic_counts),
        samples: by_fit.iter().take(5).map(|&(d, _)| d).collect(),
        members: members.into_iter().map(|(d, _)| d).collect(),
    }
}

/// The top ten of `terms` (term, members using it), weighted by their share of `size` members.
pub fn core(terms: &[(String, u64)], size: u64) -> Vec<(String, f64)> {
    terms
        .iter()
        .take(10)
        .map(|(t, n)| (t.clone(), *n as f64 / size.max(1) as f64))
        .collect()
}

/// A theme stored by an earlier run: its id and weighted core terms ([`core`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub id: String,
    pub core: Vec<(String, f64)>,
}

/// Who a new cluster is, and what happened to the earlier themes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lineage {
    /// One id per cluster, in the clusters' order.
    pub ids: Vec<String>,
    /// For a cluster that split off an earlier theme (which kept its id elsewhere): that theme.
    pub split_from: Vec<Option<String>>,
    /// Earlier themes absorbed into another: (earlier id, id of the theme it merged into).
    pub merged: Vec<(String, String)>,
}

/// Stable ids: each cluster takes the id of the earlier theme whose core terms overlap it most
/// (weighted Jaccard ≥ `overlap`: Σ min / Σ max of the terms' member shares, so the few terms
/// nearly every member uses carry a theme's identity and churn in its tail does not; best pairs
/// first, each id used once). A cluster without one gets a new id
/// from its core terms (`th-` and a hash), so the same themes found from scratch get the same ids.
/// A cluster overlapping an earlier theme that another cluster kept is a split; an earlier theme
/// overlapping a cluster that kept another id is a merge.
pub fn assign_ids(known: &[Known], clusters: &[Cluster], overlap: f64) -> Lineage {
    let cores: Vec<Vec<(String, f64)>> = clusters.iter().map(Cluster::core_terms).collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, core) in cores.iter().enumerate() {
        for (j, k) in known.iter().enumerate() {
            let o = jaccard(core, &k.core);
            if o >= overlap {
                pairs.push((o, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| known[a.2].id.cmp(&known[b.2].id))
    });
    let mut taken_by: Vec<Option<usize>> = vec![None; clusters.len()];
    let mut kept: Vec<Option<usize>> = vec![None; known.len()];
    for &(_, i, j) in &pairs {
        if taken_by[i].is_none() && kept[j].is_none() {
            taken_by[i] = Some(j);
            kept[j] = Some(i);
        }
    }
    let mut used: std::collections::BTreeSet<String> = known.iter().map(|k| k.id.clone()).collect();
    let mut lineage = Lineage::default();
    for (i, core) in cores.iter().enumerate() {
        match taken_by[i] {
            Some(j) => {
                lineage.ids.push(known[j].id.clone());
                lineage.split_from.push(None);
            }
            None => {
                let mut id = new_id(core, 0);
                let mut salt = 1;
                while used.contains(&id) {
                    id = new_id(core, salt);
                    salt += 1;
                }
                used.insert(id.clone());
                lineage.ids.push(id);
                lineage.split_from.push(
                    pairs
                        .iter()
                        .find(|p| p.1 == i)
                        .map(|p| known[p.2].id.clone()),
                );
            }
        }
    }
    for (j, k) in known.iter().enumerate() {
        if kept[j].is_some() {
            continue;
        }
        if let Some(&(_, i, _)) = pairs.iter().find(|p| p.2 == j) {
            lineage.merged.push((k.id.clone(), lineage.ids[i].clone()));
        }
    }
    lineage
}

/// Weighted Jaccard (Ruzicka similarity) of two weighted term lists.
fn jaccard(a: &[(String, f64)], b: &[(String, f64)]) -> f64 {
    let weight = |v: &[(String, f64)], t: &str| v.iter().find(|x| x.0 == t).map_or(0.0, |x| x.1);
    let (mut min, mut max) = (0.0, 0.0);
    for (t, w) in a {
        let o = weight(b, t);
        min += w.min(o);
        max += w.max(o);
    }
    for (t, w) in b {
        if weight(a, t) == 0.0 {
            max += w;
        }
    }
    if max > 0.0 { min / max } else { 0.0 }
}

/// `th-` and an FNV-1a hash of the sorted core terms (and a salt against collisions).
fn new_id(core: &[(String, f64)], salt: u32) -> String {
    let mut sorted: Vec<&str> = core.iter().map(|(t, _)| t.as_str()).collect();
    sorted.sort_unstable();
    let mut h: u32 = 0x811c_9dc5;
    for b in sorted.join("\u{1f}").bytes().chain(salt.to_le_bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("th-{h:08x}")
}

/// How well themes recover known classes (the gold topics of a labeled set, hidden from the
/// clustering): purity and normalised mutual information (NMI, arithmetic-mean normalisation, as in
/// scikit-learn's default) over the interactions that have both a theme and a gold class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    pub purity: f64,
    pub nmi: f64,
    /// Interactions scored (with a theme and a gold class).
    pub scored: usize,
}

/// `pairs`: (theme index, gold class) for every interaction that has both.
pub fn agreement(pairs: &[(usize, &str)]) -> Agreement {
    let n = pairs.len() as f64;
    if pairs.is_empty() {
        return Agreement {
            purity: 0.0,
            nmi: 0.0,
            scored: 0,
        };
    }
    let mut joint: BTreeMap<(usize, &str), f64> = BTreeMap::new();
    let mut by_theme: BTreeMap<usize, f64> = BTreeMap::new();
    let mut by_class: BTreeMap<&str, f64> = BTreeMap::new();
    for &(t, g) in pairs {
        *joint.entry((t, g)).or_insert(0.0) += 1.0;
        *by_theme.entry(t).or_insert(0.0) += 1.0;
        *by_class.entry(g).or_insert(0.0) += 1.0;
    }
    let mut best: BTreeMap<usize, f64> = BTreeMap::new();
    for (&(t, _), &c) in &joint {
        let e = best.entry(t).or_insert(0.0);
        *e = e.max(c);
    }
    let purity = best.values().sum::<f64>() / n;
    let entropy =
        |counts: Vec<f64>| -> f64 { counts.iter().map(|&c| -(c / n) * (c / n).ln()).sum() };
    let mi: f64 = joint
        .iter()
        .map(|(&(t, g), &c)| (c / n) * ((c * n) / (by_theme[&t] * by_class[g])).ln())
        .sum();
    let denom = (entropy(by_theme.values().copied().collect())
        + entropy(by_class.values().copied().collect()))
        / 2.0;
    let nmi = if denom > 0.0 { mi / denom } else { 1.0 };
    Agreement {
        purity,
        nmi,
        scored: pairs.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two problems with their own vocabulary, plus noise that shares no terms.
    fn corpus(order_seed: u64) -> Corpus {
        let mut docs: Vec<(String, Vec<&str>, Vec<String>)> = Vec::new();
        let engine = ["エンジン", "警告灯", "停止", "走行中", "点灯"];
        let coupon = ["クーポン", "キャンペーン", "適用", "ポイント", "還元"];
        for i in 0..30 {
            let pick = |v: &[&'static str; 5]| -> Vec<&'static str> {
                (0..3).map(|k| v[(i + k * 2) % 5]).collect()
            };
            docs.push((format!("e{i:02}"), pick(&engine), vec!["product".into()]));
            docs.push((format!("c{i:02}"), pick(&coupon), vec![]));
            docs.push((format!("n{i:02}"), vec!["ひとこと"], vec![]));
        }
        // A deterministic shuffle.
        let mut rng = order_seed;
        for i in (1..docs.len()).rev() {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            docs.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let mut c = Corpus::default();
        for (id, kw, topics) in docs {
            c.push(&id, 0, kw, topics);
        }
        c
    }

    fn config() -> ThemeConfig {
        ThemeConfig {
            max_term_share: 0.5,
            ..ThemeConfig::default()
        }
    }

    fn summary(c: &Corpus, themes: &[Cluster]) -> Vec<(String, Vec<String>)> {
        themes
            .iter()
            .map(|t| {
                let mut ids: Vec<String> = t.members.iter().map(|&d| c.id(d).to_string()).collect();
                ids.sort();
                (t.label(), ids)
            })
            .collect()
    }

    #[test]
    fn two_problems_with_their_own_words_are_two_themes_and_noise_is_none() {
        let c = corpus(1);
        let themes = discover(&c, &config());
        assert_eq!(themes.len(), 2, "{themes:?}");
        for t in &themes {
            assert_eq!(t.members.len(), 30);
            let first = c.id(t.members[0]).chars().next();
            assert!(
                t.members.iter().all(|&d| c.id(d).chars().next() == first),
                "a theme mixes problems: {:?}",
                summary(&c, &themes)
            );
            assert!(t.samples.len() <= 5 && !t.samples.is_empty());
        }
        let engine = themes
            .iter()
            .find(|t| t.terms.iter().any(|(w, _)| w == "エンジン"))
            .expect("engine theme");
        let totals = c.topic_totals();
        assert_eq!(engine.covered_by(0.5, &totals), Some("product"));
        let mut bigger = totals.clone();
        bigger.insert("product", 300);
        assert_eq!(
            engine.covered_by(0.5, &bigger),
            None,
            "a tenth of a large topic is a sub-problem, not the topic"
        );
        let coupon = themes
            .iter()
            .find(|t| t.terms.iter().any(|(w, _)| w == "クーポン"))
            .expect("coupon theme");
        assert_eq!(
            coupon.covered_by(0.5, &totals),
            None,
            "no rule topic covers it"
        );
        assert_eq!(coupon.label().split('・').count(), 3);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_of_interactions() {
        let a = corpus(1);
        let b = corpus(99);
        let sa = summary(&a, &discover(&a, &config()));
        let sb = summary(&b, &discover(&b, &config()));
        assert_eq!(sa, sb);
        assert_eq!(sa, summary(&a, &discover(&a, &config())), "deterministic");
    }

    #[test]
    fn every_interaction_is_in_at_most_one_theme_and_themes_are_bounded() {
        let c = corpus(7);
        let themes = discover(&c, &config());
        let mut seen = vec![false; c.len()];
        for t in &themes {
            assert!(t.members.len() >= config().min_size);
            for &d in &t.members {
                assert!(!seen[d], "{} in two themes", c.id(d));
                seen[d] = true;
            }
        }
        let tiny = ThemeConfig {
            max_terms: 1,
            ..config()
        };
        assert!(
            discover(&c, &tiny).is_empty(),
            "one term makes no edge, so no theme"
        );
        assert!(discover(&Corpus::default(), &config()).is_empty());
    }

    #[test]
    fn ids_persist_while_core_terms_do_and_splits_and_merges_are_recorded() {
        let c = corpus(1);
        let themes = discover(&c, &config());
        let first = assign_ids(&[], &themes, 0.3);
        assert_eq!(first.ids.len(), 2);
        assert_ne!(first.ids[0], first.ids[1]);
        assert_eq!(
            first.ids,
            assign_ids(&[], &themes, 0.3).ids,
            "same themes, same ids"
        );

        let known: Vec<Known> = themes
            .iter()
            .zip(&first.ids)
            .map(|(t, id)| Known {
                id: id.clone(),
                core: t.core_terms(),
            })
            .collect();
        // The next run finds the same themes in the other order: ids follow the terms.
        let reversed: Vec<Cluster> = themes.iter().rev().cloned().collect();
        let again = assign_ids(&known, &reversed, 0.3);
        assert_eq!(again.ids, vec![first.ids[1].clone(), first.ids[0].clone()]);
        assert!(again.merged.is_empty() && again.split_from.iter().all(Option::is_none));

        // One theme splits in two: one half keeps the id, the other records where it came from.
        let mut half_a = themes[0].clone();
        let mut half_b = themes[0].clone();
        half_a.terms.truncate(3);
        half_b.terms = themes[0].terms[2..].to_vec();
        let split = assign_ids(&known[..1], &[half_a.clone(), half_b], 0.3);
        assert!(split.ids.contains(&first.ids[0]));
        assert_eq!(
            split.split_from.iter().flatten().collect::<Vec<_>>(),
            vec![&first.ids[0]]
        );

        // Two earlier themes that overlap one cluster: one keeps its id, the other merged into it.
        let mut both = themes[0].clone();
        both.terms.extend(themes[1].terms.iter().cloned());
        both.terms.truncate(10);
        let known_overlapping = vec![
            Known {
                id: "th-a".into(),
                core: both.core_terms()[..5].to_vec(),
            },
            Known {
                id: "th-b".into(),
                core: both.core_terms()[3..].to_vec(),
            },
        ];
        let merged = assign_ids(&known_overlapping, &[both], 0.3);
        assert_eq!(merged.merged.len(), 1, "{merged:?}");
        assert_eq!(merged.merged[0].1, merged.ids[0]);
    }

    proptest::proptest! {
        /// Random windows: problems with their own words in a shared background, in any order.
        #[test]
        fn discovery_is_order_independent_deterministic_and_bounded(
            docs in proptest::collection::vec(
                (0..4usize, proptest::collection::vec(0..6usize, 1..5), proptest::collection::vec(0..30usize, 0..4)),
                0..150,
            ),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let build = |order: &[usize]| {
                let mut c = Corpus::default();
                for &i in order {
                    let (problem, own, background) = &docs[i];
                    let mut words: Vec<String> = own.iter().map(|w| format!("p{problem}w{w}")).collect();
                    words.extend(background.iter().map(|w| format!("bg{w}")));
                    c.push(&format!("d{i:03}"), 0, words.iter().map(String::as_str), vec![]);
                }
                c
            };
            let forward: Vec<usize> = (0..docs.len()).collect();
            let mut shuffled = forward.clone();
            let mut rng = seed;
            for i in (1..shuffled.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let config = ThemeConfig { max_term_share: 0.5, ..ThemeConfig::default() };
            let a = build(&forward);
            let b = build(&shuffled);
            let ta = discover(&a, &config);
            proptest::prop_assert_eq!(summary(&a, &ta), summary(&b, &discover(&b, &config)));
            proptest::prop_assert_eq!(&ta, &discover(&a, &config));
            let mut seen = vec![false; a.len()];
            for t in &ta {
                proptest::prop_assert!(t.members.len() >= config.min_size);
                proptest::prop_assert!(!t.terms.is_empty() && t.samples.len() <= 5);
                for &d in &t.members {
                    proptest::prop_assert!(!seen[d], "an interaction in two themes");
                    seen[d] = true;
                }
            }
            let ids = assign_ids(&[], &ta, 0.3).ids;
            let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
            proptest::prop_assert_eq!(unique.len(), ids.len());
        }
    }

    #[test]
    fn the_same_window_gives_the_same_themes_however_often_it_runs() {
        // graphrs builds its hash maps afresh (a new random order) at every call; the themes of
        // a window with many near-ties must not change with it.
        let mut c = Corpus::default();
        for i in 0..300u32 {
            let p = i % 7;
            let words: Vec<String> = (0..4)
                .map(|k| format!("問題{p}語{}", (i / 7 + k * (p + 1)) % 6))
                .chain([
                    format!("背景{}", (i * 37) % 23),
                    format!("背景{}", (i * 11) % 17),
                ])
                .collect();
            c.push(
                &format!("d{i:03}"),
                0,
                words.iter().map(String::as_str),
                vec![],
            );
        }
        let first = discover(&c, &config());
        assert!(first.len() >= 5, "{}", first.len());
        for _ in 0..30 {
            assert_eq!(discover(&c, &config()), first);
        }
    }

    #[test]
    fn recent_hours_count_by_day_and_only_changed_memberships_are_written() {
        let mut c = Corpus::default();
        let end = 10 * 86_400;
        for (id, at) in [
            ("now", end - 60),
            ("yesterday", end - 86_400 - 60),
            ("night", end - 13 * 3_600),
            ("old", end - 3 * 86_400 - 60),
        ] {
            c.push(id, at, ["語"], vec![]);
        }
        let all: Vec<usize> = (0..c.len()).collect();
        assert_eq!(
            member_days(&c, &all, end, 12 * 3_600),
            [0, 1, 3],
            "13 h ago is outside the recent 12 h"
        );
        let cluster = Cluster {
            terms: vec![],
            members: all,
            topics: vec![],
            samples: vec![],
        };
        assert_eq!(cluster.latest(&c, 2), [0, 2]);
        let assigned: HashMap<&str, &str> = [("now", "th-a"), ("yesterday", "th-b")].into();
        let before: HashMap<String, (String, u64)> = [
            ("now".to_string(), ("th-a".to_string(), 5)),
            ("yesterday".to_string(), ("th-a".to_string(), 5)),
            ("night".to_string(), ("th-a".to_string(), 5)),
        ]
        .into();
        let changed = membership_changes(&c, &assigned, &before);
        assert_eq!(
            changed,
            [(1, "th-b"), (2, "")],
            "unchanged: now; never in one: old"
        );
    }

    #[test]
    fn a_theme_keeps_its_id_when_only_its_tail_terms_change() {
        let w = |v: &[(&str, f64)]| -> Vec<(String, f64)> {
            v.iter().map(|(t, x)| (t.to_string(), *x)).collect()
        };
        let before = w(&[
            ("勝手", 0.95),
            ("喋る", 0.9),
            ("夜中", 0.85),
            ("家族", 0.2),
            ("起きる", 0.2),
            ("大音量", 0.2),
            ("深夜", 0.2),
        ]);
        let after = w(&[
            ("勝手", 0.95),
            ("喋る", 0.95),
            ("夜中", 0.9),
            ("ランプ", 0.43),
            ("点滅", 0.43),
            ("録音", 0.43),
            ("心配", 0.43),
        ]);
        assert!(
            jaccard(&before, &after) >= 0.3,
            "{}",
            jaccard(&before, &after)
        );
        let other = w(&[("請求", 0.9), ("二重", 0.8), ("夜中", 0.1)]);
        assert!(jaccard(&before, &other) < 0.1);
    }

    #[test]
    fn agreement_is_one_for_a_perfect_partition_and_low_for_a_random_one() {
        let perfect = [(0, "a"), (0, "a"), (1, "b"), (1, "b")];
        let a = agreement(&perfect);
        assert!((a.purity - 1.0).abs() < 1e-9 && (a.nmi - 1.0).abs() < 1e-9);
        let mixed = [(0, "a"), (0, "b"), (1, "a"), (1, "b")];
        let m = agreement(&mixed);
        assert!((m.purity - 0.5).abs() < 1e-9 && m.nmi.abs() < 1e-9);
    }
}
