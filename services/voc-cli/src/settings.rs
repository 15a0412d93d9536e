//! Settings: the libraries' own config types (each with its defaults, written once) gathered in
//! one file layout; an optional TOML file (`--config` or `VOC_CONFIG`), then environment
//! variables, which win. Overrides are applied and logged here and nowhere else; secrets are
//! never logged. `voc config` shows every effective value and where it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use voc_core::Limits;
use voc_flags::FlagConfig;
use voc_store::StoreConfig;
use voc_stream::WorkerConfig;
use voc_stream::config::{KafkaSettings, WorkerSettings};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub analysis: AnalysisSettings,
    pub limits: Limits,
    pub kafka: KafkaSettings,
    pub clickhouse: StoreConfig,
    pub worker: WorkerSettings,
    pub flags: FlagConfig,
    /// `[teams.NAME]`: who owns which topics, products and themes, for the weekly digest.
    pub teams: BTreeMap<String, voc_flags::digest::Team>,
    /// `[console]`: `voc serve`.
    pub console: voc_console::ConsoleConfig,
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

/// One environment variable: its name, the setting it sets (as `voc config` shows it), whether
/// its value is a secret (never logged), and how it is applied.
pub struct EnvVar {
    pub name: &'static str,
    pub key: &'static str,
    pub secret: bool,
    set: fn(&mut Settings, String),
}

const fn var(
    name: &'static str,
    key: &'static str,
    secret: bool,
    set: fn(&mut Settings, String),
) -> EnvVar {
    EnvVar {
        name,
        key,
        secret,
        set,
    }
}

/// Every environment variable voc reads for its settings (`VOC_CONFIG` and `VOC_LOG*` are read
/// by the command line itself).
pub const ENV: &[EnvVar] = &[
    var("VOC_KAFKA_BROKERS", "kafka.brokers", false, |s, v| {
        s.kafka.brokers = v
    }),
    var("VOC_INPUT_TOPIC", "kafka.input_topic", false, |s, v| {
        s.kafka.input_topic = v
    }),
    var("VOC_DLQ_TOPIC", "kafka.dlq_topic", false, |s, v| {
        s.kafka.dlq_topic = v
    }),
    var("VOC_GROUP_ID", "kafka.group_id", false, |s, v| {
        s.kafka.group_id = v
    }),
    var(
        "VOC_KAFKA_SASL_USERNAME",
        "kafka.properties.sasl.username",
        false,
        |s, v| {
            s.kafka.properties.0.insert("sasl.username".into(), v);
        },
    ),
    var(
        "VOC_KAFKA_SASL_PASSWORD",
        "kafka.properties.sasl.password",
        true,
        |s, v| {
            s.kafka.properties.0.insert("sasl.password".into(), v);
        },
    ),
    var(
        "VOC_KAFKA_SASL_PASSWORD_FILE",
        "kafka.sasl_password_file",
        false,
        |s, v| s.kafka.sasl_password_file = Some(v.into()),
    ),
    var("VOC_CLICKHOUSE_URL", "clickhouse.url", false, |s, v| {
        s.clickhouse.url = v
    }),
    var(
        "VOC_CLICKHOUSE_DATABASE",
        "clickhouse.database",
        false,
        |s, v| s.clickhouse.database = v,
    ),
    var("VOC_CLICKHOUSE_USER", "clickhouse.user", false, |s, v| {
        s.clickhouse.user = v
    }),
    var(
        "VOC_CLICKHOUSE_PASSWORD",
        "clickhouse.password",
        true,
        |s, v| s.clickhouse.password = v,
    ),
    var(
        "VOC_CLICKHOUSE_PASSWORD_FILE",
        "clickhouse.password_file",
        false,
        |s, v| s.clickhouse.password_file = Some(v.into()),
    ),
    var("VOC_RULES", "analysis.rules", false, |s, v| {
        s.analysis.rules = Some(v.into())
    }),
    var("VOC_DICT", "analysis.dictionary", false, |s, v| {
        s.analysis.dictionary = Some(v.into())
    }),
    var(
        "VOC_DICT_SOURCES",
        "analysis.dictionary_sources",
        false,
        |s, v| s.analysis.dictionary_sources = Some(v.into()),
    ),
    var(
        "VOC_USER_DICT",
        "analysis.user_dictionary",
        false,
        |s, v| s.analysis.user_dictionary = Some(v.into()),
    ),
    var("VOC_METRICS_ADDR", "worker.metrics_addr", false, |s, v| {
        s.worker.metrics_addr = v
    }),
    var(
        "VOC_FLAGS_WEBHOOK_URL",
        "flags.webhook_url",
        true,
        |s, v| s.flags.webhook_url = Some(v),
    ),
    var("VOC_FLAGS_TOPIC", "flags.kafka_topic", false, |s, v| {
        s.flags.kafka_topic = Some(v)
    }),
    var(
        "VOC_FLAGGER_METRICS_ADDR",
        "flags.metrics_addr",
        false,
        |s, v| s.flags.metrics_addr = v,
    ),
    var("VOC_CONSOLE_ADDR", "console.addr", false, |s, v| {
        s.console.addr = v
    }),
    var(
        "VOC_CONSOLE_USERS_FILE",
        "console.users_file",
        false,
        |s, v| s.console.users_file = v.into(),
    ),
    var(
        "VOC_CONSOLE_SESSION_KEY_FILE",
        "console.session_key_file",
        false,
        |s, v| s.console.session_key_file = Some(v.into()),
    ),
    var(
        "VOC_CONSOLE_READER_USER",
        "console.reader_user",
        false,
        |s, v| s.console.reader_user = Some(v),
    ),
    var(
        "VOC_CONSOLE_READER_PASSWORD",
        "console.reader_password",
        true,
        |s, v| s.console.reader_password = Some(v),
    ),
];

