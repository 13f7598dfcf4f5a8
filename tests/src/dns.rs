//! A private DNS server (dnsmasq) for service discovery tests: SRV and address records
//! given by the test, nothing forwarded anywhere.
//!
//! `/etc/resolv.conf` cannot name a port, so the server listens on port 53 of its own
//! loopback address in 127.53.0.0/16 (all of 127/8 is loopback on Linux), distinct per server
//! so that tests running at once never share one; namespaces point their private
//! resolv.conf at it ([`Dnsmasq::resolv_conf`]). Dropping it kills it by PID.

use std::fs;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::proc::{Watchdog, sbin};

/// A record the server answers with.
#[derive(Debug, Clone)]
pub enum DnsRecord {
    /// `_service._proto.domain` SRV `priority weight port target`.
    Srv {
        /// The owner name, e.g. `_ldap._tcp.example.test`.
        name: String,
        /// The host name of the server.
        target: String,
        /// Its port.
        port: u16,
        /// Lower first.
        priority: u16,
        /// Share within a priority.
        weight: u16,
    },
    /// `name` A `address`.
    Host {
        /// The host name.
        name: String,
        /// Its IPv4 address.
        address: String,
    },
}

/// A running dnsmasq.
#[derive(Debug)]
pub struct Dnsmasq {
    child: Child,
    address: String,
    dir: TempDir,
    _watchdog: Watchdog,
}

static NEXT: AtomicU32 = AtomicU32::new(1);

/// A DNS query for `name` type A (enough to see the server answer).
fn probe_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

impl Dnsmasq {
    /// Starts a server holding `records`; waits until it answers.
    pub fn start(records: &[DnsRecord]) -> Result<Dnsmasq> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let address = format!("127.53.{}.{}", std::process::id() % 250 + 1, n % 250 + 1);
        let dir = tempfile::Builder::new()
            .prefix("rsssd-dns-")
            .tempdir()
            .map_err(|e| HarnessError::io("create", "dnsmasq directory", e))?;
        let mut args = vec![
            "--keep-in-foreground".to_string(),
            "--conf-file=/dev/null".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--no-poll".into(),
            "--bind-interfaces".into(),
            format!("--listen-address={address}"),
            "--port=53".into(),
            "--pid-file=".into(),
            "--user=root".into(),
            "--log-queries".into(),
            format!(
                "--log-facility={}",
                dir.path().join("dnsmasq.log").display()
            ),
        ];
        for r in records {
            args.push(match r {
                DnsRecord::Srv {
                    name,
                    target,
                    port,
                    priority,
                    weight,
                } => format!("--srv-host={name},{target},{port},{priority},{weight}"),
                DnsRecord::Host { name, address } => format!("--host-record={name},{address}"),
            });
        }
        let child = Command::new(sbin("dnsmasq"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: "dnsmasq (apt-get install dnsmasq-base)".into(),
                source,
            })?;
        let watchdog = Watchdog::with_cleanup(child.id(), Some(dir.path()))?;
        let mut d = Dnsmasq {
            child,
            address,
            dir,
            _watchdog: watchdog,
        };
        d.wait_ready()?;
        Ok(d)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let q = probe_query("probe.invalid");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(HarnessError::Setup(format!(
                    "dnsmasq on {} exited ({status}): {err}",
                    self.address
                )));
            }
            if let Ok(sock) = UdpSocket::bind("127.0.0.1:0") {
                let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 512];
                if sock.send_to(&q, (self.address.as_str(), 53)).is_ok()
                    && sock.recv_from(&mut buf).is_ok()
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::Setup(format!(
            "dnsmasq on {} did not answer within 10 s",
            self.address
        )))
    }

    /// The loopback address it listens on (port 53).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A resolv.conf naming this server alone.
    pub fn resolv_conf(&self) -> String {
        format!(
            "nameserver {}\noptions timeout:1 attempts:1\n",
            self.address
        )
    }

    /// The queries it logged so far (one line each: `query[SRV] NAME from ADDR`).
    pub fn queries(&self) -> Vec<String> {
        let path: PathBuf = self.dir.path().join("dnsmasq.log");
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("query["))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        crate::proc::signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
