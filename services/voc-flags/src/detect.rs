//! Flag detection as pure functions over counts: no IO, no clock (the caller passes windows).
//!
//! - **spike**: a topic (× complaint type × product) whose count in the recent window is far above
//!   its own baseline (the same hours of the trailing days). The score is a Poisson z-score,
//!   `(count − expected) / √(expected + 1)`; a minimum count keeps small numbers from paging anyone.
//! - **emerging**: keywords whose document frequency jumps against their own baseline, including
//!   new ones; keywords that occur in the same interactions are grouped, so one new problem
//!   (認証コード + 届かない) is one flag, not five.
//! - **new theme**: a discovered theme no rule topic covers, far above its own baseline the same
//!   way (the Poisson score of spikes); emerging terms of the same problem fold into it;
//! - **recurring**: a topic (× product) whose complaints stay high in volume and negative share on
//!   most days of the last week, ranked by volume × negative share × mean severity;
//! - **repeat contact** and **escalation** are selections, made in the store queries.

use std::collections::{BTreeMap, BTreeSet};

voc_core::closed_set! {
    /// What a flag is about.
    pub enum FlagKind("flag kind") {
        /// A topic (or a product, channel or keyword in it) far above its baseline.
        Spike = "spike",
        /// Keywords new against the baseline, co-occurring.
        Emerging = "emerging",
        /// The same customer about the same topic again within days.
        RepeatContact = "repeat_contact",
        /// A complaint that names a manager, a regulator or going public.
        Escalation = "escalation",
        /// A discovered theme no rule topic covers, far above its baseline.
        NewTheme = "new_theme",
        /// A topic whose complaints stay high and negative day after day.
        Recurring = "recurring",
    }
}

/// Thresholds of the detectors (config `[flags]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Minimum interactions in the window before a spike or emerging term is flagged.
    pub min_count: u64,
    /// Minimum Poisson z-score.
    pub min_score: f64,
    /// Minimum ratio of the window count to its expected count.
    pub min_ratio: f64,
    /// A keyword joins a group when at least this share of its interactions are already in it.
    pub group_overlap: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_count: 5,
            min_score: 3.0,
            min_ratio: 2.0,
            group_overlap: 0.5,
        }
    }
}

/// How unusual `count` is against an `expected` count: a Poisson z-score.
pub fn poisson_score(count: u64, expected: f64) -> f64 {
    (count as f64 - expected) / (expected + 1.0).sqrt()
}

/// A series' count in the recent window and its counts in the same window on baseline days.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCounts {
    pub key: String,
    pub count: u64,
    /// One count per baseline day (same hours), zeros included.
    pub baseline: Vec<u64>,
}

/// A detected anomaly, before it is matched with stored flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub kind: FlagKind,
    pub key: String,
    pub count: u64,
    pub baseline: f64,
    pub score: f64,
    pub sample_ids: Vec<String>,
    /// For a spike: the rising terms of the same interactions (認証コード, SMS), folded in from
    /// emerging detection so that one problem is one flag.
    pub terms: Vec<String>,
}

/// An emerging group with all its interactions, before folding.
#[derive(Debug, Clone, PartialEq)]
pub struct Emerging {
    pub detection: Detection,
    pub interactions: BTreeSet<String>,
}

/// One problem, one flag: an emerging group whose interactions mostly (`overlap`) carry the topic
/// of a spike is folded into that spike as its terms. Returns the groups that stay on their own
/// (problems the taxonomy does not name).
pub fn fold_into_spikes(
    spikes: &mut [Detection],
    emerging: Vec<Emerging>,
    topics_of: &BTreeMap<String, Vec<String>>,
    overlap: f64,
) -> Vec<Detection> {
    let mut rest = Vec::new();
    for e in emerging {
        let n = e.interactions.len().max(1) as f64;
        let home = spikes.iter_mut().find(|s| {
            let topic = s.key.split('/').next().unwrap_or("");
            let with_topic = e
                .interactions
                .iter()
                .filter(|id| {
                    topics_of
                        .get(*id)
                        .is_some_and(|t| t.iter().any(|x| x == topic))
                })
                .count();
            with_topic as f64 / n >= overlap
        });
        match home {
            Some(spike) => spike
                .terms
                .extend(e.detection.key.split('+').map(str::to_string)),
            None => rest.push(e.detection),
        }
    }
    rest
}