/// `VOC_*` variables the command line reads itself, and prefixes of the test suite's own.
const ENV_OTHER: &[&str] = &["VOC_CONFIG", "VOC_LOG", "VOC_LOG_FORMAT", "VOC_BIN"];
const ENV_OTHER_PREFIXES: &[&str] = &["VOC_TEST_"];

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(name) => write!(f, "env {name}"),
        }
    }
}

/// Loaded settings and, per setting that is not a default, where it came from.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub settings: Settings,
    /// Dotted setting keys (`kafka.brokers`) → origin; keys not listed are defaults.
    pub origins: BTreeMap<String, Origin>,
    /// `VOC_*` variables set in the environment that voc does not read (typos).
    pub unknown_env: Vec<String>,
}

/// `(dotted key, value as JSON)` for every leaf of a tree of settings (`[kafka] brokers` →
/// `kafka.brokers`); an empty table is a leaf.
pub fn leaves(value: &serde_json::Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &key, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The process's `VOC_*` environment variables (names and values that are not valid Unicode are
/// skipped: no setting can use them).
pub fn voc_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("VOC_"))
        .collect()
}

/// `VOC_*` names among `names` that voc does not read.
fn unknown_env<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut unknown: Vec<String> = names
        .filter(|n| n.starts_with("VOC_"))
        .filter(|n| !ENV.iter().any(|v| v.name == *n) && !ENV_OTHER.contains(n))
        .filter(|n| !ENV_OTHER_PREFIXES.iter().any(|p| n.starts_with(p)))
        .map(str::to_string)
        .collect();
    unknown.sort();
    unknown
}

