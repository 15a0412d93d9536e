//! The flags inbox, a flag's story (why, chart, masked samples with evidence, history) and the
//! actions on it (acknowledge, resolve, reopen, assign), as pages and as JSON.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use minijinja::context;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_flags::filter::{FilterInput, FlagFilter};
use voc_flags::store::{self as flag_store, Change, Flag, FlagStatus};
use voc_flags::{FlagKind, theme_store};

use crate::app::{
    ApiError, ApiSession, AppError, AppState, LangQuery, PageSession, Sample, json_block, lang_of,
    local_time, render,
};
use crate::auth::Session;
use crate::config::ConsoleLang;
use crate::{i18n, queries};

/// Inbox filters as the query string gives them; every field optional, unknown values a 400.
#[derive(Debug, Deserialize, Default)]
pub struct FlagQuery {
    status: Option<String>,
    kind: Option<String>,
    product: Option<String>,
    team: Option<String>,
    channel: Option<String>,
    days: Option<String>,
    lang: Option<String>,
}

fn parse_filter(state: &AppState, q: &FlagQuery) -> Result<FlagFilter, AppError> {
    FlagFilter::parse(
        FilterInput {
            status: q.status.as_deref(),
            kind: q.kind.as_deref(),
            team: q.team.as_deref(),
            product: q.product.as_deref(),
            channel: q.channel.as_deref(),
            days: q.days.as_deref(),
        },
        &state.0.labels.teams,
    )
    .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// The product a flag is about, when its key says.
fn flag_product(f: &Flag) -> Option<&str> {
    static NO_THEMES: std::sync::LazyLock<HashMap<String, String>> =
        std::sync::LazyLock::new(HashMap::new);
    voc_flags::digest::subject_of(f.kind, &f.key, &NO_THEMES).1
}

async fn filtered_flags(state: &AppState, filter: &FlagFilter) -> Result<Vec<Flag>, AppError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    // Each theme's main topic, for the teams that own topics.
    let theme_topic: HashMap<String, String> = if filter.team.is_some() {
        theme_store::main_topics(&state.0.reader).await?
    } else {
        HashMap::new()
    };
    let flags = flag_store::list(&state.0.reader, filter.status.one()).await?;
    Ok(flags
        .into_iter()
        .filter(|f| filter.matches(f, &theme_topic, &state.0.labels.teams, now))
        .collect())
}

#[derive(Debug, Serialize)]
struct FlagRow {
    flag: Flag,
    updated: String,
    created: String,
}

fn rows(state: &AppState, flags: Vec<Flag>) -> Vec<FlagRow> {
    let tz = state.0.config.utc_offset_hours;
    flags
        .into_iter()
        .map(|f| FlagRow {
            updated: local_time(f.updated_at, tz),
            created: local_time(f.created_at, tz),
            flag: f,
        })
        .collect()
}

pub(crate) async fn flags_page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    headers: HeaderMap,
    Query(q): Query<FlagQuery>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, q.lang.as_deref(), state.0.config.default_lang);
    let filter = parse_filter(&state, &q)?;
    let flags = filtered_flags(&state, &filter).await?;
    render(
        &state,
        "flags.html",
        lang,
        Some(&session),
        context! {
            rows => rows(&state, flags),
            kinds => FlagKind::NAMES,
            statuses => FlagStatus::NAMES,
            sel_status => q.status.clone().unwrap_or_default(),
            sel_kind => q.kind.clone().unwrap_or_default(),
            sel_product => q.product.clone().unwrap_or_default(),
            teams => state.0.labels.teams.keys().cloned().collect::<Vec<_>>(),
            sel_team => q.team.clone().unwrap_or_default(),
            sel_days => q.days.clone().unwrap_or_default(),
            channels => voc_core::message::Channel::ALL.map(voc_core::message::Channel::as_str),
            sel_channel => q.channel.clone().unwrap_or_default(),
        },
    )
}

/// Everything the flag page and the flag API show.
#[derive(Debug, Serialize)]
struct FlagStory {
    flag: Flag,
    why: String,
    created: String,
    updated: String,
    /// (day, count) of what the flag counts, where it can be drawn.
    series: Vec<(String, u64)>,
    samples: Vec<Sample>,
    history: Vec<(String, String, String, String)>,
}