/// Spikes: series whose window count is unusual against the mean of their baseline days.
pub fn spikes(series: &[WindowCounts], t: &Thresholds) -> Vec<Detection> {
    let mut out: Vec<Detection> = series
        .iter()
        .filter_map(|s| {
            let expected = if s.baseline.is_empty() {
                0.0
            } else {
                s.baseline.iter().sum::<u64>() as f64 / s.baseline.len() as f64
            };
            let score = poisson_score(s.count, expected);
            let unusual = s.count >= t.min_count
                && score >= t.min_score
                && s.count as f64 >= t.min_ratio * expected;
            unusual.then(|| Detection {
                kind: FlagKind::Spike,
                key: s.key.clone(),
                count: s.count,
                baseline: expected,
                score,
                sample_ids: Vec::new(),
                terms: Vec::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// A keyword in the recent window: the interactions it occurs in, and its expected count
/// (its baseline rate scaled to the window).
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordWindow {
    pub keyword: String,
    pub interactions: BTreeSet<String>,
    pub expected: f64,
}

/// Emerging terms, grouped by co-occurrence. Each group's key is its strongest keywords joined with
/// `+`; its count is the number of distinct interactions mentioning any of them.
pub fn emerging(keywords: &[KeywordWindow], t: &Thresholds) -> Vec<Emerging> {
    let mut rising: Vec<(&KeywordWindow, f64)> = keywords
        .iter()
        .filter_map(|k| {
            let count = k.interactions.len() as u64;
            let score = poisson_score(count, k.expected);
            (count >= t.min_count
                && score >= t.min_score
                && count as f64 >= t.min_ratio * k.expected)
                .then_some((k, score))
        })
        .collect();
    rising.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| a.0.keyword.cmp(&b.0.keyword))
    });

    // Greedy grouping, strongest first: a keyword joins the first group that already holds most
    // of its interactions, so the words of one new problem (認証コード, SMS, 届かない, 再送…)
    // make one flag however they are phrased.
    // (members with their scores, the union of their interactions)
    type Group<'a> = (Vec<(&'a KeywordWindow, f64)>, BTreeSet<String>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (k, score) in rising {
        let home = groups
            .iter_mut()
            .find(|(_, ids)| containment(&k.interactions, ids) >= t.group_overlap);
        match home {
            Some((members, ids)) => {
                members.push((k, score));
                ids.extend(k.interactions.iter().cloned());
            }
            None => groups.push((vec![(k, score)], k.interactions.clone())),
        }
    }
    groups
        .into_iter()
        .map(|(g, members)| {
            let expected: f64 = g.iter().map(|(k, _)| k.expected).fold(0.0, f64::max);
            let mut names: Vec<&str> = g.iter().take(3).map(|(k, _)| k.keyword.as_str()).collect();
            names.sort();
            Emerging {
                detection: Detection {
                    kind: FlagKind::Emerging,
                    key: names.join("+"),
                    count: members.len() as u64,
                    baseline: expected,
                    score: g[0].1,
                    sample_ids: members.iter().take(5).cloned().collect(),
                    terms: Vec::new(),
                },
                interactions: members,
            }
        })
        .collect()
}

/// The share of `a` that is in `b`.
fn containment(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() {
        0.0
    } else {
        a.intersection(b).count() as f64 / a.len() as f64
    }
}

/// New themes: uncovered themes (`windows` keyed by theme id) whose recent count is unusual against
/// their baseline days, by the same test as [`spikes`]. `terms` are the themes' top terms.
pub fn new_themes(
    windows: &[WindowCounts],
    terms: &BTreeMap<String, Vec<String>>,
    t: &Thresholds,
) -> Vec<Detection> {
    spikes(windows, t)
        .into_iter()
        .map(|d| Detection {
            kind: FlagKind::NewTheme,
            terms: terms.get(&d.key).cloned().unwrap_or_default(),
            ..d
        })
        .collect()
}

/// Whether `words` (an emerging group's or a spike's terms) name the problem of a theme with
/// `terms`: at least half of them are its terms.
fn same_problem<'a>(words: impl IntoIterator<Item = &'a str>, terms: &[String]) -> bool {
    let words: Vec<&str> = words.into_iter().collect();
    let shared = words
        .iter()
        .filter(|w| terms.iter().any(|t| t == *w))
        .count();
    !words.is_empty() && 2 * shared >= words.len()
}

