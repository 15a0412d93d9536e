//! FAQ candidates' ClickHouse side: per theme, its questions of the last days and of the days
//! before, from `interactions FINAL` joined with `theme_members FINAL`; ranked by [`crate::faq`].

use time::OffsetDateTime;
use voc_store::rows::epoch_seconds as secs;
use voc_store::{Store, StoreError};

use crate::faq::{FaqCandidate, ThemeQuestions};
use crate::theme_store::{self, ThemeStatus};

/// FAQ candidates over the `days` before `now` (growth against the `days` before those),
/// optionally for one product, with up to three masked sample questions each.
pub async fn faq_candidates(
    store: &Store,
    now: OffsetDateTime,
    days: u32,
    product: Option<&str>,
    min_questions: u64,
) -> Result<Vec<FaqCandidate>, StoreError> {
    let end = secs(now);
    let span = days.saturating_mul(86_400);
    let mid = end.saturating_sub(span);
    let start = mid.saturating_sub(span);
    let stats: Vec<ThemeQuestions> = store
        .client()
        .query(&format!(
            "SELECT theme_id, countIf(occurred_at >= toDateTime({mid})) AS recent, \
             countIf(occurred_at < toDateTime({mid})) AS previous, \
             countIf(occurred_at >= toDateTime({mid}) AND voice_type = 'question') AS questions, \
             countIf(occurred_at >= toDateTime({mid}) AND voice_type = 'question' AND agent_id != '') AS with_agent \
             FROM interactions FINAL ALL INNER JOIN \
             (SELECT interaction_id, theme_id FROM theme_members FINAL WHERE theme_id != '') AS members USING interaction_id \
             WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end}) AND (? = '' OR product = ?) \
             GROUP BY theme_id"
        ))
        .bind(product.unwrap_or(""))
        .bind(product.unwrap_or(""))
        .fetch_all()
        .await
        .map_err(StoreError::query("FAQ candidates"))?;
    let themes = theme_store::list(store).await?;
    let label_of = |id: &str| {
        themes
            .iter()
            .find(|t| t.theme_id == id && t.status == ThemeStatus::Active)
            .map(|t| t.label.clone())
    };
    let mut ranked = crate::faq::rank(&stats, label_of, min_questions, 0.5);
    for c in &mut ranked {
        c.samples = store
            .client()
            .query(&format!(
                "SELECT customer_text FROM interactions FINAL WHERE voice_type = 'question' \
                 AND occurred_at >= toDateTime({mid}) AND occurred_at < toDateTime({end}) AND (? = '' OR product = ?) \
                 AND interaction_id IN (SELECT interaction_id FROM theme_members FINAL WHERE theme_id = ?) \
                 GROUP BY customer_text ORDER BY max(occurred_at) DESC, customer_text LIMIT 3"
            ))
            .bind(product.unwrap_or(""))
            .bind(product.unwrap_or(""))
            .bind(&c.theme_id)
            .fetch_all()
            .await
            .map_err(StoreError::query("FAQ sample questions"))?;
    }
    Ok(ranked)
}
