//! Settings: defaults in one place, an optional TOML file (`--config` or `VOC_CONFIG`), then
//! environment variables, which win. Overrides are applied and logged here and nowhere else;
//! secrets are never logged.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize, Serializer};
use voc_core::Limits;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub analysis: AnalysisSettings,
    pub limits: Limits,
    pub kafka: KafkaSettings,
    pub clickhouse: ClickHouseSettings,
    pub worker: WorkerSettings,
    pub flags: FlagSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlagSettings {
    /// Seconds between flagger runs.
    pub interval_s: u64,
    /// The recent window compared with the same hours of the baseline days.
    pub window_hours: i64,
    pub baseline_days: u32,
    /// A repeat contact is the same customer and topic again within this many days.
    pub repeat_days: u32,
    pub min_count: u64,
    pub min_score: f64,
    pub min_ratio: f64,
    /// POST new flags here as JSON with a Slack-compatible `text` field.
    #[serde(serialize_with = "redact_opt")]
    pub webhook_url: Option<String>,
    /// Publish new flags to this Kafka topic as JSON.
    pub kafka_topic: Option<String>,
}

impl Default for FlagSettings {
    fn default() -> Self {
        Self {
            interval_s: 300,
            window_hours: 3,
            baseline_days: 7,
            repeat_days: 3,
            min_count: 5,
            min_score: 3.0,
            min_ratio: 2.0,
            webhook_url: None,
            kafka_topic: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Analysis threads; 0 means one per CPU core.
    pub analysis_threads: usize,
    pub max_in_flight_messages: usize,
    pub max_in_flight_bytes: usize,
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub batch_interval_ms: u64,
    pub drain_timeout_s: u64,
    /// `host:port` of /metrics and /health; empty to disable. Loopback unless set otherwise.
    pub metrics_addr: String,
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            analysis_threads: 0,
            max_in_flight_messages: 5_000,
            max_in_flight_bytes: 64 << 20,
            batch_rows: 2_000,
            batch_bytes: 8 << 20,
            batch_interval_ms: 500,
            drain_timeout_s: 30,
            metrics_addr: "127.0.0.1:9464".into(),
            retry_initial_ms: 200,
            retry_max_ms: 15_000,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSettings {
    /// Rules file; the bundled default taxonomy when unset.
    pub rules: Option<PathBuf>,
    /// A built lindera IPADIC directory; built on first use into the cache dir when unset.
    pub dictionary: Option<PathBuf>,
    /// Where the IPADIC sources are (Debian's mecab-ipadic).
    pub dictionary_sources: Option<PathBuf>,
    /// A user dictionary CSV (surface,part_of_speech,reading) for product names and jargon.
    pub user_dictionary: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    pub brokers: String,
    pub input_topic: String,
    pub dlq_topic: String,
    pub group_id: String,
    /// Passed to librdkafka as is, for every client (SASL/TLS, client.id, …).
    pub properties: Properties,
    /// Passed to the worker's consumer only (session.timeout.ms, fetch sizes, …).
    pub consumer_properties: Properties,
    /// Read `sasl.password` from this file (Docker/Kubernetes secrets).
    pub sasl_password_file: Option<PathBuf>,
}

/// librdkafka properties. Shown (`voc config`, debug logs) with secret values redacted.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Properties(pub std::collections::BTreeMap<String, String>);

impl std::ops::Deref for Properties {
    type Target = std::collections::BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Keys whose values are credentials: sasl.password, ssl.key.password, ssl.key.pem,
/// sasl.oauthbearer.client.secret, sasl.jaas.config, …
fn is_secret_key(key: &str) -> bool {
    [
        "password",
        "secret",
        "key.pem",
        "jaas",
        "oauthbearer.config",
    ]
    .iter()
    .any(|s| key.contains(s))
}

impl Properties {
    fn shown(&self) -> std::collections::BTreeMap<&str, &str> {
        self.0
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_key(k) {
                    "(set)"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect()
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(s)
    }
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shown().fmt(f)
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            input_topic: "voc.interactions".into(),
            dlq_topic: "voc.interactions.dlq".into(),
            group_id: "voc-worker".into(),
            properties: Default::default(),
            consumer_properties: Default::default(),
            sasl_password_file: None,
        }
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseSettings {
    pub url: String,
    pub database: String,
    pub user: String,
    #[serde(serialize_with = "redact")]
    pub password: String,
    /// Read the password from this file instead (Docker/Kubernetes secrets).
    pub password_file: Option<PathBuf>,
    /// Keep rows this many days (a TTL, on servers that support it); forever when unset.
    pub retention_days: Option<u32>,
}

impl Default for ClickHouseSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".into(),
            database: "voc".into(),
            user: "default".into(),
            password: String::new(),
            password_file: None,
            retention_days: None,
        }
    }
}

impl std::fmt::Debug for ClickHouseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseSettings")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() {
                    "(empty)"
                } else {
                    "(set)"
                },
            )
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// Secrets are shown as set or not, never their value.
fn redact<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if v.is_empty() { "" } else { "(set)" })
}