async fn story(state: &AppState, id: &str, lang: ConsoleLang) -> Result<FlagStory, AppError> {
    let flag = flag_store::find(&state.0.reader, id)
        .await?
        .map_err(AppError::NotFound)?;
    let tz = state.0.config.utc_offset_hours;
    let words = i18n::words(lang);
    let why_key = format!("why_{}", flag.kind);
    let why = words
        .get(why_key.as_str())
        .copied()
        .unwrap_or("")
        .to_string();
    // The two weeks up to the detection window's end (not the last action's time), every day.
    let offset = i64::from(state.0.config.utc_offset_hours) * 3600;
    let until = flag.window_end.saturating_add(1);
    // From local midnight, 14 days before the window's last day.
    let local_end = i64::from(flag.window_end) + offset;
    let since =
        u32::try_from((local_end - local_end.rem_euclid(86_400) - 14 * 86_400 - offset).max(0))
            .unwrap_or(0);
    let counted: Vec<(String, u64)> = match flag.kind {
        FlagKind::Spike | FlagKind::Recurring => {
            let topic = flag.key.split('/').next().unwrap_or("");
            let product = flag_product(&flag).unwrap_or("");
            let days =
                queries::topic_days(&state.0.reader, product, topic, since, until, offset).await?;
            days.into_iter().map(|d| (d.day, d.interactions)).collect()
        }
        FlagKind::NewTheme => theme_store::trend(&state.0.reader, &flag.key, offset)
            .await?
            .into_iter()
            .map(|d| (d.day, d.interactions))
            .collect(),
        _ => Vec::new(),
    };
    let series = if counted.is_empty() {
        counted
    } else {
        every_day(&counted, since, until.saturating_sub(1), offset)
    };
    let samples = queries::verbatims(&state.0.reader, &flag.sample_ids)
        .await?
        .into_iter()
        .map(|v| Sample::of(v, tz))
        .collect();
    let history = flag_store::history(&state.0.reader, &flag.flag_id)
        .await?
        .into_iter()
        .map(|e| (local_time(e.at, tz), e.actor, e.action, e.note))
        .collect();
    Ok(FlagStory {
        why,
        created: local_time(flag.created_at, tz),
        updated: local_time(flag.updated_at, tz),
        flag,
        series,
        samples,
        history,
    })
}

/// One entry per local day from the day of `first` to the day of `last` (seconds since the epoch,
/// `offset_s` from UTC): the counted days' figures, zero on days without any.
fn every_day(
    counted: &[(String, u64)],
    first: u32,
    last: u32,
    offset_s: i64,
) -> Vec<(String, u64)> {
    let day_of = |secs: u32| {
        OffsetDateTime::from_unix_timestamp(i64::from(secs) + offset_s)
            .map(|t| t.date())
            .unwrap_or(time::Date::MIN)
    };
    let (mut day, end) = (day_of(first), day_of(last));
    let mut out = Vec::new();
    while day <= end {
        let name = format!(
            "{:04}-{:02}-{:02}",
            day.year(),
            u8::from(day.month()),
            day.day()
        );
        let n = counted.iter().find(|(d, _)| *d == name).map_or(0, |c| c.1);
        out.push((name, n));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

pub(crate) async fn flag_page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, q.lang.as_deref(), state.0.config.default_lang);
    let story = story(&state, &id, lang).await?;
    let topic = story.flag.key.split('/').next().unwrap_or("").to_string();
    render(
        &state,
        "flag.html",
        lang,
        Some(&session),
        context! {
            series_chart => json_block(&serde_json::json!({
                "days": story.series.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
                "topics": [story.flag.key.as_str()],
                "series": [story.series.iter().map(|d| d.1).collect::<Vec<_>>()],
            })),
            s => story,
            topic_name => state.0.labels.names.get(&topic).cloned(),
            may_act => session.role.may_act(),
            teams => state.0.labels.teams.keys().cloned().collect::<Vec<_>>(),
        },
    )
}

voc_core::closed_set! {
    /// What a lead can do to a flag.
    pub enum FlagAction("flag action") {
        Ack = "ack",
        Resolve = "resolve",
        Reopen = "reopen",
        Assign = "assign",
    }
}

