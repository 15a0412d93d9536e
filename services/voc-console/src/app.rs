//! The console's HTTP side: the router, the session guard, pages (server-rendered with minijinja,
//! every value escaped) and the JSON API behind them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_flags::store::{self as flag_store, Flag, FlagStatus};
use voc_flags::{FlagKind, faq_store, theme_store};
use voc_store::{Store, StoreError};

use crate::auth::{LoginLimiter, SESSION_COOKIE, Session, random_token};
use crate::config::{ConsoleConfig, ConsoleLang};
use crate::highlight::{self, Evidence};
use crate::i18n;
use crate::queries;
use crate::users::Users;

const LANG_COOKIE: &str = "voc_lang";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: ConsoleConfig,
    /// Pages read through this (the read-only user when configured).
    reader: Store,
    /// Flag actions write through this.
    writer: Store,
    key: Key,
    /// Per user name, and for all names together (password spraying).
    limiter: LoginLimiter,
    all_logins: LoginLimiter,
    /// The users file as last read, and its modification time: sessions take the current role
    /// from it, so a removed account or a lowered role takes effect at once.
    users: std::sync::Mutex<(Option<std::time::SystemTime>, Users)>,
    /// One password verification at a time.
    verifying: tokio::sync::Mutex<()>,
    templates: Environment<'static>,
    /// Topic display names and teams.
    labels: crate::Labels,
    requests: AtomicU64,
    failed_logins: AtomicU64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("addr", &self.0.config.addr)
            .finish()
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.0.key.clone()
    }
}

impl AppState {
    /// The users file, re-read when it changed on disk.
    fn users(&self) -> Result<Users, crate::users::UsersError> {
        let path = &self.0.config.users_file;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut cache = self.0.users.lock().unwrap_or_else(|e| e.into_inner());
        if cache.0.is_none() || cache.0 != modified {
            *cache = (modified, Users::load(path)?);
        }
        Ok(cache.1.clone())
    }

    pub fn new(
        config: ConsoleConfig,
        reader: Store,
        writer: Store,
        key: Key,
        labels: crate::Labels,
    ) -> Self {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary: an error is a bug caught by every test.
            if let Err(e) = templates.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        Self(Arc::new(Inner {
            config,
            reader,
            writer,
            key,
            limiter: LoginLimiter::new(5, Duration::from_secs(300)),
            all_logins: LoginLimiter::new(100, Duration::from_secs(300)),
            users: std::sync::Mutex::new((None, Users::default())),
            verifying: tokio::sync::Mutex::new(()),
            templates,
            labels,
            requests: AtomicU64::new(0),
            failed_logins: AtomicU64::new(0),
        }))
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("flags.html", include_str!("../templates/flags.html")),
    ("flag.html", include_str!("../templates/flag.html")),
    ("product.html", include_str!("../templates/product.html")),
    ("error.html", include_str!("../templates/error.html")),
];

const STATIC: &[(&str, &str, &str)] = &[
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_str!("../static/uPlot.min.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../static/console.css"),
    ),
    (
        "uPlot.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_str!("../static/uPlot.LICENSE.txt"),
    ),
];

/// Every route. Pages redirect to the login without a session; the API answers 401.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/flags") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/flags", get(flags_page))
        .route("/flags/{id}", get(flag_page))
        .route("/flags/{id}/action", post(flag_action))
        .route("/product", get(product_page))
        .route("/product.csv", get(product_csv))
        .route("/api/flags", get(api_flags))
        .route("/api/flags/{id}", get(api_flag))
        .route("/api/flags/{id}/{action}", post(api_flag_action))
        .route("/api/product", get(api_product))
        .route("/static/{file}", get(static_file))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            secure_headers,
        ))
        .with_state(state)
}

/// Headers on every response: no sniffing, no framing, no referrer, scripts and styles from this
/// origin only (chart data travels in JSON blocks, not inline scripts).
async fn secure_headers(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state.0.requests.fetch_add(1, Ordering::Relaxed);
    // Forms and API calls from another site are refused, the login form included (SameSite
    // cookies do not protect a login): by Fetch Metadata, or by Origin against Host.
    if req.method() == axum::http::Method::POST && cross_site(req.headers()) {
        return AppError::Forbidden("a request from another site".into()).into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    h.insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "Content-Security-Policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert("Cache-Control", HeaderValue::from_static("no-store"));
    res
}

fn cross_site(h: &HeaderMap) -> bool {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if get("sec-fetch-site").is_some_and(|v| v == "cross-site" || v == "same-site") {
        return true;
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            origin != "null" && origin_host != host
        }
        (Some(origin), None) => origin != "null",
        _ => false,
    }
}

