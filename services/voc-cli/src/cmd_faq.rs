//! `voc faq candidates`: question themes worth a self-service FAQ article, ranked by volume and
//! growth, with masked sample questions and the share that needed an agent.

use voc_flags::faq_store;

use crate::cmd_stream::connect_migrated;
use crate::settings::Settings;

pub async fn candidates(
    settings: &Settings,
    product: Option<&str>,
    days: u32,
    json: bool,
    now: Option<&str>,
) -> anyhow::Result<()> {
    let store = connect_migrated(settings).await?;
    let at = crate::cmd_flags::now_or(now)?;
    let found = faq_store::faq_candidates(&store, at, days, product, 5).await?;
    if json {
        for c in &found {
            println!("{}", serde_json::to_string(c)?);
        }
        return Ok(());
    }
    if found.is_empty() {
        println!(
            "no FAQ candidates: no theme of the last {days} days is mostly questions (themes come from `voc flagger`)"
        );
        return Ok(());
    }
    for (i, c) in found.iter().enumerate() {
        println!(
            "{}. {}  [{}]  questions {}  growth {}  needed an agent {:.0}%",
            i + 1,
            c.label,
            c.theme_id,
            c.questions,
            c.growth.map_or("new".to_string(), |g| format!("×{g:.2}")),
            c.agent_share * 100.0
        );
        for s in &c.samples {
            let short: String = s.chars().take(100).collect();
            println!("     「{}」", short.replace('\n', " / "));
        }
    }
    Ok(())
}