/// One problem, one flag, between spikes, new themes and emerging terms:
/// - a spike names a new theme's problem when its rising terms are mostly the theme's and at least
///   half of the theme's members carry the spike's topic (`topic_share(theme id, topic)`, 0–1): a
///   theme that joins the spike's interactions to another topic's through a shared word (届かない
///   of parcels and of SMS codes) is a different, broader thing, not the spike made precise. If
///   that spike is already an active flag (`active_spike`), the theme is left out; otherwise the
///   theme, the more precise of the two, is kept and the spike is dropped;
/// - an emerging group whose terms are a kept theme's is part of that theme's flag.
///
/// Returns the kept themes, the keys of the spikes to drop, and the emerging groups that stay.
pub fn dedupe_themes(
    spikes: &[Detection],
    themes: Vec<Detection>,
    emerging: Vec<Detection>,
    active_spike: impl Fn(&str) -> bool,
    topic_share: impl Fn(&str, &str) -> f64,
) -> (Vec<Detection>, Vec<String>, Vec<Detection>) {
    let mut dropped_spikes = Vec::new();
    let mut kept = Vec::new();
    for t in themes {
        let same: Vec<&Detection> = spikes
            .iter()
            .filter(|s| {
                let topic = s.key.split('/').next().unwrap_or_default();
                same_problem(s.terms.iter().map(String::as_str), &t.terms)
                    && topic_share(&t.key, topic) >= 0.5
            })
            .collect();
        if same.iter().any(|s| active_spike(&s.key)) {
            continue;
        }
        dropped_spikes.extend(same.iter().map(|s| s.key.clone()));
        kept.push(t);
    }
    let emerging = emerging
        .into_iter()
        .filter(|e| {
            !kept
                .iter()
                .any(|t| same_problem(e.key.split('+'), &t.terms))
        })
        .collect();
    (kept, dropped_spikes, emerging)
}

/// One day of one key's complaints (day 0 is the last 24 hours).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyComplaints {
    pub key: String,
    pub day: u32,
    pub complaints: u64,
    pub negative: u64,
    pub severity_sum: u64,
}

/// How a recurring problem is recognised (config `[flags]` recurring_*).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recurrence {
    /// Days that must be high…
    pub days: u32,
    /// …among the last this many.
    pub of_days: u32,
    /// A day is high with at least this many complaints…
    pub min_daily: u64,
    /// …at least this share of them negative.
    pub negative_share: f64,
}

