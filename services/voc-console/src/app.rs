//! The console's HTTP core: shared state, the router, secure headers, errors, the session guard
//! and page rendering (minijinja, every value escaped). The pages are in [`crate::login`],
//! [`crate::flag_pages`] and [`crate::product_pages`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::{Key, SignedCookieJar};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use voc_store::{Store, StoreError};

use crate::auth::{LoginLimiter, SESSION_COOKIE, Session};
use crate::config::{ConsoleAuth, ConsoleConfig, ConsoleLang};
use crate::highlight::{self, Evidence};
use crate::i18n;
use crate::proxy_auth::{ProxySession, proxy_session};
use crate::queries;
use crate::users::Users;
use crate::{flag_pages, login, product_pages};

const LANG_COOKIE: &str = "voc_lang";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) config: ConsoleConfig,
    /// Pages read through this (the read-only user when configured).
    pub(crate) reader: Store,
    /// Flag actions write through this.
    pub(crate) writer: Store,
    pub(crate) key: Key,
    /// Per user name, and for all names together (password spraying).
    pub(crate) limiter: LoginLimiter,
    pub(crate) all_logins: LoginLimiter,
    /// The users file as last read, and its modification time: sessions take the current role
    /// from it, so a removed account or a lowered role takes effect at once.
    pub(crate) users: std::sync::Mutex<(Option<std::time::SystemTime>, Users)>,
    /// One password verification at a time.
    pub(crate) verifying: tokio::sync::Mutex<()>,
    pub(crate) templates: Environment<'static>,
    /// Topic display names and teams.
    pub(crate) labels: crate::Labels,
    /// Tells a team a flag was assigned to it.
    pub(crate) notifier: voc_flags::Notifier,
    pub(crate) requests: AtomicU64,
    pub(crate) failed_logins: AtomicU64,
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
    pub(crate) fn users(&self) -> Result<Users, crate::users::UsersError> {
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
        notifier: voc_flags::Notifier,
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
            notifier,
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
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/flags", get(flag_pages::flags_page))
        .route("/flags/{id}", get(flag_pages::flag_page))
        .route("/flags/{id}/action", post(flag_pages::flag_action))
        .route("/product", get(product_pages::product_page))
        .route("/product.csv", get(product_pages::product_csv))
        .route("/api/flags", get(flag_pages::api_flags))
        .route("/api/flags/{id}", get(flag_pages::api_flag))
        .route(
            "/api/flags/{id}/{action}",
            post(flag_pages::api_flag_action),
        )
        .route("/api/product", get(product_pages::api_product))
        .route("/static/{file}", get(static_file))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy_session,
        ))
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
pub struct ApiError(pub(crate) AppError);

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

pub(crate) fn escape(s: &str) -> String {
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
/// With single sign-on, the session the proxy established; a user the users file does not list
/// gets `console.proxy_default_role`, or no session.
pub(crate) fn session_of(parts: &Parts, state: &AppState) -> Option<Session> {
    let config = &state.0.config;
    let mut session = match config.auth {
        ConsoleAuth::Password => {
            let jar = SignedCookieJar::from_headers(&parts.headers, state.0.key.clone());
            let now = OffsetDateTime::now_utc().unix_timestamp();
            jar.get(SESSION_COOKIE)
                .and_then(|c| Session::decode(c.value(), now))?
        }
        ConsoleAuth::Proxy => parts.extensions.get::<ProxySession>()?.0.clone(),
    };
    let users = state.users().ok()?;
    session.role = match users.users.iter().find(|u| u.name == session.user) {
        Some(u) => u.role,
        None if config.auth == ConsoleAuth::Proxy => config.proxy_default_role?,
        None => return None,
    };
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
pub(crate) fn lang_of(
    headers: &HeaderMap,
    query: Option<&str>,
    default: ConsoleLang,
) -> ConsoleLang {
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

pub(crate) fn render(
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
pub(crate) fn json_block(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

pub(crate) fn local_time(secs: u32, offset_hours: i8) -> String {
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
    pub(crate) lang: Option<String>,
}

/// A sample interaction cut into evidence segments.
#[derive(Debug, Serialize)]
pub(crate) struct Sample {
    pub(crate) id: String,
    pub(crate) at: String,
    pub(crate) channel: String,
    pub(crate) topics: Vec<String>,
    pub(crate) sentiment: String,
    pub(crate) segments: Vec<highlight::Segment>,
}

impl Sample {
    /// A stored interaction as shown: its masked text cut at its evidence, its time local.
    pub(crate) fn of(v: queries::Verbatim, offset_hours: i8) -> Self {
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
