//! Which flags a list shows: the one filter behind `voc flags list` and the console's inbox. Pure:
//! the caller passes the flags, the themes' topics, the `[teams]` settings and the clock.

use std::collections::{BTreeMap, HashMap};

use voc_core::message::Channel;

use crate::detect::FlagKind;
use crate::digest::{self, Team};
use crate::store::{Flag, FlagStatus};

/// Which statuses a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    /// Open and acknowledged: what still needs someone (the default).
    #[default]
    Active,
    One(FlagStatus),
    All,
}

impl StatusFilter {
    /// The one status to ask the store for, if just one.
    pub fn one(self) -> Option<FlagStatus> {
        match self {
            Self::One(s) => Some(s),
            Self::Active | Self::All => None,
        }
    }
}

/// A filter value that is not allowed; the message names the filter and what it accepts.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("status must be open, acknowledged, resolved or all: {0}")]
    Status(voc_core::closed::UnknownValue),
    #[error(transparent)]
    Kind(voc_core::closed::UnknownValue),
    #[error("no team {team:?} in [teams] (known: {known})")]
    Team { team: String, known: String },
    #[error("channel must be one of {known}, not {given:?}")]
    Channel { given: String, known: String },
    #[error("days must be 1..=366, not {0:?}")]
    Days(String),
}

/// A list's filters, each optional. Parse user input with [`FlagFilter::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFilter {
    pub status: StatusFilter,
    pub kind: Option<FlagKind>,
    /// A name in `[teams]`: flags assigned to it, or owned by it when nobody assigned them.
    pub team: Option<String>,
    pub product: Option<String>,
    /// A channel one of its sample voices came from.
    pub channel: Option<Channel>,
    /// Updated within this many days (1–366).
    pub days: Option<u32>,
}

/// The raw text of the filters, as a form or the command line gives them (empty means unset).
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterInput<'a> {
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub team: Option<&'a str>,
    pub product: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub days: Option<&'a str>,
}

