//! Sending one query to the name servers: UDP to each in turn (each given
//! `dns_resolver_server_timeout`), TCP to the same server when the UDP reply is truncated.

use super::message::{self, MessageError, Reply};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Largest UDP reply read (EDNS is not used, so servers send at most 512 bytes).
const UDP_MAX: usize = 4096;

/// The outcome of asking one server.
#[derive(Debug)]
enum Attempt {
    Answered(Reply),
    Failed(String),
}

/// A fresh random query id.
fn query_id() -> u16 {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 2];
    // Without randomness the id is merely predictable; the source address is checked too.
    let _ = SystemRandom::new().fill(&mut b);
    u16::from_be_bytes(b)
}

async fn ask_udp(server: SocketAddr, query: &[u8], id: u16, wait: Duration) -> Attempt {
    let bind = if server.is_ipv4() {
        SocketAddr::from(([0u8; 4], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let exchange = async {
        let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
        sock.connect(server).await.map_err(|e| e.to_string())?;
        sock.send(query).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; UDP_MAX];
        loop {
            let n = sock.recv(&mut buf).await.map_err(|e| e.to_string())?;
            match message::decode_reply(&buf[..n], id) {
                // A stray datagram (an old reply): keep waiting for ours.
                Err(MessageError::NotOurs) => continue,
                other => return other.map_err(|e| e.to_string()),
            }
        }
    };
    match tokio::time::timeout(wait, exchange).await {
        Ok(Ok(r)) => Attempt::Answered(r),
        Ok(Err(e)) => Attempt::Failed(e),
        Err(_) => Attempt::Failed(format!("no answer within {} ms", wait.as_millis())),
    }
}

async fn ask_tcp(server: SocketAddr, query: &[u8], id: u16, wait: Duration) -> Attempt {
    let exchange = async {
        let mut s = TcpStream::connect(server)
            .await
            .map_err(|e| e.to_string())?;
        let len = u16::try_from(query.len()).map_err(|_| "query too long".to_string())?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        s.write_all(&framed).await.map_err(|e| e.to_string())?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        message::decode_reply(&buf, id).map_err(|e| e.to_string())
    };
    match tokio::time::timeout(wait, exchange).await {
        Ok(Ok(r)) => Attempt::Answered(r),
        Ok(Err(e)) => Attempt::Failed(e),
        Err(_) => Attempt::Failed(format!("no answer within {} ms over TCP", wait.as_millis())),
    }
}

/// Asks `servers` in turn for `name` of type `qtype` until one answers; the caller bounds
/// the whole with `dns_resolver_op_timeout`. Err lists each server's failure.
pub async fn query(
    servers: &[SocketAddr],
    name: &str,
    qtype: u16,
    per_server: Duration,
) -> Result<Reply, String> {
    let mut errors = Vec::new();
    for &server in servers {
        let id = query_id();
        let q = message::encode_query(id, name, qtype).map_err(|e| e.to_string())?;
        let attempt = match ask_udp(server, &q, id, per_server).await {
            Attempt::Answered(r) if r.truncated => ask_tcp(server, &q, id, per_server).await,
            other => other,
        };
        match attempt {
            // SERVFAIL or REFUSED: another server may know better.
            Attempt::Answered(r) if r.rcode == 2 || r.rcode == 5 => {
                errors.push(format!("{server}: rcode {}", r.rcode));
            }
            Attempt::Answered(r) => return Ok(r),
            Attempt::Failed(e) => errors.push(format!("{server}: {e}")),
        }
    }
    Err(errors.join("; "))
}