/// A failed request: its status and a message for people; never a stack trace.
#[derive(Debug)]
pub enum AppError {
    /// Not logged in (pages redirect to the login).
    Unauthenticated {
        api: bool,
    },
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    TooManyRequests,
    /// Our fault (a template, the users file); the details are logged, not shown.
    Internal(String),
    Store(StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn message(&self) -> String {
        match self {
            AppError::Unauthenticated { .. } => "log in first".into(),
            AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::BadRequest(m)
            | AppError::Conflict(m) => m.clone(),
            AppError::TooManyRequests => "too many failed logins; wait five minutes".into(),
            AppError::Internal(m) => m.clone(),
            AppError::Store(_) => "ClickHouse is not answering; try again shortly".into(),
        }
    }
}

/// An API handler's error: the same statuses as [`AppError`], as JSON.
#[derive(Debug)]
pub struct ApiError(AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(AppError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let AppError::Store(e) = &self.0 {
            tracing::warn!(error = %e, "console query failed");
        }
        (
            self.0.status(),
            Json(serde_json::json!({"error": self.0.message()})),
        )
            .into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Store(e) = &self {
            tracing::warn!(error = %e, "console query failed");
        }
        match self {
            AppError::Unauthenticated { api: false } => Redirect::to("/login").into_response(),
            AppError::Unauthenticated { api: true } => (
                self.status(),
                Json(serde_json::json!({"error": self.message()})),
            )
                .into_response(),
            _ => {
                let status = self.status();
                let body = format!(
                    "<!doctype html><meta charset=utf-8><title>{code}</title><link rel=stylesheet href=/static/console.css>\
                     <main><h1>{code}</h1><p class=error>{msg}</p><p><a href=/flags>voc</a></p></main>",
                    code = status.as_u16(),
                    msg = escape(&self.message())
                );
                (status, Html(body)).into_response()
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The logged-in user of a page request.
#[derive(Debug, Clone)]
pub struct PageSession(pub Session);
/// The logged-in user of an API request.
#[derive(Debug, Clone)]
pub struct ApiSession(pub Session);

/// The signed, unexpired session of a request, with the role its user has now (no session when
/// the account is gone).
fn session_of(parts: &Parts, state: &AppState) -> Option<Session> {
    let jar = SignedCookieJar::from_headers(&parts.headers, state.0.key.clone());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut session = jar
        .get(SESSION_COOKIE)
        .and_then(|c| Session::decode(c.value(), now))?;
    let users = state.users().ok()?;
    session.role = users.users.iter().find(|u| u.name == session.user)?.role;
    Some(session)
}

impl FromRequestParts<AppState> for PageSession {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        session_of(parts, state)
            .map(PageSession)
            .ok_or(AppError::Unauthenticated { api: false })
    }
}

impl FromRequestParts<AppState> for ApiSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        session_of(parts, state)
            .map(ApiSession)
            .ok_or(ApiError(AppError::Unauthenticated { api: true }))
    }
}

/// The page language: `?lang=` switches and is remembered in a cookie; else the cookie; else the
/// configured default.
fn lang_of(headers: &HeaderMap, query: Option<&str>, default: ConsoleLang) -> ConsoleLang {
    if let Some(l) = query.and_then(|q| q.parse().ok()) {
        return l;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(&format!("{LANG_COOKIE}=")))
        .find_map(|v| v.parse().ok())
        .unwrap_or(default)
}

fn render(
    state: &AppState,
    name: &str,
    lang: ConsoleLang,
    session: Option<&Session>,
    ctx: minijinja::Value,
) -> Result<Response, AppError> {
    let page = state
        .0
        .templates
        .get_template(name)
        .and_then(|t| {
            t.render(context! {
                t => i18n::words(lang),
                lang => lang.as_str(),
                other_lang => i18n::other(lang).as_str(),
                user => session.map(|s| s.user.clone()),
                role => session.map(|s| s.role.as_str()),
                csrf => session.map(|s| s.csrf.clone()),
                ..ctx
            })
        })
        .map_err(|e| {
            tracing::error!(template = name, error = %e, "page did not render");
            AppError::Internal("the page could not be shown; see the console's log".into())
        })?;
    let mut res = Html(page).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={lang}; Path=/; SameSite=Strict; Max-Age=31536000"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// JSON for a `<script type="application/json">` element: `<`, `>` and `&` as JSON escapes, so no
/// text can close the element, whatever a topic id or key holds.
fn json_block(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn local_time(secs: u32, offset_hours: i8) -> String {
    let offset = time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap_or(time::UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(i64::from(secs))
        .map(|t| t.to_offset(offset))
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

#[derive(Debug, Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, q.lang.as_deref(), state.0.config.default_lang);
    render(&state, "login.html", lang, None, context! {})
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, None, state.0.config.default_lang);
    let refuse = |state: &AppState| -> Result<Response, AppError> {
        state.0.failed_logins.fetch_add(1, Ordering::Relaxed);
        let mut res = render(state, "login.html", lang, None, context! { failed => true })?;
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        Ok(res)
    };
    if !crate::auth::plausible_name(&form.name) {
        return refuse(&state);
    }
    let now = Instant::now();
    // Counted before the password is checked, so parallel guesses cannot slip past.
    if !state.0.limiter.attempt(&form.name, now) || !state.0.all_logins.attempt("*", now) {
        return Err(AppError::TooManyRequests);
    }
    let users = state.users().map_err(|e| {
        tracing::error!(error = %e, "users file");
        AppError::Internal("the users file cannot be read; see the console's log".into())
    })?;
    // argon2 takes tens of milliseconds: off the async workers, one at a time.
    let (name, password) = (form.name.clone(), form.password);
    let checked = {
        let _one = state.0.verifying.lock().await;
        tokio::task::spawn_blocking(move || {
            users
                .verify(&name, &password)
                .cloned()
                .ok_or(users.users.iter().any(|u| u.name == name))
        })
        .await
        .map_err(|e| AppError::Internal(format!("login check failed: {e}")))?
    };
    let user = match checked {
        Ok(user) => user,
        Err(known) => {
            // Only names of real accounts are logged: a password typed into the name field is not.
            if known {
                tracing::info!(user = %form.name, "failed login");
            } else {
                tracing::info!("failed login for an unknown name");
            }
            return refuse(&state);
        }
    };
    state.0.limiter.succeeded(&user.name);
    state.0.all_logins.succeeded("*");
    let session = Session {
        user: user.name.clone(),
        role: user.role,
        csrf: random_token(),
        expires: OffsetDateTime::now_utc().unix_timestamp()
            + i64::from(state.0.config.session_hours) * 3600,
    };
    tracing::info!(user = %user.name, role = %user.role, "login");
    let cookie = Cookie::build((SESSION_COOKIE, session.encode()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.0.config.secure_cookies)
        .max_age(time::Duration::hours(i64::from(
            state.0.config.session_hours,
        )))
        .build();
    Ok((jar.add(cookie), Redirect::to("/flags")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn logout(
    PageSession(session): PageSession,
    jar: SignedCookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    if !session.csrf_ok(&form.csrf) {
        return Err(AppError::Forbidden("invalid form token (CSRF)".into()));
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response())
}

/// Inbox filters; every field optional, unknown values a 400.
#[derive(Debug, Deserialize, Default)]
pub struct FlagFilter {
    status: Option<String>,
    kind: Option<String>,
    product: Option<String>,
    team: Option<String>,
    days: Option<String>,
    lang: Option<String>,
}

struct Filter {
    /// Empty: open and acknowledged.
    status: Option<FlagStatus>,
    all_status: bool,
    kind: Option<FlagKind>,
    product: Option<String>,
    team: Option<String>,
    days: Option<u32>,
}

fn parse_filter(f: &FlagFilter) -> Result<Filter, AppError> {
    let nonempty = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let status = nonempty(&f.status);
    let (status, all_status) = match status.as_deref() {
        None => (None, false),
        Some("all") => (None, true),
        Some(s) => (
            Some(
                s.parse::<FlagStatus>()
                    .map_err(|e| AppError::BadRequest(e.to_string()))?,
            ),
            false,
        ),
    };
    let kind = nonempty(&f.kind)
        .map(|k| k.parse::<FlagKind>())
        .transpose()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let days = nonempty(&f.days)
        .map(|d| {
            d.parse::<u32>()
                .ok()
                .filter(|d| (1..=366).contains(d))
                .ok_or_else(|| AppError::BadRequest(format!("days must be 1..=366, not {d:?}")))
        })
        .transpose()?;
    Ok(Filter {
        status,
        all_status,
        kind,
        product: nonempty(&f.product),
        team: nonempty(&f.team),
        days,
    })
}

/// The product a flag is about, when its key says.
fn flag_product(f: &Flag) -> Option<&str> {
    static NO_THEMES: std::sync::LazyLock<HashMap<String, String>> =
        std::sync::LazyLock::new(HashMap::new);
    voc_flags::digest::subject_of(f, &NO_THEMES).1
}

async fn filtered_flags(state: &AppState, filter: &Filter) -> Result<Vec<Flag>, AppError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let teams = &state.0.labels.teams;
    if let Some(t) = &filter.team
        && !teams.contains_key(t)
    {
        return Err(AppError::BadRequest(format!("no team {t:?} in [teams]")));
    }
    // Each theme's main topic, for the teams that own topics.
    let theme_topic: HashMap<String, String> = if filter.team.is_some() {
        theme_store::list(&state.0.reader)
            .await?
            .into_iter()
            .filter_map(|t| Some((t.theme_id, t.topics.into_iter().next()?)))
            .collect()
    } else {
        HashMap::new()
    };
    let flags = flag_store::list(&state.0.reader, filter.status).await?;
    Ok(flags
        .into_iter()
        .filter(|f| {
            filter.all_status || filter.status.is_some() || f.status != FlagStatus::Resolved
        })
        .filter(|f| filter.kind.is_none_or(|k| f.kind == k))
        .filter(|f| {
            filter
                .product
                .as_deref()
                .is_none_or(|p| flag_product(f) == Some(p))
        })
        .filter(|f| {
            filter
                .days
                .is_none_or(|d| i64::from(f.updated_at) >= now - i64::from(d) * 86_400)
        })
        .filter(|f| {
            filter
                .team
                .as_deref()
                .is_none_or(|t| voc_flags::digest::owners(f, &theme_topic, teams).contains(&t))
        })
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

async fn flags_page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    headers: HeaderMap,
    Query(q): Query<FlagFilter>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, q.lang.as_deref(), state.0.config.default_lang);
    let filter = parse_filter(&q)?;
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
        },
    )
}

/// A sample interaction cut into evidence segments.
#[derive(Debug, Serialize)]
struct Sample {
    id: String,
    at: String,
    channel: String,
    topics: Vec<String>,
    sentiment: String,
    segments: Vec<highlight::Segment>,
}

impl Sample {
    /// A stored interaction as shown: its masked text cut at its evidence, its time local.
    fn of(v: queries::Verbatim, offset_hours: i8) -> Self {
        let evidence: Vec<Evidence> = serde_json::from_str(&v.evidence).unwrap_or_default();
        Sample {
            segments: highlight::segments(&v.customer_text, &evidence),
            at: local_time(v.occurred_at, offset_hours),
            id: v.interaction_id,
            channel: v.channel,
            topics: v.topics,
            sentiment: v.sentiment,
        }
    }
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
    let since = flag.updated_at.saturating_sub(14 * 86_400);
    let series = match flag.kind {
        FlagKind::Spike | FlagKind::Recurring => {
            let topic = flag.key.split('/').next().unwrap_or("");
            let product = flag_product(&flag).unwrap_or("");
            let until = flag.updated_at.saturating_add(86_400);
            let offset = i64::from(state.0.config.utc_offset_hours) * 3600;
            let days =
                queries::topic_days(&state.0.reader, product, topic, since, until, offset).await?;
            days.into_iter().map(|d| (d.day, d.interactions)).collect()
        }
        FlagKind::NewTheme => theme_store::trend(&state.0.reader, &flag.key)
            .await?
            .into_iter()
            .map(|d| (d.day, d.interactions))
            .collect(),
        _ => Vec::new(),
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

async fn flag_page(
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
        },
    )
}

voc_core::closed_set! {
    /// What a lead can do to a flag.
    pub enum FlagAction("flag action") {
        Ack = "ack",
        Resolve = "resolve",
        Reopen = "reopen",
    }
}

/// Applies an action for `session`: leads and admins only; a resolved flag is only reopened.
async fn act(
    state: &AppState,
    session: &Session,
    id: &str,
    action: FlagAction,
    note: &str,
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
    let status = match (action, flag.status) {
        (FlagAction::Reopen, FlagStatus::Resolved) => FlagStatus::Open,
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
        (FlagAction::Ack, _) => FlagStatus::Acknowledged,
        (FlagAction::Resolve, _) => FlagStatus::Resolved,
    };
    let note = note.trim();
    let note = (!note.is_empty()).then_some(note);
    tracing::info!(user = %session.user, flag = %id, action = %action, "flag action");
    flag_store::set_status(
        &state.0.writer,
        id,
        status,
        Some(&session.user),
        note,
        OffsetDateTime::now_utc(),
    )
    .await?
    .ok_or_else(|| AppError::NotFound(format!("no flag {id:?}")))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
}

async fn flag_action(
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
    act(&state, &session, &id, action, &form.note).await?;
    Ok(Redirect::to(&format!("/flags/{id}")).into_response())
}

/// Product view parameters.
#[derive(Debug, Deserialize, Default)]
pub struct ProductQuery {
    product: Option<String>,
    days: Option<String>,
    /// The last day of the period (`YYYY-MM-DD`, in the console's time zone); today by default.
    to: Option<String>,
    lang: Option<String>,
}

/// Everything the product view shows, for the page, the API and the CSV.
#[derive(Debug, Serialize)]
struct ProductView {
    product: String,
    days: u32,
    to: String,
    products: Vec<String>,
    topic_days: Vec<queries::TopicDay>,
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
    let since = end.saturating_sub(days * 86_400);
    let reader = &state.0.reader;
    let mut themes = theme_store::list(reader).await?;
    themes.retain(|t| t.status == theme_store::ThemeStatus::Active);
    if !product.is_empty() {
        let ids = theme_store::themes_of_product(reader, &product, since).await?;
        themes.retain(|t| ids.contains(&t.theme_id));
    }
    themes.truncate(15);
    let tz = state.0.config.utc_offset_hours;
    let verbatims = queries::recent_complaints(reader, &product, since, end, 20)
        .await?
        .into_iter()
        .map(|v| Sample::of(v, tz))
        .collect();
    let p = (!product.is_empty()).then_some(product.as_str());
    Ok(ProductView {
        products: queries::products(reader).await?,
        topic_days: queries::topic_days(
            reader,
            &product,
            "",
            since,
            end,
            i64::from(state.0.config.utc_offset_hours) * 3600,
        )
        .await?,
        topics: queries::topic_experience(reader, &product, since, end).await?,
        rising: queries::rising_keywords(reader, &product, end, days).await?,
        faq: faq_store::faq_candidates(reader, now, days, p, 5).await?,
        themes,
        verbatims,
        product,
        days,
        to: q.to.clone().unwrap_or_default(),
    })
}

async fn product_page(
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
    render(
        &state,
        "product.html",
        lang,
        Some(&session),
        context! { v => view, chart => chart },
    )
}

/// The product view's topic table as CSV (what is on screen, for spreadsheets).
async fn product_csv(
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
    let mut out = String::from(
        "product,days,topic,interactions,negative,csat_responses,avg_csat,resolution_known,resolution_rate\n",
    );
    for t in &view.topics {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            field(&view.product),
            view.days,
            field(&t.topic),
            t.interactions,
            t.negative,
            t.csat_responses,
            t.avg_csat.map(|v| format!("{v:.2}")).unwrap_or_default(),
            t.resolution_known,
            t.resolution_rate
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

async fn api_flags(
    State(state): State<AppState>,
    ApiSession(_session): ApiSession,
    Query(q): Query<FlagFilter>,
) -> Result<Response, ApiError> {
    let filter = parse_filter(&q)?;
    Ok(Json(filtered_flags(&state, &filter).await?).into_response())
}

async fn api_flag(
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
}

/// `POST /api/flags/{id}/{ack|resolve|reopen}` with the session's CSRF token in `X-CSRF-Token`.
async fn api_flag_action(
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
    let note = body.map(|b| b.0.note).unwrap_or_default();
    Ok(Json(act(&state, &session, &id, action, &note).await?).into_response())
}

async fn api_product(
    State(state): State<AppState>,
    ApiSession(_session): ApiSession,
    Query(q): Query<ProductQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(product_view(&state, &q).await?).into_response())
}

async fn static_file(Path(file): Path<String>) -> Result<Response, AppError> {
    let (_, mime, body) = STATIC
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| AppError::NotFound(format!("no file {file:?}")))?;
    Ok(([(header::CONTENT_TYPE, *mime)], *body).into_response())
}

async fn health(State(state): State<AppState>) -> Response {
    match state
        .0
        .reader
        .client()
        .query("SELECT 1")
        .fetch_one::<u8>()
        .await
    {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health: ClickHouse");
            (StatusCode::SERVICE_UNAVAILABLE, "ClickHouse unreachable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = format!(
        "# HELP voc_console_requests_total HTTP requests served.\n# TYPE voc_console_requests_total counter\nvoc_console_requests_total {}\n\
         # HELP voc_console_failed_logins_total Failed login attempts.\n# TYPE voc_console_failed_logins_total counter\nvoc_console_failed_logins_total {}\n",
        state.0.requests.load(Ordering::Relaxed),
        state.0.failed_logins.load(Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound("no such page".into())
}
