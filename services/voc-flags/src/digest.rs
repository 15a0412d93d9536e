//! The weekly digest per owning team: what each team's topics, products and themes raised over the
//! last days, recurring problems first. Pure: the caller passes the flags, the themes' topics and
//! the `[teams]` settings.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::config::redact_opt;

use crate::detect::FlagKind;
use crate::store::Flag;

/// One team in `[teams.NAME]`: what it owns, and where its digest goes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Team {
    /// Rule topic ids it owns (`billing`).
    pub topics: Vec<String>,
    /// Products it owns, whatever the topic.
    pub products: Vec<String>,
    /// Discovered theme ids it owns.
    pub themes: Vec<String>,
    /// Its chat webhook (Slack-compatible JSON); the flagger's `flags.webhook_url` when unset.
    #[serde(serialize_with = "redact_opt")]
    pub webhook_url: Option<String>,
    /// A Kafka topic receiving its flags as JSON (the same message as the webhook's), for teams
    /// whose tools read Kafka.
    pub kafka_topic: Option<String>,
}

/// Where flags nobody owns are listed.
pub const NO_TEAM: &str = "(no team)";

/// One team's digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamDigest {
    pub team: String,
    /// Recurring problems, strongest first.
    pub recurring: Vec<Flag>,
    /// New themes and spikes, strongest first.
    pub new_problems: Vec<Flag>,
    pub repeat_contacts: usize,
    pub still_open: usize,
}

/// What a flag (or detection) of `kind` and `key` is about: its topic, product and theme, as far
/// as its key says.
pub fn subject_of<'a>(
    kind: FlagKind,
    key: &'a str,
    theme_topic: &'a HashMap<String, String>,
) -> (Option<&'a str>, Option<&'a str>, Option<&'a str>) {
    let mut parts = key.split('/');
    match kind {
        FlagKind::Spike => {
            let topic = parts.next();
            (topic, parts.nth(1), None)
        }
        FlagKind::Recurring => (parts.next(), parts.next(), None),
        // `customer/topic`: the topic is after the last slash, whatever the customer id holds.
        FlagKind::RepeatContact => (key.rsplit_once('/').map(|(_, t)| t), None, None),
        FlagKind::NewTheme => (theme_topic.get(key).map(String::as_str), None, Some(key)),
        FlagKind::Emerging | FlagKind::Escalation => (None, None, None),
    }
}

/// The teams that own the topic, product or theme of a flag of `kind` and `key` (none: nobody
/// owns it).
pub fn owners<'a>(
    kind: FlagKind,
    key: &str,
    theme_topic: &HashMap<String, String>,
    teams: &'a BTreeMap<String, Team>,
) -> Vec<&'a str> {
    let (topic, product, theme) = subject_of(kind, key, theme_topic);
    teams
        .iter()
        .filter(|(_, t)| {
            topic.is_some_and(|x| t.topics.iter().any(|y| y == x))
                || product.is_some_and(|x| t.products.iter().any(|y| y == x))
                || theme.is_some_and(|x| t.themes.iter().any(|y| y == x))
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The team a new flag is assigned to: its owner when exactly one team owns it. With several
/// owners it stays unassigned, so it shows under each of them until someone assigns it.
pub fn sole_owner<'a>(
    kind: FlagKind,
    key: &str,
    theme_topic: &HashMap<String, String>,
    teams: &'a BTreeMap<String, Team>,
) -> Option<&'a str> {
    match owners(kind, key, theme_topic, teams).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// The teams a flag belongs to: the one it was assigned to while `[teams]` still names it, else
/// the owners of its subject (so a flag assigned to a team since removed or renamed is not lost).
pub fn teams_of<'a>(
    f: &'a Flag,
    theme_topic: &HashMap<String, String>,
    teams: &'a BTreeMap<String, Team>,
) -> Vec<&'a str> {
    if teams.contains_key(&f.team) {
        vec![f.team.as_str()]
    } else {
        owners(f.kind, &f.key, theme_topic, teams)
    }
}

/// The digest of every team with something to report (and of [`NO_TEAM`]), for flags raised or
/// updated since `since` (seconds since the epoch). Escalations are left out: they were sent at
/// once. `theme_topic`: each theme's most frequent rule topic.
pub fn digest(
    flags: &[Flag],
    theme_topic: &HashMap<String, String>,
    teams: &BTreeMap<String, Team>,
    since: u32,
) -> Vec<TeamDigest> {
    let mut by_team: BTreeMap<&str, Vec<&Flag>> = BTreeMap::new();
    for f in flags
        .iter()
        .filter(|f| f.updated_at >= since && f.kind != FlagKind::Escalation)
    {
        let owners = teams_of(f, theme_topic, teams);
        if owners.is_empty() {
            by_team.entry(NO_TEAM).or_default().push(f);
        }
        for o in owners {
            by_team.entry(o).or_default().push(f);
        }
    }
    by_team
        .into_iter()
        .map(|(team, flags)| {
            let pick = |kinds: &[FlagKind]| {
                let mut v: Vec<Flag> = flags
                    .iter()
                    .filter(|f| kinds.contains(&f.kind))
                    .map(|f| (*f).clone())
                    .collect();
                v.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
                v
            };
            TeamDigest {
                team: team.to_string(),
                recurring: pick(&[FlagKind::Recurring]),
                new_problems: pick(&[FlagKind::NewTheme, FlagKind::Spike, FlagKind::Emerging]),
                repeat_contacts: flags
                    .iter()
                    .filter(|f| f.kind == FlagKind::RepeatContact)
                    .count(),
                still_open: flags
                    .iter()
                    .filter(|f| f.status == crate::store::FlagStatus::Open)
                    .count(),
            }
        })
        .collect()
}

