//! A real ClickHouse server for tests: Debian's `clickhouse-server` started on free loopback ports
//! with its own data directory (the same launcher `voc demo` uses), stopped and deleted on drop.
//! `VOC_TEST_CLICKHOUSE_URL` points tests at an existing server instead (databases stay unique
//! per test).

use std::path::PathBuf;
use std::time::Duration;

use voc_demo::local_clickhouse::LocalClickHouse;

use crate::cluster::Cluster;
use crate::free_port;

pub struct ClickHouse {
    pub url: String,
    server: Option<LocalClickHouse>,
    dir: Option<PathBuf>,
    /// A cluster of private servers instead (`url` is its first server's).
    pub cluster: Option<Cluster>,
}

impl ClickHouse {
    /// Starts a private server, or uses `VOC_TEST_CLICKHOUSE_URL`.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("VOC_TEST_CLICKHOUSE_URL") {
            return Self {
                url,
                server: None,
                dir: None,
                cluster: None,
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
            cluster: None,
        }
    }

    /// Starts a private cluster of `shards × replicas` servers and ZooKeeper ([`Cluster`]).
    pub fn start_cluster(shards: usize, replicas: usize) -> Self {
        let cluster = Cluster::start(shards, replicas);
        Self {
            url: cluster.servers[0].url(),
            server: None,
            dir: None,
            cluster: Some(cluster),
        }
    }

    /// Runs a query on server `i` of the cluster; the body or the server's error text.
    pub fn query_on(&self, i: usize, sql: &str) -> Result<String, String> {
        let cluster = self.cluster.as_ref().expect("a cluster");
        post(&self.reader_url(&cluster.servers[i].url()), sql)
    }

    /// Stops server `i` of the cluster (kill -9), keeping its data.
    pub fn stop_server(&mut self, i: usize) {
        self.cluster.as_mut().expect("a cluster").servers[i].stop();
    }

    /// Starts server `i` of the cluster again, and waits until it answers.
    pub fn resume_server(&mut self, i: usize) {
        self.cluster.as_mut().expect("a cluster").servers[i]
            .start()
            .unwrap_or_else(|e| panic!("{e}"));
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
        post(&self.reader_url(&self.url), sql)
    }

    /// `url`, with the reader's settings on a cluster ([`crate::cluster::READER_SETTINGS`]).
    fn reader_url(&self, url: &str) -> String {
        match &self.cluster {
            Some(_) => format!("{url}/?{}", crate::cluster::READER_SETTINGS),
            None => url.to_string(),
        }
    }

    /// A query that must succeed.
    pub fn q(&self, sql: &str) -> String {
        self.query(sql)
            .unwrap_or_else(|e| panic!("query failed: {sql}\n{e}"))
    }
}

/// POSTs a query to a server over HTTP; the body (TSV by default) or the server's error text.
fn post(url: &str, sql: &str) -> Result<String, String> {
    let response = ureq::post(url)
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

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
