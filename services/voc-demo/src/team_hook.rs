//! The demo's stand-in for an owning team's chat channel: a webhook receiver on loopback that keeps
//! what it is sent, in memory and as JSON lines in the demo directory (`team-webhooks.jsonl`), so
//! the demo can show that the team owning the planted burst was told, and what it read.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use voc_flags::digest::Team;

/// The team the demo routes its planted burst to.
pub const DEMO_TEAM: &str = "app-team";

#[derive(Clone)]
struct Received {
    messages: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    file: PathBuf,
}

/// A running receiver; it serves until the runtime it was started on ends.
#[derive(Clone)]
pub struct TeamHook {
    base: String,
    received: Received,
}

impl std::fmt::Debug for TeamHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamHook")
            .field("base", &self.base)
            .finish()
    }
}

impl TeamHook {
    /// Listens on a free loopback port; messages are also written to `dir/team-webhooks.jsonl`
    /// (emptied first: it holds this run's messages).
    pub async fn start(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        std::fs::File::create(dir.join("team-webhooks.jsonl"))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let received = Received {
            messages: Arc::new(Mutex::new(Vec::new())),
            file: dir.join("team-webhooks.jsonl"),
        };
        let app = axum::Router::new()
            .route("/hooks/{team}", post(receive))
            .with_state(received.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the demo's team webhook stopped");
            }
        });
        Ok(Self { base, received })
    }

    /// The webhook URL of `team`.
    pub fn url(&self, team: &str) -> String {
        format!("{}/hooks/{team}", self.base)
    }

    /// Where the messages are kept as JSON lines.
    pub fn file(&self) -> &Path {
        &self.received.file
    }

    /// (team, message) in the order received.
    pub fn received(&self) -> Vec<(String, serde_json::Value)> {
        self.received
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The demo's `[teams]`: the app team owns account and login problems and the mobile app, and
    /// is told on this receiver.
    pub fn teams(&self) -> BTreeMap<String, Team> {
        BTreeMap::from([(
            DEMO_TEAM.to_string(),
            Team {
                topics: vec!["account_login".into()],
                products: vec!["mobile-app".into()],
                webhook_url: Some(self.url(DEMO_TEAM)),
                ..Team::default()
            },
        )])
    }
}

async fn receive(
    State(r): State<Received>,
    UrlPath(team): UrlPath<String>,
    Json(body): Json<serde_json::Value>,
) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&r.file)
    {
        let _ = writeln!(f, "{}", serde_json::json!({"team": team, "message": body}));
    }
    r.messages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((team, body));
}