/// The digest as chat text (Japanese, like the flag titles).
pub fn render(d: &TeamDigest, days: u32) -> String {
    let mut out = format!(
        "[voc] {} の週次ダイジェスト (過去{days}日) — 未対応 {}件\n",
        d.team, d.still_open
    );
    if !d.recurring.is_empty() {
        out.push_str("繰り返す問題:\n");
        for f in d.recurring.iter().take(5) {
            out.push_str(&format!("• {} [{}] ({})\n", f.title, f.flag_id, f.status));
        }
    }
    if !d.new_problems.is_empty() {
        out.push_str("新しい問題・急増:\n");
        for f in d.new_problems.iter().take(5) {
            out.push_str(&format!("• {} [{}] ({})\n", f.title, f.flag_id, f.status));
        }
    }
    if d.repeat_contacts > 0 {
        out.push_str(&format!("再問い合わせ: {}件\n", d.repeat_contacts));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FlagStatus;

    fn flag(kind: FlagKind, key: &str, score: f64, updated_at: u32) -> Flag {
        Flag {
            flag_id: format!("{kind}-{key}"),
            kind,
            key: key.into(),
            status: FlagStatus::Open,
            title: format!("title of {key}"),
            score,
            window_start: 0,
            window_end: 0,
            count: 1,
            baseline: 0.0,
            sample_ids: vec![],
            created_at: updated_at,
            updated_at,
            acked_by: String::new(),
            note: String::new(),
            version: 1,
            team: String::new(),
            channels: vec![],
        }
    }

    /// Billing owns a topic; the speaker team a product and a theme.
    fn teams() -> BTreeMap<String, Team> {
        [
            (
                "billing-ops".to_string(),
                Team {
                    topics: vec!["billing".into()],
                    ..Team::default()
                },
            ),
            (
                "speaker".to_string(),
                Team {
                    products: vec!["smart-speaker".into()],
                    themes: vec!["th-1".into()],
                    ..Team::default()
                },
            ),
        ]
        .into()
    }

    #[test]
    fn each_team_gets_what_its_topics_products_and_themes_raised_this_week() {
        let teams = teams();
        let flags = [
            flag(FlagKind::Recurring, "billing", 300.0, 100),
            flag(FlagKind::Recurring, "billing/hikari-net", 90.0, 100),
            flag(FlagKind::Spike, "product/quality/smart-speaker", 5.0, 100),
            flag(FlagKind::NewTheme, "th-1", 30.0, 100),
            flag(FlagKind::NewTheme, "th-2", 8.0, 100),
            flag(FlagKind::RepeatContact, "h:1/billing", 2.0, 100),
            flag(FlagKind::Escalation, "i-9", 10.0, 100),
            flag(FlagKind::Recurring, "delivery", 50.0, 10), // last month
        ];
        let theme_topic: HashMap<String, String> =
            [("th-2".to_string(), "delivery".to_string())].into();
        let digests = digest(&flags, &theme_topic, &teams, 50);
        let names: Vec<&str> = digests.iter().map(|d| d.team.as_str()).collect();
        assert_eq!(names, [NO_TEAM, "billing-ops", "speaker"]);
        let billing = &digests[1];
        assert_eq!(billing.recurring.len(), 2);
        assert_eq!(billing.recurring[0].key, "billing", "strongest first");
        assert_eq!(billing.repeat_contacts, 1);
        let speaker = &digests[2];
        let keys: Vec<&str> = speaker
            .new_problems
            .iter()
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(keys, ["th-1", "product/quality/smart-speaker"]);
        assert_eq!(
            digests[0].new_problems[0].key, "th-2",
            "nobody owns delivery"
        );
        assert!(digests.iter().all(|d| {
            d.new_problems
                .iter()
                .all(|f| f.kind != FlagKind::Escalation)
        }));
        let text = render(billing, 7);
        assert!(text.contains("billing-ops") && text.contains("title of billing"));
    }

    #[test]
    fn a_flag_with_two_owners_belongs_to_both_until_assigned_and_a_stale_assignment_falls_back() {
        let teams = teams();
        let none = HashMap::new();
        let key = "billing/quality/smart-speaker";
        assert_eq!(sole_owner(FlagKind::Spike, key, &none, &teams), None);
        assert_eq!(
            sole_owner(FlagKind::Spike, "billing", &none, &teams),
            Some("billing-ops")
        );
        let mut f = flag(FlagKind::Spike, key, 5.0, 100);
        assert_eq!(teams_of(&f, &none, &teams), ["billing-ops", "speaker"]);
        f.team = "speaker".into();
        assert_eq!(teams_of(&f, &none, &teams), ["speaker"], "assigned");
        f.team = "old-team".into();
        assert_eq!(
            teams_of(&f, &none, &teams),
            ["billing-ops", "speaker"],
            "a team no longer in [teams]"
        );
    }
}
