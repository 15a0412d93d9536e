//! Test harness: the `voc` binary, a real ClickHouse server and a real Kafka-protocol broker.
//!
//! - [`clickhouse`]: a private `clickhouse-server` on free loopback ports;
//! - [`cluster`]: or a private cluster of them, with ZooKeeper;
//! - [`kafka`]: librdkafka's mock cluster, in the test process, on loopback TCP;
//! - [`pipeline`]: both plus unique database and topic names, and `voc` processes using them.
//!
//! The binary is `VOC_BIN` if set, else `target/<profile>/voc` of this workspace, built once with
//! `cargo build --bin voc` if missing or older than the sources (cargo decides; it is a no-op when
//! fresh).

#![allow(missing_debug_implementations)] // test fixtures, not API

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod clickhouse;
pub mod cluster;
pub mod kafka;
pub mod pipeline;

pub use voc_demo::loopback::free_port;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Path to a freshly built `voc` binary.
pub fn voc_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("VOC_BIN") {
            return PathBuf::from(bin);
        }
        let root = workspace_root();
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "-p", "voc-cli", "--bin", "voc"])
            .current_dir(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --bin voc failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        target.join("debug").join("voc")
    })
    .clone()
}

/// Runs `voc ARGS` with `stdin` as input, and the given extra environment.
pub fn run_voc(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(voc_bin());
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Tests must not depend on the developer's settings.
    for (key, _) in std::env::vars() {
        if key.starts_with("VOC_") && key != "VOC_DICT" {
            cmd.env_remove(key);
        }
    }
    cmd.env("VOC_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("voc starts");
    let mut input = child.stdin.take().expect("stdin piped");
    let data = stdin.to_vec();
    // Write from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("voc runs");
    writer.join().expect("writer thread");
    out
}

/// Parses each stdout/stderr line as JSON.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// A copy of the bundled rules (the main file and the parts it includes) in `dir`, to edit as a
/// support lead would; the path of the main file.
pub fn copy_bundled_rules(dir: &Path) -> PathBuf {
    let from = workspace_root().join("config/rules");
    std::fs::create_dir_all(dir.join("ja-contact-center")).expect("rules dir");
    std::fs::copy(
        from.join("ja-contact-center.toml"),
        dir.join("ja-contact-center.toml"),
    )
    .expect("copy the main rules file");
    for part in std::fs::read_dir(from.join("ja-contact-center")).expect("parts") {
        let part = part.expect("part").path();
        std::fs::copy(
            &part,
            dir.join("ja-contact-center")
                .join(part.file_name().expect("name")),
        )
        .expect("copy a part");
    }
    dir.join("ja-contact-center.toml")
}

/// A local HTTP endpoint that records the bodies POSTed to it (a stand-in for a chat webhook).
pub fn webhook_sink() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= head_end + 4 + len {
                        let body = String::from_utf8_lossy(&buf[head_end + 4..head_end + 4 + len])
                            .into_owned();
                        sink.lock().expect("lock").push(body);
                        break;
                    }
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (url, bodies)
}
