//! `voc config`: every effective setting, with where it came from (default, file or
//! environment variable); secrets redacted. Warns about `VOC_*` variables voc does not read.

use std::path::Path;

use crate::settings::{ENV, Loaded, Origin, Settings, leaves, voc_env};

/// The lines `voc config` prints: `key = value  # origin`, aligned.
pub fn render(loaded: &Loaded) -> anyhow::Result<String> {
    let mut rows = Vec::new();
    leaves(&serde_json::to_value(&loaded.settings)?, "", &mut rows);
    let width = rows
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .max()
        .unwrap_or(0)
        + 3;
    let mut out = String::new();
    for (key, value) in rows {
        let origin = loaded.origins.get(&key).unwrap_or(&Origin::Default);
        let pad = width - key.len() - value.len();
        out.push_str(&format!("{key} = {value}{:pad$}# {origin}\n", ""));
    }
    Ok(out)
}

/// The environment variables voc reads: name, the setting, and whether it is a secret.
pub fn env_table() -> String {
    let mut out = String::new();
    for v in ENV {
        let secret = if v.secret { "  (secret)" } else { "" };
        out.push_str(&format!("{:<30} {}{secret}\n", v.name, v.key));
    }
    out
}

pub fn show(file: Option<&Path>, json: bool, env: bool) -> anyhow::Result<()> {
    if env {
        print!("{}", env_table());
        return Ok(());
    }
    let loaded = Settings::load_with_origins(file, &voc_env())?;
    for name in &loaded.unknown_env {
        eprintln!(
            "warning: {name} is set but voc does not read it (a typo? `voc config --env` lists the variables voc reads)"
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&loaded.settings)?);
    } else {
        print!("{}", render(&loaded)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn each_line_names_its_origin_and_secrets_stay_hidden() {
        let env: BTreeMap<String, String> = [
            ("VOC_CLICKHOUSE_PASSWORD", "hunter2"),
            ("VOC_INPUT_TOPIC", "calls"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let loaded = Settings::load_with_origins(None, &env).expect("loads");
        let text = render(&loaded).expect("renders");
        assert!(!text.contains("hunter2"), "{text}");
        let line = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{key} = ")))
                .unwrap_or_else(|| panic!("{key} missing:\n{text}"))
                .to_string()
        };
        assert!(line("kafka.input_topic").contains("\"calls\""));
        assert!(line("kafka.input_topic").ends_with("# env VOC_INPUT_TOPIC"));
        assert!(line("clickhouse.password").contains("(set)"));
        assert!(line("kafka.brokers").ends_with("# default"));
    }
}
