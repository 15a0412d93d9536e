//! `[console]`: where `voc serve` listens, who may log in, and how. The defaults are written here
//! and nowhere else.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

voc_core::closed_set! {
    /// The console's languages.
    pub enum ConsoleLang("console language") {
        Ja = "ja",
        En = "en",
    }
}

voc_core::closed_set! {
    /// How people sign in: with a password from the users file, or through a single sign-on
    /// reverse proxy that names them in a header.
    pub enum ConsoleAuth("console auth") {
        Password = "password",
        Proxy = "proxy",
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// `host:port` to listen on (loopback unless set otherwise).
    pub addr: String,
    /// Accounts (`voc users add NAME --role ROLE` writes it); read at every login, so a new
    /// account needs no restart.
    pub users_file: PathBuf,
    /// A file with at least 64 random bytes to sign session cookies, so sessions survive restarts
    /// and several consoles share them; a fresh key per start when unset.
    pub session_key_file: Option<PathBuf>,
    /// Hours a session lasts.
    pub session_hours: u32,
    /// Set the cookies' `Secure` flag (serve behind HTTPS).
    pub secure_cookies: bool,
    /// The language of a first visit (`ja` or `en`; switchable on every page).
    pub default_lang: ConsoleLang,
    /// Times are shown in this offset from UTC, in hours (Asia/Tokyo: 9).
    pub utc_offset_hours: i8,
    /// The ClickHouse user pages read with (the read-only one); flag actions go through the
    /// writer of `[clickhouse]`. The reader's password comes from `VOC_CONSOLE_READER_PASSWORD`.
    pub reader_user: Option<String>,
    #[serde(skip_serializing)]
    pub reader_password: Option<String>,
    /// `password` (the users file's argon2 hashes) or `proxy`: a trusted reverse proxy (oauth2-proxy,
    /// an ingress with SSO) signs people in and sends the user name in `proxy_user_header`.
    pub auth: ConsoleAuth,
    /// With `auth = "proxy"`: the header carrying the signed-in user's name.
    pub proxy_user_header: String,
    /// With `auth = "proxy"`: the proxy's addresses, required (no default: a loopback default
    /// would let any local process sign in as anyone). The header is believed only on
    /// connections from these; from anywhere else the request is not signed in.
    pub proxy_trusted: Vec<std::net::IpAddr>,
    /// With `auth = "proxy"`: the role of someone the users file does not list (none: they are
    /// refused). A listed user has the file's role.
    pub proxy_default_role: Option<crate::users::Role>,
}

impl ConsoleConfig {
    /// Checks serde cannot express; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(-12..=14).contains(&self.utc_offset_hours) {
            return Err("console.utc_offset_hours must be -12..=14".into());
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            return Err("console.session_hours must be 1..=720".into());
        }
        if self.auth == ConsoleAuth::Proxy
            && (self.proxy_trusted.is_empty()
                || axum::http::HeaderName::from_bytes(self.proxy_user_header.as_bytes()).is_err())
        {
            return Err(
                "console.auth = \"proxy\" needs proxy_trusted (the proxy's addresses) and a valid proxy_user_header".into(),
            );
        }
        Ok(())
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            users_file: PathBuf::from("voc-users.toml"),
            session_key_file: None,
            session_hours: 12,
            secure_cookies: false,
            default_lang: ConsoleLang::Ja,
            utc_offset_hours: 9,
            reader_user: None,
            reader_password: None,
            auth: ConsoleAuth::Password,
            proxy_user_header: "X-Forwarded-User".into(),
            proxy_trusted: Vec::new(),
            proxy_default_role: None,
        }
    }
}
