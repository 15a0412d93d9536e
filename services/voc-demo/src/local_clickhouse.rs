//! A local ClickHouse server from Debian's `clickhouse-server` package, on loopback, with its data
//! in a directory of the caller's choosing. Used by `voc demo` and by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::loopback::free_port;

/// The package's default server config; ports, paths and logs are overridden on the command line.
const SYSTEM_CONFIG: &str = "/etc/clickhouse-server/config.xml";
pub const INSTALL_HINT: &str = "sudo apt-get install -y clickhouse-server clickhouse-client";

#[derive(Debug, thiserror::Error)]
pub enum LocalClickHouseError {
    #[error(
        "clickhouse-server is not installed (no {SYSTEM_CONFIG}); install it with `{INSTALL_HINT}`"
    )]
    NotInstalled,
    #[error("cannot start clickhouse-server: {0}")]
    Spawn(std::io::Error),
    #[error("cannot create {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("clickhouse-server did not answer within {0:?}; see its log in {1}")]
    Timeout(Duration, PathBuf),
}

/// A running (or stopped) private server. Dropping it stops the process; the data stays.
#[derive(Debug)]
pub struct LocalClickHouse {
    pub dir: PathBuf,
    pub http_port: u16,
    pub tcp_port: u16,
    interserver_port: u16,
    /// A server config of the caller's (a cluster member's), instead of the package's.
    config: Option<PathBuf>,
    child: Option<Child>,
}

impl LocalClickHouse {
    /// Prepares a server with data under `dir` on free ports (not started yet).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            http_port: free_port(),
            tcp_port: free_port(),
            interserver_port: free_port(),
            config: None,
            child: None,
        }
    }

    /// Starts with this config file instead of the package's (ports, paths and logs are still
    /// set on the command line).
    pub fn set_config(&mut self, config: &Path) {
        self.config = Some(config.to_path_buf());
    }

    /// The package's server config, for a caller to copy and extend.
    pub fn system_config() -> &'static Path {
        Path::new(SYSTEM_CONFIG)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Starts the server and waits until `SELECT 1` answers.
    pub fn start(&mut self) -> Result<(), LocalClickHouseError> {
        if !Path::new(SYSTEM_CONFIG).exists() {
            return Err(LocalClickHouseError::NotInstalled);
        }
        for sub in ["data", "tmp", "user_files", "format_schemas"] {
            let path = self.dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|source| LocalClickHouseError::Dir { path, source })?;
        }
        let d = |sub: &str| format!("{}/", self.dir.join(sub).display());
        let config = self
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CONFIG));
        let child = Command::new("clickhouse-server")
            .arg(format!("--config-file={}", config.display()))
            .arg("--")
            .arg(format!("--path={}", d("data")))
            .arg(format!("--tmp_path={}", d("tmp")))
            .arg(format!("--user_files_path={}", d("user_files")))
            .arg(format!("--format_schema_path={}", d("format_schemas")))
            .arg(format!("--http_port={}", self.http_port))
            .arg(format!("--tcp_port={}", self.tcp_port))
            .arg(format!("--interserver_http_port={}", self.interserver_port))
            .arg(format!("--logger.log={}", self.log_file().display()))
            .arg(format!(
                "--logger.errorlog={}",
                self.dir.join("server.err.log").display()
            ))
            .arg("--listen_host=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(LocalClickHouseError::Spawn)?;
        self.child = Some(child);
        // Several servers start at once when tests run in parallel on two cores; 18.16 then takes
        // well over its usual few seconds.
        let timeout = Duration::from_secs(90);
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(LocalClickHouseError::Timeout(timeout, self.log_file()))
    }

    /// Whether the server answers on its HTTP port (`GET /ping`).
    pub fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.http_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /ping HTTP/1.0\r\n\r\n").is_err() {
            return false;
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200")
    }

    /// Stops the server (an outage, or the end of the demo); the data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for LocalClickHouse {
    fn drop(&mut self) {
        self.stop();
    }
}
