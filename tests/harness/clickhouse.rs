//! A real ClickHouse server for tests: Debian's `clickhouse-server` started on free loopback ports
//! with its own data directory (the same launcher `voc demo` uses), stopped and deleted on drop.
//! `VOC_TEST_CLICKHOUSE_URL` points tests at an existing server instead (databases stay unique
//! per test).

use std::path::PathBuf;
use std::time::Duration;

use voc_demo::local_clickhouse::LocalClickHouse;

use crate::free_port;

pub struct ClickHouse {
    pub url: String,
    server: Option<LocalClickHouse>,
    dir: Option<PathBuf>,
}

impl ClickHouse {
    /// Starts a private server, or uses `VOC_TEST_CLICKHOUSE_URL`.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("VOC_TEST_CLICKHOUSE_URL") {
            return Self {
                url,
                server: None,
                dir: None,
            };
        }
        let dir =
            std::env::temp_dir().join(format!("voc-ch-{}-{}", std::process::id(), free_port()));
        let mut server = LocalClickHouse::new(&dir);
        server.start().unwrap_or_else(|e| panic!("{e}"));
        Self {
            url: server.url(),
            server: Some(server),
            dir: Some(dir),
        }
    }

    /// Whether this server is ours to stop and start.
    pub fn is_private(&self) -> bool {
        self.server.is_some()
    }

    /// (Re)starts the server process on the same ports and data, and waits until it answers.
    pub fn resume(&mut self) {
        let server = self
            .server
            .as_mut()
            .expect("only a private server can be started");
        server.start().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops the server process (an outage), keeping its data.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.as_mut() {
            server.stop();
        }
    }

    /// Runs a query over HTTP; the body (TSV by default) or the server's error text.
    pub fn query(&self, sql: &str) -> Result<String, String> {
        let response = ureq::post(&self.url)
            .config()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .send(sql);
        match response {
            Ok(mut r) => {
                let status = r.status();
                let body = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
                if status.is_success() {
                    Ok(body)
                } else {
                    Err(body)
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// A query that must succeed.
    pub fn q(&self, sql: &str) -> String {
        self.query(sql)
            .unwrap_or_else(|e| panic!("query failed: {sql}\n{e}"))
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