impl Settings {
    /// Loads defaults ← file ← environment, then validates.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self::load_with_origins(file, &voc_env())?.settings)
    }

    /// Like [`Settings::load`], also telling where each value came from; `env` holds the
    /// environment's `VOC_*` variables.
    pub fn load_with_origins(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> anyhow::Result<Loaded> {
        let get = |k: &str| env.get(k).cloned();
        let mut origins = BTreeMap::new();
        let mut settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let settings: Settings = toml::from_str(&text).map_err(|e| {
                    let line = e
                        .span()
                        .map(|s| text[..s.start].matches('\n').count() + 1)
                        .unwrap_or(1);
                    anyhow::anyhow!("config file {}:{line}: {}", path.display(), e.message())
                })?;
                let mut keys = Vec::new();
                if let Ok(value) = text.parse::<toml::Table>().map(serde_json::to_value) {
                    leaves(&value.unwrap_or_default(), "", &mut keys);
                }
                for (key, _) in keys {
                    origins.insert(key, Origin::File(path.to_path_buf()));
                }
                settings
            }
            None => Settings::default(),
        };
        for (name, key) in settings.apply_env(get) {
            origins.insert(key.to_string(), Origin::Env(name));
        }
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
        settings.clickhouse.read_password_file()?;
        settings.validate()?;
        Ok(Loaded {
            settings,
            origins,
            unknown_env: unknown_env(env.keys().map(String::as_str)),
        })
    }

    /// Applies the environment; returns which variables set which keys.
    fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Vec<(&'static str, &'static str)> {
        let mut applied = Vec::new();
        for v in ENV {
            let Some(value) = get(v.name).filter(|v| !v.is_empty()) else {
                continue;
            };
            if v.secret {
                tracing::debug!(key = v.name, "setting from environment (secret, not shown)");
            } else {
                tracing::debug!(key = v.name, %value, "setting from environment");
            }
            (v.set)(self, value);
            applied.push((v.name, v.key));
        }
        applied
    }

    /// The ClickHouse connection (its password file was read at load).
    pub fn store_config(&self) -> StoreConfig {
        self.clickhouse.clone()
    }

    /// The worker's configuration.
    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            kafka: self.kafka.clone(),
            worker: self.worker.clone(),
            limits: self.limits,
        }
    }

    /// Cross-field checks that serde cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        let l = &self.limits;
        if l.max_message_bytes < 256 || l.max_turns == 0 || l.max_turn_chars < 16 {
            bail!("limits are too small to accept any message: {l:?}");
        }
        if !voc_store::is_plain_name(&self.clickhouse.database) {
            bail!(
                "clickhouse.database {:?} must be letters, digits and _",
                self.clickhouse.database
            );
        }
        if self.clickhouse.aggregate_open_days == 0 {
            bail!(
                "clickhouse.aggregate_open_days must be at least 1 (today): late and replayed messages for an open day are counted at once"
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
        self.flags.validate().map_err(anyhow::Error::msg)?;
        self.console.validate().map_err(anyhow::Error::msg)?;
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
    fn every_value_says_where_it_came_from_and_typos_are_reported() {
        let dir = std::env::temp_dir().join(format!("voc-origins-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("voc.toml");
        std::fs::write(&path, "[kafka]\nbrokers = \"a:1\"\ngroup_id = \"g\"\n").expect("write");
        let env: BTreeMap<String, String> = [
            ("VOC_GROUP_ID", "from-env"),
            ("VOC_CLICKHOUSE_URLL", "http://typo:8123"),
            ("VOC_TEST_KAFKA_BROKERS", "x:1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let loaded = Settings::load_with_origins(Some(&path), &env).expect("loads");
        assert_eq!(loaded.settings.kafka.brokers, "a:1");
        assert_eq!(loaded.settings.kafka.group_id, "from-env");
        assert_eq!(
            loaded.origins.get("kafka.brokers"),
            Some(&Origin::File(path.clone()))
        );
        assert_eq!(
            loaded.origins.get("kafka.group_id"),
            Some(&Origin::Env("VOC_GROUP_ID"))
        );
        assert_eq!(loaded.origins.get("clickhouse.url"), None, "a default");
        assert_eq!(loaded.unknown_env, ["VOC_CLICKHOUSE_URLL"]);
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
                .kafka
                .properties
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
