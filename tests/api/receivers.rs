//! Real receivers for notifications: an HTTP server on loopback that records every request
//! (for Slack and generic webhooks), and aiosmtpd from the test venv as the SMTP server.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request with `status` and records it.
pub struct HttpReceiver {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Received>>>,
    pub status: Arc<AtomicU16>,
}

impl HttpReceiver {
    pub async fn start() -> HttpReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (reqs, st) = (requests.clone(), status.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (reqs, st) = (reqs.clone(), st.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head_end, len) = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse().unwrap_or(0))
                                })
                                .unwrap_or(0usize);
                            break (end + 4, len);
                        }
                    };
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end - 4]).to_string();
                    let mut lines = head.lines();
                    let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_string();
                    let headers = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .collect();
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    reqs.lock().unwrap().push(Received { path, headers, body });
                    let code = st.load(Ordering::SeqCst);
                    let reply = format!("HTTP/1.1 {code} Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                    let _ = sock.write_all(reply.as_bytes()).await;
                });
            }
        });
        HttpReceiver { base, requests, status }
    }

    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "expected {n} requests, got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// aiosmtpd, saving messages as JSON files. The Python process binds its own port (port 0)
/// and holds it for its whole life, so no other process can take it, not even while the
/// server is "down".
pub struct SmtpSink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl SmtpSink {
    /// A running SMTP server.
    pub fn start() -> SmtpSink {
        let mut sink = SmtpSink::spawn(&[]);
        sink.expect_line("ready");
        sink
    }

    /// An SMTP server that is down: its port is bound but refuses connections until `come_up`.
    pub fn down() -> SmtpSink {
        SmtpSink::spawn(&["--down"])
    }

    /// Brings a server made with `down` up, on the same port.
    pub fn come_up(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("stdin of the SMTP server");
        stdin.write_all(b"start\n").expect("tell the SMTP server to start");
        self.expect_line("ready");
    }

    fn spawn(args: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(crate::python::python())
            .arg(crate::python::script("smtp_sink.py"))
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut sink = SmtpSink {
            port: 0,
            dir,
            child,
            stdout,
        };
        let line = sink.read_line();
        sink.port = line
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not report its port: {line:?}"));
        sink
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read the SMTP server's stdout");
        line.trim().to_string()
    }

    fn expect_line(&mut self, wanted: &str) {
        let line = self.read_line();
        assert_eq!(line, wanted, "the SMTP server did not start");
    }

    pub fn mails(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("mail-")))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits (bounded) until at least `n` mails arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let got = self.mails();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "expected {n} mails, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
