//! voc-console: the web console (`voc serve`) for support leads and product teams.
//!
//! - [`config`]: the `[console]` settings and their defaults;
//! - [`users`]: the users file (roles, argon2 password hashes);
//! - [`auth`]: signed sessions, CSRF tokens, login rate limiting (pure);
//! - [`highlight`]: evidence spans in masked text (pure);
//! - [`i18n`]: Japanese and English words;
//! - [`queries`]: the console's reads from ClickHouse;
//! - [`app`]: shared state, the router, errors, the session guard and page rendering;
//! - [`login`]: logging in and out;
//! - [`proxy_auth`]: single sign-on through a trusted reverse proxy's header;
//! - [`flag_pages`]: the flags inbox, a flag's story and the actions on it;
//! - [`product_pages`]: the product view and its CSV.
//!
//! The chart library is uPlot 1.6.32 (MIT, `static/uPlot.LICENSE.txt`), vendored as a file: no
//! front-end build chain.

pub mod app;
pub mod auth;
pub mod config;
pub mod flag_pages;
pub mod highlight;
pub mod i18n;
pub mod login;
pub mod product_pages;
pub mod proxy_auth;
pub mod queries;
pub mod users;

use std::collections::HashMap;

use axum_extra::extract::cookie::Key;
pub use config::ConsoleConfig;
use voc_store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot read the session key file {path}: {source}")]
    Key {
        path: String,
        source: std::io::Error,
    },
    #[error("the session key file {0} must hold at least 64 bytes")]
    ShortKey(String),
    #[error("console server: {0}")]
    Serve(std::io::Error),
}

/// The cookie-signing key: from `session_key_file` (at least 64 bytes), else a fresh one.
pub fn session_key(config: &ConsoleConfig) -> Result<Key, ServeError> {
    match &config.session_key_file {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| ServeError::Key {
                path: path.display().to_string(),
                source,
            })?;
            if bytes.len() < 64 {
                return Err(ServeError::ShortKey(path.display().to_string()));
            }
            Ok(Key::from(&bytes[..64]))
        }
        None => {
            tracing::warn!("no console.session_key_file: sessions end when the console restarts");
            Ok(Key::generate())
        }
    }
}

/// Serves the console until `shutdown` resolves. Returns the bound address through `bound`
/// before serving (so a caller asking for port 0 learns the port).
/// Words the console shows beside ids: topic display names, and the teams (`[teams]`) the inbox
/// filters by.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub names: HashMap<String, String>,
    pub teams: std::collections::BTreeMap<String, voc_flags::digest::Team>,
}

pub async fn serve(
    config: ConsoleConfig,
    reader: Store,
    writer: Store,
    labels: Labels,
    notifier: voc_flags::Notifier,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    bound: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let key = session_key(&config)?;
    let addr = config.addr.clone();
    if !config.secure_cookies && !addr.starts_with("127.") && !addr.starts_with("localhost") {
        tracing::warn!(%addr, "the console listens beyond loopback without console.secure_cookies: serve it behind HTTPS and set secure_cookies = true");
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.clone(),
            source,
        })?;
    if let Ok(local) = listener.local_addr() {
        bound(local);
    }
    let app = app::router(app::AppState::new(
        config, reader, writer, key, labels, notifier,
    ));
    // The peer address decides whether a sign-on proxy's header is believed.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(ServeError::Serve)
}
