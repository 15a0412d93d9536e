//! Single sign-on through a trusted reverse proxy (`console.auth = "proxy"`): the proxy signs people
//! in and names them in a header; the console believes that header only on connections from the
//! proxy's addresses. A signed cookie still carries the CSRF token, bound to the user it was made
//! for, so every action needs the token exactly as with passwords.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};
use time::OffsetDateTime;

use crate::app::AppState;
use crate::auth::{SESSION_COOKIE, Session, plausible_name, random_token};
use crate::config::{ConsoleAuth, ConsoleConfig};
use crate::users::Role;

/// The session the proxy established for this request (read by the session guard).
#[derive(Debug, Clone)]
pub(crate) struct ProxySession(pub(crate) Session);

/// The user the proxy names, if the connection comes from a trusted address, the header is there
/// exactly once and the name has the shape of an account name. Pure.
pub fn proxy_user(
    config: &ConsoleConfig,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Option<String> {
    // Exactly once: a proxy that appends rather than replaces would leave a client's forged copy
    // first.
    let mut values = headers.get_all(config.proxy_user_header.as_str()).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let name = value.to_str().ok()?.trim();
    let trusted = peer.is_some_and(|p| {
        // An IPv4 client over an IPv6 socket shows as ::ffff:a.b.c.d.
        let p = match p {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(p, IpAddr::V4),
            v4 => v4,
        };
        config.proxy_trusted.contains(&p)
    });
    if !trusted {
        tracing::warn!(
            ?peer,
            "a sign-on header from an untrusted address was ignored"
        );
        return None;
    }
    plausible_name(name).then(|| name.to_string())
}

/// With `auth = "proxy"`: puts the proxy's user in the request as a [`ProxySession`], reusing the
/// CSRF token of their cookie, or making one (and setting the cookie) on their first request.
pub(crate) async fn proxy_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let config = &state.0.config;
    if config.auth != ConsoleAuth::Proxy {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(user) = proxy_user(config, peer, req.headers()) else {
        return next.run(req).await;
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let jar = SignedCookieJar::from_headers(req.headers(), state.0.key.clone());
    let existing = jar
        .get(SESSION_COOKIE)
        .and_then(|c| Session::decode(c.value(), now))
        .filter(|s| s.user == user);
    let fresh = existing.is_none();
    let session = existing.unwrap_or_else(|| Session {
        user,
        // The guard takes the role from the users file (or the default) on every request.
        role: Role::Viewer,
        csrf: random_token(),
        expires: now + i64::from(config.session_hours) * 3600,
    });
    req.extensions_mut().insert(ProxySession(session.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let cookie = Cookie::build((SESSION_COOKIE, session.encode()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(config.secure_cookies)
            .build();
        let set = jar.add(cookie).into_response();
        for v in set.headers().get_all(header::SET_COOKIE) {
            res.headers_mut().append(header::SET_COOKIE, v.clone());
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_believed_only_from_the_proxy_and_only_with_an_account_shaped_name() {
        let config = ConsoleConfig {
            auth: ConsoleAuth::Proxy,
            proxy_trusted: vec![IpAddr::from([10, 0, 0, 5])],
            ..ConsoleConfig::default()
        };
        let mut h = HeaderMap::new();
        h.insert("X-Forwarded-User", "sato".parse().expect("header"));
        let proxy = Some(IpAddr::from([10, 0, 0, 5]));
        assert_eq!(proxy_user(&config, proxy, &h).as_deref(), Some("sato"));
        let mapped = Some(IpAddr::from(
            std::net::Ipv4Addr::new(10, 0, 0, 5).to_ipv6_mapped(),
        ));
        assert_eq!(proxy_user(&config, mapped, &h).as_deref(), Some("sato"));
        assert_eq!(
            proxy_user(&config, Some(IpAddr::from([10, 0, 0, 6])), &h),
            None
        );
        assert_eq!(proxy_user(&config, None, &h), None);
        assert_eq!(proxy_user(&config, proxy, &HeaderMap::new()), None);
        let mut twice = h.clone();
        twice.append("X-Forwarded-User", "admin".parse().expect("header"));
        assert_eq!(
            proxy_user(&config, proxy, &twice),
            None,
            "a forged copy beside the proxy's"
        );
        h.insert(
            "X-Forwarded-User",
            axum::http::HeaderValue::from_static("sato admin"),
        );
        assert_eq!(proxy_user(&config, proxy, &h), None, "not an account name");
    }
}