/// Recurring problems: keys with enough high days, strongest first. A flag's `count` is the
/// complaints over the days looked at, its `baseline` the number of high days, its `score`
/// complaints × negative share × mean severity.
pub fn recurring(rows: &[DailyComplaints], r: &Recurrence) -> Vec<Detection> {
    let mut by_key: BTreeMap<&str, Vec<&DailyComplaints>> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.day < r.of_days) {
        by_key.entry(row.key.as_str()).or_default().push(row);
    }
    let mut out: Vec<Detection> = by_key
        .into_iter()
        .filter_map(|(key, days)| {
            let high = days
                .iter()
                .filter(|d| {
                    d.complaints >= r.min_daily
                        && d.negative as f64 >= r.negative_share * d.complaints as f64
                })
                .count() as u32;
            let complaints: u64 = days.iter().map(|d| d.complaints).sum();
            let negative: u64 = days.iter().map(|d| d.negative).sum();
            let severity: u64 = days.iter().map(|d| d.severity_sum).sum();
            (high >= r.days && complaints > 0).then(|| {
                let n = complaints as f64;
                Detection {
                    kind: FlagKind::Recurring,
                    key: key.to_string(),
                    count: complaints,
                    baseline: f64::from(high),
                    score: n * (negative as f64 / n) * (severity as f64 / n),
                    sample_ids: Vec::new(),
                    terms: Vec::new(),
                }
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
    out
}

/// Groups rows of (key, day offset, count) into window counts with one slot per baseline day.
pub fn window_counts(rows: &[(String, u32, u64)], baseline_days: u32) -> Vec<WindowCounts> {
    let mut by_key: BTreeMap<&str, WindowCounts> = BTreeMap::new();
    for (key, day, count) in rows {
        let entry = by_key.entry(key.as_str()).or_insert_with(|| WindowCounts {
            key: key.clone(),
            count: 0,
            baseline: vec![0; baseline_days as usize],
        });
        match *day {
            0 => entry.count += count,
            d if d <= baseline_days => entry.baseline[(d - 1) as usize] += count,
            _ => {}
        }
    }
    by_key.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(word: &str, ids: std::ops::Range<u32>, expected: f64) -> KeywordWindow {
        KeywordWindow {
            keyword: word.into(),
            interactions: ids.map(|i| format!("i{i}")).collect(),
            expected,
        }
    }

    #[test]
    fn a_burst_against_a_steady_baseline_is_a_spike_and_steady_volume_is_not() {
        let series = window_counts(
            &[
                ("billing".into(), 0, 4),
                ("billing".into(), 1, 4),
                ("billing".into(), 2, 5),
                ("billing".into(), 3, 3),
                ("account_login".into(), 0, 25),
                ("account_login".into(), 1, 2),
                ("account_login".into(), 3, 1),
            ],
            7,
        );
        let flags = spikes(&series, &Thresholds::default());
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!(flags[0].key, "account_login");
        assert!((flags[0].baseline - 3.0 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn small_numbers_never_page_anyone() {
        // From zero to four is "infinitely" unusual, but four is below the minimum count.
        let series = window_counts(&[("privacy_security".into(), 0, 4)], 7);
        assert!(spikes(&series, &Thresholds::default()).is_empty());
    }

    #[test]
    fn co_occurring_new_keywords_make_one_emerging_flag() {
        let words = [
            kw("認証コード", 0..30, 0.2),
            kw("届かない", 2..30, 1.0),
            kw("SMS", 5..25, 0.1),
            kw("請求", 100..106, 5.0),         // steady: not rising
            kw("ダークモード", 200..207, 0.1), // rising, but in other interactions
        ];
        let flags: Vec<Detection> = emerging(&words, &Thresholds::default())
            .into_iter()
            .map(|e| e.detection)
            .collect();
        assert_eq!(flags.len(), 2, "{flags:?}");
        assert_eq!(flags[0].key, "SMS+届かない+認証コード");
        assert_eq!(flags[0].count, 30);
        assert_eq!(flags[1].key, "ダークモード");
        assert!(flags.iter().all(|f| f.sample_ids.len() <= 5));
    }

    #[test]
    fn an_emerging_group_inside_a_spiking_topic_becomes_that_spikes_terms() {
        let words = [
            kw("認証コード", 0..20, 0.0),
            kw("ダークモード", 100..108, 0.0),
        ];
        let groups = emerging(&words, &Thresholds::default());
        let topics_of: BTreeMap<String, Vec<String>> = (0..20)
            .map(|i| (format!("i{i}"), vec!["account_login".to_string()]))
            .collect();
        let mut spikes = vec![Detection {
            kind: FlagKind::Spike,
            key: "account_login".into(),
            count: 20,
            baseline: 0.5,
            score: 9.0,
            sample_ids: vec![],
            terms: vec![],
        }];
        let rest = fold_into_spikes(&mut spikes, groups, &topics_of, 0.6);
        assert_eq!(spikes[0].terms, ["認証コード"]);
        assert_eq!(
            rest.len(),
            1,
            "a problem the topics do not cover stays a flag of its own"
        );
        assert_eq!(rest[0].key, "ダークモード");
    }

    fn day(key: &str, day: u32, complaints: u64, negative: u64) -> DailyComplaints {
        DailyComplaints {
            key: key.into(),
            day,
            complaints,
            negative,
            severity_sum: complaints * 2,
        }
    }

    #[test]
    fn a_problem_bad_every_day_is_recurring_and_a_bad_day_or_a_calm_topic_is_not() {
        let r = Recurrence {
            days: 5,
            of_days: 7,
            min_daily: 3,
            negative_share: 0.5,
        };
        let mut rows = Vec::new();
        for d in 0..7 {
            rows.push(day("billing", d, 10, 7)); // high and negative every day
            rows.push(day("delivery", d, 10, 2)); // many, but calm
        }
        rows.push(day("app_web", 0, 40, 40)); // one bad day
        for d in 0..4 {
            rows.push(day("wait_time", d, 5, 5)); // four days only
        }
        rows.push(day("billing", 9, 50, 50)); // outside the days looked at
        let found = recurring(&rows, &r);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "billing");
        assert_eq!(found[0].count, 70);
        assert_eq!(found[0].baseline, 7.0);
        assert!((found[0].score - 70.0 * 0.7 * 2.0).abs() < 1e-9);
    }

    #[test]
    fn one_problem_one_flag_between_spikes_new_themes_and_emerging_terms() {
        let theme = Detection {
            kind: FlagKind::NewTheme,
            key: "th-1".into(),
            count: 20,
            baseline: 0.0,
            score: 8.0,
            sample_ids: vec![],
            terms: vec!["クーポン".into(), "適用".into(), "キャンペーン".into()],
        };
        let emerging = |key: &str| Detection {
            kind: FlagKind::Emerging,
            key: key.into(),
            ..theme.clone()
        };
        let none_active = |_: &str| false;
        // th-1's members: 80 % carry `product`, 20 % `billing`.
        let share = |theme: &str, topic: &str| match (theme, topic) {
            ("th-1", "product") => 0.8,
            ("th-1", "billing") => 0.2,
            _ => 0.0,
        };
        let (kept, _, rest) = dedupe_themes(
            &[],
            vec![theme.clone()],
            vec![emerging("クーポン+適用+使えない"), emerging("ダークモード")],
            none_active,
            share,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].key, "ダークモード");
        // A spike whose rising terms are the theme's names the same problem: the theme, more
        // precise, replaces a new spike, and defers to one already raised.
        let spike = Detection {
            kind: FlagKind::Spike,
            key: "product/quality/smart-speaker".into(),
            terms: vec!["クーポン".into(), "使えない".into()],
            ..theme.clone()
        };
        let other = Detection {
            terms: vec!["ダークモード".into()],
            ..spike.clone()
        };
        let (kept, dropped, _) = dedupe_themes(
            std::slice::from_ref(&spike),
            vec![theme.clone()],
            vec![],
            none_active,
            share,
        );
        assert_eq!((kept.len(), dropped), (1, vec![spike.key.clone()]));
        let (kept, dropped, _) = dedupe_themes(
            std::slice::from_ref(&spike),
            vec![theme.clone()],
            vec![],
            |_| true,
            share,
        );
        assert!(kept.is_empty() && dropped.is_empty());
        let (kept, dropped, _) =
            dedupe_themes(&[other], vec![theme.clone()], vec![], none_active, share);
        assert_eq!((kept.len(), dropped.len()), (1, 0));
        // The same terms rising in a topic that is a minority of the theme's members: the theme
        // mixes that spike with another problem, so both stay.
        let minority = Detection {
            key: "billing/billing/mobile-app".into(),
            ..spike.clone()
        };
        let (kept, dropped, _) = dedupe_themes(
            std::slice::from_ref(&minority),
            vec![theme.clone()],
            vec![],
            none_active,
            share,
        );
        assert_eq!((kept.len(), dropped.len()), (1, 0));
        let mut rows = vec![("th-1".to_string(), 0, 20)];
        rows.extend((0..=7).map(|d| ("th-2".to_string(), d, 20)));
        let windows = window_counts(&rows, 7);
        let terms: BTreeMap<String, Vec<String>> =
            [("th-1".to_string(), theme.terms.clone())].into();
        let found = new_themes(&windows, &terms, &Thresholds::default());
        assert_eq!(
            found.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
            ["th-1"],
            "th-2 is steady"
        );
        assert_eq!(found[0].kind, FlagKind::NewTheme);
        assert_eq!(found[0].terms, theme.terms);
    }

    #[test]
    fn scores_grow_with_surprise() {
        assert!(poisson_score(20, 2.0) > poisson_score(10, 2.0));
        assert!(poisson_score(10, 2.0) > poisson_score(10, 8.0));
        assert!(poisson_score(0, 3.0) < 0.0);
    }
}