/// Applies an action for `session`: leads and admins only; a resolved flag is only reopened.
/// `team` names the team of an assignment (a name in `[teams]`), which is then told on its webhook
/// and Kafka topic.
async fn act(
    state: &AppState,
    session: &Session,
    id: &str,
    action: FlagAction,
    note: &str,
    team: &str,
) -> Result<Flag, AppError> {
    if !session.role.may_act() {
        return Err(AppError::Forbidden(format!(
            "{} may read but not act on flags",
            session.role
        )));
    }
    let flag = flag_store::get(&state.0.writer, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no flag {id:?}")))?;
    let change = match (action, flag.status) {
        (FlagAction::Reopen, FlagStatus::Resolved) => Change::Status(FlagStatus::Open),
        (FlagAction::Reopen, _) => {
            return Err(AppError::Conflict(
                "only a resolved flag can be reopened".into(),
            ));
        }
        (_, FlagStatus::Resolved) => {
            return Err(AppError::Conflict(
                "this flag is resolved: reopen it first".into(),
            ));
        }
        (FlagAction::Ack, _) => Change::Status(FlagStatus::Acknowledged),
        (FlagAction::Resolve, _) => Change::Status(FlagStatus::Resolved),
        (FlagAction::Assign, _) if state.0.labels.teams.contains_key(team) => {
            Change::Assign(team.to_string())
        }
        (FlagAction::Assign, _) => {
            return Err(AppError::BadRequest(format!("no team {team:?} in [teams]")));
        }
    };
    let note = note.trim();
    let note = (!note.is_empty()).then_some(note);
    tracing::info!(user = %session.user, flag = %id, action = %action, "flag action");
    let flag = flag_store::apply(
        &state.0.writer,
        id,
        change,
        Some(&session.user),
        note,
        OffsetDateTime::now_utc(),
    )
    .await?
    .ok_or_else(|| AppError::NotFound(format!("no flag {id:?}")))?;
    if action == FlagAction::Assign {
        // The assignment is stored; telling the team (retries, timeouts) must not hold the page.
        let (state, flag, by) = (state.clone(), flag.clone(), session.user.clone());
        tokio::spawn(async move {
            state.0.notifier.assigned(&state.0.reader, &flag, &by).await;
        });
    }
    Ok(flag)
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
    /// The team of an assignment.
    #[serde(default)]
    team: String,
}

pub(crate) async fn flag_action(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    if !session.csrf_ok(&form.csrf) {
        return Err(AppError::Forbidden("invalid form token (CSRF)".into()));
    }
    let action: FlagAction = form
        .action
        .parse()
        .map_err(|e: voc_core::closed::UnknownValue| AppError::BadRequest(e.to_string()))?;
    act(&state, &session, &id, action, &form.note, &form.team).await?;
    Ok(Redirect::to(&format!("/flags/{id}")).into_response())
}

pub(crate) async fn api_flags(
    State(state): State<AppState>,
    ApiSession(_session): ApiSession,
    Query(q): Query<FlagQuery>,
) -> Result<Response, ApiError> {
    let filter = parse_filter(&state, &q)?;
    Ok(Json(filtered_flags(&state, &filter).await?).into_response())
}

pub(crate) async fn api_flag(
    State(state): State<AppState>,
    ApiSession(_session): ApiSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(story(&state, &id, state.0.config.default_lang).await?).into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct ActionBody {
    #[serde(default)]
    note: String,
    /// The team of an assignment.
    #[serde(default)]
    team: String,
}

/// `POST /api/flags/{id}/{ack|resolve|reopen|assign}` (JSON body `{"note", "team"}`) with the session's CSRF token in `X-CSRF-Token`.
pub(crate) async fn api_flag_action(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Option<Json<ActionBody>>,
) -> Result<Response, ApiError> {
    let token = headers
        .get("X-CSRF-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !session.csrf_ok(token) {
        return Err(AppError::Forbidden("invalid CSRF token".into()).into());
    }
    let action: FlagAction = action
        .parse()
        .map_err(|e: voc_core::closed::UnknownValue| {
            ApiError(AppError::BadRequest(e.to_string()))
        })?;
    let body = body.map(|b| b.0).unwrap_or_default();
    Ok(Json(act(&state, &session, &id, action, &body.note, &body.team).await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_local_day_is_in_the_series_with_zero_where_nothing_was_counted() {
        // 2026-11-18 00:30 to 2026-11-20 15:00 in +09:00.
        let (first, last) = (1_794_929_400, 1_795_154_400);
        let counted = vec![("2026-11-20".to_string(), 40)];
        let days = every_day(&counted, first, last, 9 * 3600);
        assert_eq!(
            days,
            [
                ("2026-11-18".to_string(), 0),
                ("2026-11-19".to_string(), 0),
                ("2026-11-20".to_string(), 40)
            ]
        );
    }
}