fn redact_opt<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("(set)"),
        None => s.serialize_none(),
    }
}

/// Environment variables and where they go. Values of secrets are not logged.
const ENV: &[(&str, bool)] = &[
    ("VOC_KAFKA_BROKERS", false),
    ("VOC_INPUT_TOPIC", false),
    ("VOC_DLQ_TOPIC", false),
    ("VOC_GROUP_ID", false),
    ("VOC_CLICKHOUSE_URL", false),
    ("VOC_CLICKHOUSE_DATABASE", false),
    ("VOC_CLICKHOUSE_USER", false),
    ("VOC_CLICKHOUSE_PASSWORD", true),
    ("VOC_CLICKHOUSE_PASSWORD_FILE", false),
    ("VOC_RULES", false),
    ("VOC_DICT", false),
    ("VOC_DICT_SOURCES", false),
    ("VOC_USER_DICT", false),
    ("VOC_METRICS_ADDR", false),
    ("VOC_FLAGS_WEBHOOK_URL", true),
    ("VOC_FLAGS_TOPIC", false),
    ("VOC_KAFKA_SASL_USERNAME", false),
    ("VOC_KAFKA_SASL_PASSWORD", true),
    ("VOC_KAFKA_SASL_PASSWORD_FILE", false),
];

impl Settings {
    /// Loads defaults ← file ← environment, then validates.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str(&text).map_err(|e| {
                    let line = e
                        .span()
                        .map(|s| text[..s.start].matches('\n').count() + 1)
                        .unwrap_or(1);
                    anyhow::anyhow!("config file {}:{line}: {}", path.display(), e.message())
                })?
            }
            None => Settings::default(),
        };
        settings.apply_env(|k| std::env::var(k).ok());
        if let Some(path) = &settings.kafka.sasl_password_file {
            let secret = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the Kafka SASL password file {}",
                    path.display()
                )
            })?;
            settings.kafka.properties.0.insert(
                "sasl.password".into(),
                secret.trim_end_matches(['\n', '\r']).to_string(),
            );
        }
        settings.validate()?;
        Ok(settings)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        for (key, secret) in ENV {
            let Some(value) = get(key).filter(|v| !v.is_empty()) else {
                continue;
            };
            if *secret {
                tracing::debug!(key, "setting from environment (secret, not shown)");
            } else {
                tracing::debug!(key, %value, "setting from environment");
            }
            let path = || Some(PathBuf::from(&value));
            match *key {
                "VOC_KAFKA_BROKERS" => self.kafka.brokers = value.clone(),
                "VOC_INPUT_TOPIC" => self.kafka.input_topic = value.clone(),
                "VOC_DLQ_TOPIC" => self.kafka.dlq_topic = value.clone(),
                "VOC_GROUP_ID" => self.kafka.group_id = value.clone(),
                "VOC_CLICKHOUSE_URL" => self.clickhouse.url = value.clone(),
                "VOC_CLICKHOUSE_DATABASE" => self.clickhouse.database = value.clone(),
                "VOC_CLICKHOUSE_USER" => self.clickhouse.user = value.clone(),
                "VOC_CLICKHOUSE_PASSWORD" => self.clickhouse.password = value.clone(),
                "VOC_CLICKHOUSE_PASSWORD_FILE" => self.clickhouse.password_file = path(),
                "VOC_RULES" => self.analysis.rules = path(),
                "VOC_DICT" => self.analysis.dictionary = path(),
                "VOC_DICT_SOURCES" => self.analysis.dictionary_sources = path(),
                "VOC_USER_DICT" => self.analysis.user_dictionary = path(),
                "VOC_METRICS_ADDR" => self.worker.metrics_addr = value.clone(),
                "VOC_FLAGS_WEBHOOK_URL" => self.flags.webhook_url = Some(value.clone()),
                "VOC_FLAGS_TOPIC" => self.flags.kafka_topic = Some(value.clone()),
                "VOC_KAFKA_SASL_USERNAME" => {
                    self.kafka
                        .properties
                        .0
                        .insert("sasl.username".into(), value.clone());
                }
                "VOC_KAFKA_SASL_PASSWORD" => {
                    self.kafka
                        .properties
                        .0
                        .insert("sasl.password".into(), value.clone());
                }
                "VOC_KAFKA_SASL_PASSWORD_FILE" => self.kafka.sasl_password_file = path(),
                _ => {}
            }
        }
    }

    /// The ClickHouse connection, with the password read from its file when one is named.
    pub fn store_config(&self) -> anyhow::Result<voc_store::StoreConfig> {
        let c = &self.clickhouse;
        let password = match &c.password_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| {
                    format!(
                        "cannot read the ClickHouse password file {}",
                        path.display()
                    )
                })?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
            None => c.password.clone(),
        };
        Ok(voc_store::StoreConfig {
            url: c.url.clone(),
            database: c.database.clone(),
            user: c.user.clone(),
            password,
            retention_days: c.retention_days,
        })
    }

    /// The worker's configuration.
    pub fn worker_config(&self) -> voc_stream::WorkerConfig {
        let k = &self.kafka;
        let w = &self.worker;
        let mut c = voc_stream::WorkerConfig::with_defaults(
            &k.brokers,
            &k.input_topic,
            &k.dlq_topic,
            &k.group_id,
        );
        c.kafka_properties = k.properties.0.clone();
        c.consumer_properties = k.consumer_properties.0.clone();
        if w.analysis_threads > 0 {
            c.analysis_threads = w.analysis_threads;
        }
        c.max_in_flight_messages = w.max_in_flight_messages;
        c.max_in_flight_bytes = w.max_in_flight_bytes;
        c.batch_rows = w.batch_rows;
        c.batch_bytes = w.batch_bytes;
        c.batch_interval = std::time::Duration::from_millis(w.batch_interval_ms);
        c.drain_timeout = std::time::Duration::from_secs(w.drain_timeout_s);
        c.metrics_addr = (!w.metrics_addr.is_empty()).then(|| w.metrics_addr.clone());
        c.limits = self.limits;
        c.backoff = voc_store::writer::Backoff {
            initial: std::time::Duration::from_millis(w.retry_initial_ms),
            max: std::time::Duration::from_millis(w.retry_max_ms),
        };
        c
    }

    /// The flagger's configuration.
    pub fn flag_config(&self) -> voc_flags::FlagConfig {
        let f = &self.flags;
        voc_flags::FlagConfig {
            window: time::Duration::hours(f.window_hours),
            baseline_days: f.baseline_days,
            repeat_days: f.repeat_days,
            thresholds: voc_flags::detect::Thresholds {
                min_count: f.min_count,
                min_score: f.min_score,
                min_ratio: f.min_ratio,
                ..Default::default()
            },
        }
    }

    /// Cross-field checks that serde cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        let l = &self.limits;
        if l.max_message_bytes < 256 || l.max_turns == 0 || l.max_turn_chars < 16 {
            bail!("limits are too small to accept any message: {l:?}");
        }
        let ident =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident(&self.clickhouse.database) {
            bail!(
                "clickhouse.database {:?} must be letters, digits and _",
                self.clickhouse.database
            );
        }
        let w = &self.worker;
        if w.batch_rows == 0
            || w.max_in_flight_messages == 0
            || w.max_in_flight_bytes < self.limits.max_message_bytes
        {
            bail!(
                "worker: batch_rows and max_in_flight_messages must be positive, and max_in_flight_bytes at least limits.max_message_bytes"
            );
        }
        if self.flags.window_hours < 1
            || self.flags.window_hours > 24
            || self.flags.baseline_days == 0
        {
            bail!("flags: window_hours must be 1..=24 and baseline_days at least 1");
        }
        if self.kafka.input_topic == self.kafka.dlq_topic {
            bail!(
                "kafka.input_topic and kafka.dlq_topic must differ (both {:?})",
                self.kafka.input_topic
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_defaults() {
        let mut s = Settings::default();
        s.apply_env(|k| (k == "VOC_INPUT_TOPIC").then(|| "t1".to_string()));
        assert_eq!(s.kafka.input_topic, "t1");
        assert_eq!(s.kafka.dlq_topic, "voc.interactions.dlq");
    }

    #[test]
    fn unknown_keys_fail_with_the_line() {
        let dir = std::env::temp_dir().join(format!("voc-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("voc.toml");
        std::fs::write(&path, "[kafka]\nbrokers = \"a:1\"\nbrokerz = \"b\"\n").expect("write");
        let err = Settings::load(Some(&path))
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("voc.toml:3"), "{err}");
        assert!(err.contains("brokerz"), "{err}");
    }

    #[test]
    fn metrics_and_health_listen_on_loopback_unless_configured() {
        let addr: std::net::SocketAddr = Settings::default()
            .worker
            .metrics_addr
            .parse()
            .expect("an address");
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_eq!(
            Settings::default().worker_config().metrics_addr.as_deref(),
            Some("127.0.0.1:9464")
        );
    }

    #[test]
    fn password_is_not_in_debug_output() {
        let mut s = Settings::default();
        s.clickhouse.password = "hunter2".into();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn kafka_credentials_are_redacted_when_shown_but_passed_to_librdkafka() {
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "VOC_KAFKA_SASL_USERNAME" => Some("voc".into()),
            "VOC_KAFKA_SASL_PASSWORD" => Some("hunter2".into()),
            _ => None,
        });
        s.kafka
            .properties
            .0
            .insert("ssl.key.password".into(), "pw2".into());
        s.kafka
            .properties
            .0
            .insert("security.protocol".into(), "SASL_SSL".into());
        let shown = serde_json::to_string(&s).expect("json");
        let debug = format!("{s:?}");
        for text in [&shown, &debug] {
            assert!(!text.contains("hunter2") && !text.contains("pw2"), "{text}");
            assert!(text.contains("SASL_SSL") && text.contains("voc"), "{text}");
        }
        let worker = s.worker_config();
        assert_eq!(
            worker
                .kafka_properties
                .get("sasl.password")
                .map(String::as_str),
            Some("hunter2")
        );
    }

    #[test]
    fn the_sasl_password_can_come_from_a_file() {
        let dir = std::env::temp_dir().join(format!("voc-sasl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let secret = dir.join("sasl");
        std::fs::write(&secret, "s3cret\n").expect("write");
        let config = dir.join("voc.toml");
        std::fs::write(
            &config,
            format!(
                "[kafka]\nsasl_password_file = {:?}\n",
                secret.display().to_string()
            ),
        )
        .expect("write");
        let s = Settings::load(Some(&config)).expect("loads");
        assert_eq!(
            s.kafka.properties.get("sasl.password").map(String::as_str),
            Some("s3cret")
        );
    }
}
