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
    #[error("clickhouse-server exited at start ({0}); see its log in {1}")]
    Exited(std::process::ExitStatus, PathBuf),
    #[error("another server answers on port {0}, taken after it was found free")]
    PortTaken(u16),
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
    /// Started before: a restart keeps its ports, which clients know.
    started: bool,
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
            started: false,
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
        // A port found free may be taken by another process before the server binds it (tests
        // start many servers at once). A first start with the package's config, where nothing
        // else names the ports, tries fresh ones; a caller's config names them, so it fails.
        let attempts = if self.started || self.config.is_some() {
            1
        } else {
            3
        };
        let mut result = self.start_once();
        for _ in 1..attempts {
            match result {
                Err(LocalClickHouseError::Exited(..) | LocalClickHouseError::PortTaken(_)) => {
                    self.http_port = free_port();
                    self.tcp_port = free_port();
                    self.interserver_port = free_port();
                    result = self.start_once();
                }
                _ => break,
            }
        }
        self.started |= result.is_ok();
        result
    }

    fn start_once(&mut self) -> Result<(), LocalClickHouseError> {
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
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(LocalClickHouseError::Exited(status, self.log_file()));
            }
            if self.ping() {
                if self.answers_from_own_data() {
                    return Ok(());
                }
                self.stop();
                return Err(LocalClickHouseError::PortTaken(self.http_port));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(LocalClickHouseError::Timeout(timeout, self.log_file()))
    }

    /// Whether the server on the HTTP port keeps its data in this server's directory, and is not
    /// another one that took the port first. `true` when it cannot tell (a refused query).
    fn answers_from_own_data(&self) -> bool {
        let query = "/?query=SELECT%20data_path%20FROM%20system.databases%20WHERE%20name%20%3D%20%27system%27";
        match crate::loopback::http_get(&format!("127.0.0.1:{}", self.http_port), query) {
            Some((200, path)) => path.contains(&format!("{}/data/", self.dir.display())),
            _ => true,
        }
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
