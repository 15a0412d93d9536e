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
        }
    }
}
