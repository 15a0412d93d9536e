//! The loopback kit shared by `voc demo`, `voc bench e2e` and the end-to-end tests: free ports,
//! a plain HTTP GET, the worker's Prometheus metrics, and `voc worker` as a child process.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// A TCP port free on loopback right now (another process may take it before it is bound: the
/// callers bind at once and fail clearly if they lose the race).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// One GET over HTTP/1.0 with a 5 s timeout: the status code and the body, or `None` when
/// nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // One write: `write!` would send the pieces of the request as separate segments.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(request.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The value of an unlabelled sample `name` in a Prometheus text exposition.
pub fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Scrapes `name` from the `/metrics` endpoint at `addr`.
pub fn scrape(addr: &str, name: &str) -> Option<f64> {
    sample(&http_get(addr, "/metrics")?.1, name)
}

/// A `voc worker` child process with its metrics endpoint; killed on drop.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of its `/metrics` and `/health`.
    pub metrics_addr: String,
}

impl WorkerProcess {
    /// Starts `voc [args…] worker` from `command` (the binary and environment prepared by the
    /// caller) with its metrics on a free loopback port and its output in `log`.
    pub fn spawn(mut command: Command, args: &[&str], log: &Path) -> std::io::Result<Self> {
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(log)?;
        let child = command
            .args(args)
            .arg("worker")
            .env("VOC_METRICS_ADDR", &metrics_addr)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(Self {
            child: Some(child),
            metrics_addr,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then wait: the graceful path (drain, commit, exit).
    pub fn terminate(mut self) -> std::io::Result<ExitStatus> {
        let mut child = self.child.take().ok_or(std::io::ErrorKind::NotFound)?;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        child.wait()
    }

    /// SIGKILL: no drain, no commit.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// GET a path of its HTTP endpoint: (status, body).
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        http_get(&self.metrics_addr, path)
    }

    /// A sample from its `/metrics`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        scrape(&self.metrics_addr, name)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_found_by_its_exact_name() {
        let text = "# HELP voc_x_total X.\n# TYPE voc_x_total counter\nvoc_x_total 3\n\
                    voc_x_total_bytes 9\nvoc_y{reason=\"a\"} 2\n";
        assert_eq!(sample(text, "voc_x_total"), Some(3.0));
        assert_eq!(sample(text, "voc_x_total_bytes"), Some(9.0));
        assert_eq!(sample(text, "voc_x"), None, "a prefix is not a name");
        assert_eq!(
            sample(text, "voc_y"),
            None,
            "labelled samples need their labels"
        );
    }
}
