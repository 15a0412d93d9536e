//! `voc serve` (the web console) and `voc users add` (its accounts).

use std::io::Read;

use anyhow::{Context, bail};
use voc_console::users::{Role, Users};
use voc_store::{Store, StoreConfig};

use crate::cmd_stream::{connect_migrated, shutdown_signal};
use crate::settings::Settings;

/// Serves the console on `console.addr` until SIGINT/SIGTERM. Pages read through
/// `console.reader_user` when set (the read-only ClickHouse user); flag actions write through the
/// `[clickhouse]` user.
pub async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let writer = connect_migrated(settings).await?;
    let reader = match &settings.console.reader_user {
        Some(user) => Store::connect(&StoreConfig {
            user: user.clone(),
            password: settings.console.reader_password.clone().unwrap_or_default(),
            password_file: None,
            ..settings.clickhouse.clone()
        })
        .await
        .with_context(|| format!("cannot connect to ClickHouse as the reader {user:?}"))?,
        None => writer.clone(),
    };
    let names = crate::cmd_flags::topic_names(settings);
    if Users::load(&settings.console.users_file)?.users.is_empty() {
        eprintln!(
            "warning: no accounts in {}: add one with `voc users add NAME --role lead` (password on stdin)",
            settings.console.users_file.display()
        );
    }
    voc_console::serve(
        settings.console.clone(),
        reader,
        writer,
        voc_console::Labels {
            names,
            teams: settings.teams.clone(),
        },
        crate::cmd_flags::notifier(settings)?,
        shutdown_signal(),
        |addr| println!("voc console on http://{addr}/"),
    )
    .await?;
    Ok(())
}

/// `voc users add NAME --role ROLE`: the password is read from stdin (one line), never from the
/// command line, and only its argon2 hash is written.
pub fn add(settings: &Settings, name: &str, role: Role) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("cannot read the password from stdin")?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!(
            "give the password on stdin, e.g. `read -rs P && printf %s \"$P\" | voc users add {name} --role {role}`"
        );
    }
    let path = &settings.console.users_file;
    Users::add(path, name, role, password)?;
    println!("{name} ({role}) written to {}", path.display());
    Ok(())
}
