//! Logging in and out: the login form (argon2 check off the async workers, rate limited before the
//! password is checked) and the signed session cookie it sets.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};
use minijinja::context;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::app::{AppError, AppState, LangQuery, PageSession, lang_of, render};
use crate::auth::{SESSION_COOKIE, Session, random_token};
use crate::config::ConsoleAuth;

pub(crate) async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Result<Response, AppError> {
    let lang = lang_of(&headers, q.lang.as_deref(), state.0.config.default_lang);
    let proxy = state.0.config.auth == ConsoleAuth::Proxy;
    render(&state, "login.html", lang, None, context! { proxy })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: SignedCookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    if state.0.config.auth == ConsoleAuth::Proxy {
        return Err(AppError::Forbidden(
            "this console signs people in through single sign-on, not passwords".into(),
        ));
    }
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

pub(crate) async fn logout(
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