impl FlagFilter {
    /// Checks every value against its closed set, `[teams]` or range.
    pub fn parse(
        input: FilterInput<'_>,
        teams: &BTreeMap<String, Team>,
    ) -> Result<Self, FilterError> {
        let set = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let status = match set(input.status).as_deref() {
            None => StatusFilter::Active,
            Some("all") => StatusFilter::All,
            Some(s) => StatusFilter::One(s.parse().map_err(FilterError::Status)?),
        };
        let kind = set(input.kind)
            .map(|k| k.parse::<FlagKind>())
            .transpose()
            .map_err(FilterError::Kind)?;
        let team = set(input.team);
        if let Some(t) = &team
            && !teams.contains_key(t)
        {
            return Err(FilterError::Team {
                team: t.clone(),
                known: teams.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let channel = set(input.channel)
            .map(|c| {
                Channel::from_name(&c).ok_or_else(|| FilterError::Channel {
                    known: Channel::ALL.map(Channel::as_str).join(", "),
                    given: c,
                })
            })
            .transpose()?;
        let days = set(input.days)
            .map(|d| {
                d.parse::<u32>()
                    .ok()
                    .filter(|d| (1..=366).contains(d))
                    .ok_or(FilterError::Days(d))
            })
            .transpose()?;
        Ok(Self {
            status,
            kind,
            team,
            product: set(input.product),
            channel,
            days,
        })
    }

    /// Whether `f` passes, at `now` (seconds since the epoch). `theme_topic` (each theme's main
    /// topic) is only needed for the team filter.
    pub fn matches(
        &self,
        f: &Flag,
        theme_topic: &HashMap<String, String>,
        teams: &BTreeMap<String, Team>,
        now: i64,
    ) -> bool {
        let status = match self.status {
            StatusFilter::Active => f.status != FlagStatus::Resolved,
            StatusFilter::One(s) => f.status == s,
            StatusFilter::All => true,
        };
        status
            && self.kind.is_none_or(|k| f.kind == k)
            && self
                .product
                .as_deref()
                .is_none_or(|p| digest::subject_of(f.kind, &f.key, theme_topic).1 == Some(p))
            && self
                .channel
                .is_none_or(|c| f.channels.iter().any(|x| x == c.as_str()))
            && self
                .days
                .is_none_or(|d| i64::from(f.updated_at) >= now - i64::from(d) * 86_400)
            && self
                .team
                .as_deref()
                .is_none_or(|t| digest::teams_of(f, theme_topic, teams).contains(&t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(kind: FlagKind, key: &str, status: FlagStatus, team: &str, channels: &[&str]) -> Flag {
        Flag {
            flag_id: format!("{kind}-{key}"),
            kind,
            key: key.into(),
            status,
            title: String::new(),
            score: 1.0,
            window_start: 0,
            window_end: 0,
            count: 1,
            baseline: 0.0,
            sample_ids: vec![],
            created_at: 1_000_000,
            updated_at: 1_000_000,
            acked_by: String::new(),
            note: String::new(),
            version: 1,
            team: team.into(),
            channels: channels.iter().map(|c| (*c).to_string()).collect(),
        }
    }

    #[test]
    fn filters_by_status_team_channel_product_and_age() {
        let teams: BTreeMap<String, Team> = [
            (
                "billing-ops".to_string(),
                Team {
                    topics: vec!["billing".into()],
                    ..Team::default()
                },
            ),
            ("app".to_string(), Team::default()),
        ]
        .into();
        let none = HashMap::new();
        let spike = flag(
            FlagKind::Spike,
            "billing/quality/card",
            FlagStatus::Open,
            "",
            &["chat"],
        );
        let assigned = flag(
            FlagKind::Spike,
            "billing/quality/web",
            FlagStatus::Acknowledged,
            "app",
            &["phone"],
        );
        let resolved = flag(
            FlagKind::Escalation,
            "i-1",
            FlagStatus::Resolved,
            "",
            &["phone"],
        );
        let parse = |i: FilterInput<'_>| FlagFilter::parse(i, &teams).expect("valid");
        let pass = |f: &FlagFilter, x: &Flag| f.matches(x, &none, &teams, 1_000_000);

        let open = parse(FilterInput::default());
        assert!(pass(&open, &spike) && pass(&open, &assigned) && !pass(&open, &resolved));
        let all = parse(FilterInput {
            status: Some("all"),
            ..FilterInput::default()
        });
        assert!(pass(&all, &resolved));

        let billing = parse(FilterInput {
            team: Some("billing-ops"),
            ..FilterInput::default()
        });
        assert!(pass(&billing, &spike), "owned through its topic");
        assert!(!pass(&billing, &assigned), "assigned away to another team");
        let app = parse(FilterInput {
            team: Some("app"),
            ..FilterInput::default()
        });
        assert!(pass(&app, &assigned) && !pass(&app, &spike));

        let phone = parse(FilterInput {
            channel: Some("phone"),
            status: Some("all"),
            ..FilterInput::default()
        });
        assert!(!pass(&phone, &spike) && pass(&phone, &assigned) && pass(&phone, &resolved));
        let card = parse(FilterInput {
            product: Some("card"),
            ..FilterInput::default()
        });
        assert!(pass(&card, &spike) && !pass(&card, &assigned));
        let recent = parse(FilterInput {
            days: Some("1"),
            ..FilterInput::default()
        });
        assert!(!recent.matches(&spike, &none, &teams, 1_000_000 + 2 * 86_400));

        for bad in [
            FilterInput {
                team: Some("nobody"),
                ..FilterInput::default()
            },
            FilterInput {
                channel: Some("fax"),
                ..FilterInput::default()
            },
            FilterInput {
                days: Some("0"),
                ..FilterInput::default()
            },
            FilterInput {
                status: Some("closed"),
                ..FilterInput::default()
            },
            FilterInput {
                kind: Some("storm"),
                ..FilterInput::default()
            },
        ] {
            assert!(FlagFilter::parse(bad, &teams).is_err(), "{bad:?}");
        }
    }
}
