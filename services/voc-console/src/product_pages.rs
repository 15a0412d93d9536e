//! The product view: volume, negative share, CSAT and resolution by topic over a period, rising
//! keywords, themes, FAQ candidates and masked complaints; as a page, JSON and CSV.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_flags::{faq_store, theme_store};

use crate::app::{
    ApiError, ApiSession, AppError, AppState, PageSession, Sample, json_block, lang_of, render,
};
use crate::queries;

/// Product view parameters.
#[derive(Debug, Deserialize, Default)]
pub struct ProductQuery {
    product: Option<String>,
    days: Option<String>,
    /// The last day of the period (`YYYY-MM-DD`, in the console's time zone); today by default.
    to: Option<String>,
    lang: Option<String>,
    /// Only this topic in the charts and complaints (the topic table lists them all, to drill down).
    topic: Option<String>,
    /// The CSV's table: `topics` (default) or `days`.
    table: Option<String>,
}

/// Everything the product view shows, for the page, the API and the CSV.
#[derive(Debug, Serialize)]
struct ProductView {
    product: String,
    /// The topic drilled into (empty: all).
    topic: String,
    days: u32,
    to: String,
    products: Vec<String>,
    topic_days: Vec<queries::TopicDay>,
    /// Negative share, CSAT and resolution per local day.
    experience_days: Vec<queries::ExperienceDay>,
    topics: Vec<queries::TopicExperience>,
    rising: Vec<queries::Rising>,
    themes: Vec<theme_store::Theme>,
    faq: Vec<voc_flags::faq::FaqCandidate>,
    verbatims: Vec<Sample>,
}

async fn product_view(state: &AppState, q: &ProductQuery) -> Result<ProductView, AppError> {
    let days = match q.days.as_deref().filter(|d| !d.is_empty()) {
        None => 7,
        Some(d) => d
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=366).contains(d))
            .ok_or_else(|| AppError::BadRequest(format!("days must be 1..=366, not {d:?}")))?,
    };
    let product = q.product.clone().unwrap_or_default();
    let topic = q.topic.clone().unwrap_or_default();
    let offset = time::UtcOffset::from_hms(state.0.config.utc_offset_hours, 0, 0)
        .unwrap_or(time::UtcOffset::UTC);
    let now = match q.to.as_deref().filter(|d| !d.is_empty()) {
        None => OffsetDateTime::now_utc(),
        Some(d) => time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
            .ok()
            .filter(|d| (1970..=2105).contains(&d.year()))
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "to must be a date YYYY-MM-DD from 1970 to 2105, not {d:?}"
                ))
            })?
            .next_day()
            .unwrap_or(time::Date::MAX)
            .midnight()
            .assume_offset(offset),
    };
    let end = voc_store::rows::epoch_seconds(now);
    // Whole local days: the period starts at midnight `days - 1` days before the last day.
    let last_day = (now - time::Duration::seconds(1)).to_offset(offset).date();
    let first_day = last_day
        .checked_sub(time::Duration::days(i64::from(days) - 1))
        .unwrap_or(time::Date::MIN);
    let since = voc_store::rows::epoch_seconds(first_day.midnight().assume_offset(offset));
    let reader = &state.0.reader;
    let mut themes = theme_store::list(reader).await?;
    themes.retain(|t| t.status == theme_store::ThemeStatus::Active);
    if !product.is_empty() {
        let ids = theme_store::themes_of_product(reader, &product, since).await?;
        themes.retain(|t| ids.contains(&t.theme_id));
    }
    themes.truncate(15);
    let tz = state.0.config.utc_offset_hours;
    let verbatims = queries::recent_complaints(reader, &product, &topic, since, end, 20)
        .await?
        .into_iter()
        .map(|v| Sample::of(v, tz))
        .collect();
    let p = (!product.is_empty()).then_some(product.as_str());
    let offset_s = i64::from(state.0.config.utc_offset_hours) * 3600;
    Ok(ProductView {
        products: queries::products(reader).await?,
        topic_days: queries::topic_days(reader, &product, &topic, since, end, offset_s).await?,
        experience_days: queries::experience_days(reader, &product, &topic, since, end, offset_s)
            .await?,
        topics: queries::topic_experience(reader, &product, since, end).await?,
        rising: queries::rising_keywords(reader, &product, end, days).await?,
        faq: faq_store::faq_candidates(reader, now, days, p, 5).await?,
        themes,
        verbatims,
        product,
        topic,
        days,
        to: q.to.clone().unwrap_or_default(),
    })
}

