//! A real ClickHouse server for tests: Debian's `clickhouse-server` started on free loopback
//! ports with its own data directory, stopped (and deleted) on drop. `VOC_TEST_CLICKHOUSE_URL`
//! points tests at an existing server instead (its databases are still unique per test).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

pub struct ClickHouse {
    pub url: String,
    dir: Option<PathBuf>,
    child: Option<Child>,
    ports: (u16, u16, u16),
}

impl ClickHouse {
    /// Starts a private server, or uses `VOC_TEST_CLICKHOUSE_URL`.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("VOC_TEST_CLICKHOUSE_URL") {
            return Self {
                url,
                dir: None,
                child: None,
                ports: (0, 0, 0),
            };
        }
        let dir =
            std::env::temp_dir().join(format!("voc-ch-{}-{}", std::process::id(), free_port()));
        let ports = (free_port(), free_port(), free_port());
        let mut ch = Self {
            url: format!("http://127.0.0.1:{}", ports.0),
            dir: Some(dir),
            child: None,
            ports,
        };
        ch.resume();
        ch
    }

    /// Whether this server is ours to stop and start.
    pub fn is_private(&self) -> bool {
        self.dir.is_some()
    }

    /// (Re)starts the server process on the same ports and data, and waits until it answers.
    pub fn resume(&mut self) {
        let dir = self
            .dir
            .clone()
            .expect("only a private server can be started");
        for sub in ["data", "tmp", "uf", "fs"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create ClickHouse dirs");
        }
        let (http, tcp, inter) = self.ports;
        let arg = |k: &str, v: String| format!("--{k}={v}");
        let child = Command::new("clickhouse-server")
            .arg("--config-file=/etc/clickhouse-server/config.xml")
            .arg("--")
            .arg(arg("path", format!("{}/data/", dir.display())))
            .arg(arg("tmp_path", format!("{}/tmp/", dir.display())))
            .arg(arg("user_files_path", format!("{}/uf/", dir.display())))
            .arg(arg("format_schema_path", format!("{}/fs/", dir.display())))
            .arg(arg("http_port", http.to_string()))
            .arg(arg("tcp_port", tcp.to_string()))
            .arg(arg("interserver_http_port", inter.to_string()))
            .arg(arg("logger.log", format!("{}/server.log", dir.display())))
            .arg(arg(
                "logger.errorlog",
                format!("{}/server.err", dir.display()),
            ))
            .arg("--listen_host=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clickhouse-server runs (apt-get install -y clickhouse-server)");
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if self
                .query("SELECT 1")
                .map(|r| r.trim() == "1")
                .unwrap_or(false)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "ClickHouse did not start within 30 s (logs in {})",
            dir.display()
        );
    }

    /// Stops the server process (an outage), keeping its data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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
