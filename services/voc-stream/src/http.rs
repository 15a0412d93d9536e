//! `/metrics` and `/health` over plain HTTP/1.1. Two fixed GET routes do not justify a web
//! framework; requests are read with a size and time limit and every response closes the connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// What `/metrics` and `/health` show: the worker's [`Metrics`], or another process's (the
/// flagger's).
pub trait Scrape: Send + Sync + 'static {
    /// The Prometheus text exposition.
    fn render(&self) -> String;
    /// `Err(reason)` turns `/health` into 503 with the reason.
    fn health(&self) -> Result<(), String>;
}

impl Scrape for Metrics {
    fn render(&self) -> String {
        Metrics::render(self)
    }
    fn health(&self) -> Result<(), String> {
        if self.healthy() {
            Ok(())
        } else {
            Err("unhealthy: ClickHouse or Kafka unreachable, retrying".into())
        }
    }
}

/// Serves until the task is dropped. Binds before returning so the caller learns the address.
pub async fn serve(
    addr: &str,
    metrics: Arc<dyn Scrape>,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                // The request line may arrive in several segments: read until the end of the
                // headers, at most 2 KiB and 5 s.
                let mut buf = Vec::with_capacity(2048);
                let read = async {
                    let mut chunk = [0u8; 512];
                    while buf.len() < 2048 && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                };
                if tokio::time::timeout(Duration::from_secs(5), read)
                    .await
                    .is_err()
                {
                    return;
                }
                let request = String::from_utf8_lossy(&buf);
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let (status, body, kind) = match path {
                    "/metrics" => ("200 OK", metrics.render(), "text/plain; version=0.0.4"),
                    "/health" => match metrics.health() {
                        Ok(()) => ("200 OK", "ok\n".to_string(), "text/plain"),
                        Err(reason) => (
                            "503 Service Unavailable",
                            format!("{reason}\n"),
                            "text/plain",
                        ),
                    },
                    _ => ("404 Not Found", "not found\n".to_string(), "text/plain"),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok((local, task))
}