pub(crate) async fn product_page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    headers: HeaderMap,
    Query(q): Query<ProductQuery>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, q.lang.as_deref(), state.0.config.default_lang);
    let view = product_view(&state, &q).await?;
    // Chart data: one series per topic over the days, as JSON for console.js (no inline script).
    let mut days: Vec<&str> = view.topic_days.iter().map(|d| d.day.as_str()).collect();
    days.sort_unstable();
    days.dedup();
    let mut topics: Vec<&str> = view.topic_days.iter().map(|d| d.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    let series: Vec<Vec<u64>> = topics
        .iter()
        .map(|t| {
            days.iter()
                .map(|d| {
                    view.topic_days
                        .iter()
                        .find(|x| x.day == *d && x.topic == *t)
                        .map_or(0, |x| x.interactions)
                })
                .collect()
        })
        .collect();
    let chart = json_block(&serde_json::json!({"days": days, "topics": topics, "series": series}));
    // Experience over time: shares in percent on one chart, CSAT (1–5) on its own; days nobody
    // answered are gaps (null), not zeros.
    let x = &view.experience_days;
    let words = crate::i18n::words(lang);
    let pct = |v: Option<f64>| v.map(|v| (v * 1000.0).round() / 10.0);
    let shares = json_block(&serde_json::json!({
        "days": x.iter().map(|d| d.day.as_str()).collect::<Vec<_>>(),
        "topics": [words.get("negative_pct").copied().unwrap_or_default(), words.get("resolved_pct").copied().unwrap_or_default()],
        "series": [
            x.iter().map(|d| pct((d.interactions > 0).then(|| d.negative as f64 / d.interactions as f64))).collect::<Vec<_>>(),
            x.iter().map(|d| pct(d.resolution_rate)).collect::<Vec<_>>(),
        ],
    }));
    let csat = json_block(&serde_json::json!({
        "days": x.iter().map(|d| d.day.as_str()).collect::<Vec<_>>(),
        "topics": [words.get("csat_scale").copied().unwrap_or_default()],
        "series": [x.iter().map(|d| d.avg_csat.map(|v| (v * 100.0).round() / 100.0)).collect::<Vec<_>>()],
    }));
    render(
        &state,
        "product.html",
        lang,
        Some(&session),
        context! { v => view, chart => chart, shares_chart => shares, csat_chart => csat },
    )
}

voc_core::closed_set! {
    /// Which product-view table the CSV carries.
    pub enum CsvTable("CSV table") {
        Topics = "topics",
        Days = "days",
    }
}

/// One CSV row: a topic or a local day, and its figures.
struct CsvRow<'a> {
    key: &'a str,
    interactions: u64,
    negative: u64,
    csat_responses: u64,
    avg_csat: Option<f64>,
    resolution_known: u64,
    resolution_rate: Option<f64>,
}

/// The product view's topic table (`table=topics`, the default) or its daily experience
/// (`table=days`) as CSV: what is on screen, for spreadsheets.
pub(crate) async fn product_csv(
    State(state): State<AppState>,
    PageSession(_session): PageSession,
    Query(q): Query<ProductQuery>,
) -> Result<Response, AppError> {
    let view = product_view(&state, &q).await?;
    // Quoted, and a leading = + - @ defused, so a spreadsheet never runs a cell as a formula.
    let field = |s: &str| {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    let table: CsvTable = match q.table.as_deref().filter(|t| !t.is_empty()) {
        None => CsvTable::Topics,
        Some(t) => t
            .parse()
            .map_err(|e: voc_core::closed::UnknownValue| AppError::BadRequest(e.to_string()))?,
    };
    let days_table = table == CsvTable::Days;
    // One row shape for both tables: the key (a topic or a local day), then the figures.
    let rows: Vec<CsvRow<'_>> = if days_table {
        view.experience_days
            .iter()
            .map(|d| CsvRow {
                key: &d.day,
                interactions: d.interactions,
                negative: d.negative,
                csat_responses: d.csat_responses,
                avg_csat: d.avg_csat,
                resolution_known: d.resolution_known,
                resolution_rate: d.resolution_rate,
            })
            .collect()
    } else {
        view.topics
            .iter()
            .map(|t| CsvRow {
                key: &t.topic,
                interactions: t.interactions,
                negative: t.negative,
                csat_responses: t.csat_responses,
                avg_csat: t.avg_csat,
                resolution_known: t.resolution_known,
                resolution_rate: t.resolution_rate,
            })
            .collect()
    };
    // The daily table says which topic it was drilled into (empty: all).
    let mut out = format!(
        "product,days,{},interactions,negative,csat_responses,avg_csat,resolution_known,resolution_rate\n",
        if days_table { "topic,day" } else { "topic" }
    );
    for r in rows {
        let scope = if days_table {
            format!("{},", field(&view.topic))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{},{},{scope}{},{},{},{},{},{},{}\n",
            field(&view.product),
            view.days,
            field(r.key),
            r.interactions,
            r.negative,
            r.csat_responses,
            r.avg_csat.map(|v| format!("{v:.2}")).unwrap_or_default(),
            r.resolution_known,
            r.resolution_rate
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default()
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"voc-product.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

pub(crate) async fn api_product(
    State(state): State<AppState>,
    ApiSession(_session): ApiSession,
    Query(q): Query<ProductQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(product_view(&state, &q).await?).into_response())
}
