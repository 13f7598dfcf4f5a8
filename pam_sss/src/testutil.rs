//! Test doubles: a scripted [`PamHandler`] and a fake PAM responder on a Unix socket.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sss_proto::pam::{PamRequest, decode_request};

use crate::client::{ClientConfig, Trust};
use crate::handler::{Item, Level, PamHandler, Secret, Tok};
use crate::module::Context;

/// A PAM handle whose items and conversation answers are scripted; records what happens.
#[derive(Debug, Default)]
pub struct Scripted {
    pub items: HashMap<&'static str, Vec<u8>>,
    pub authtok: Option<Vec<u8>>,
    pub oldauthtok: Option<Vec<u8>>,
    pub answers: VecDeque<Option<&'static str>>,
    pub prompts: Vec<String>,
    pub infos: Vec<String>,
    pub errors: Vec<String>,
    pub pam_env: Vec<String>,
    pub proc_env: Vec<String>,
    pub data: HashMap<String, Vec<u8>>,
    pub log: Vec<String>,
}

impl Scripted {
    pub fn new(user: &str) -> Scripted {
        let mut s = Scripted::default();
        s.items.insert("user", user.as_bytes().to_vec());
        s.items.insert("service", b"login".to_vec());
        s
    }

    pub fn answer(mut self, a: &'static str) -> Scripted {
        self.answers.push_back(Some(a));
        self
    }
}

impl PamHandler for Scripted {
    fn item(&mut self, item: Item) -> Result<Option<Vec<u8>>, i32> {
        let k = match item {
            Item::Service => "service",
            Item::User => "user",
            Item::Tty => "tty",
            Item::Ruser => "ruser",
            Item::Rhost => "rhost",
        };
        Ok(self.items.get(k).cloned())
    }
    fn authtok(&mut self, tok: Tok) -> Result<Option<Secret>, i32> {
        let t = match tok {
            Tok::AuthTok => &self.authtok,
            Tok::OldAuthTok => &self.oldauthtok,
        };
        Ok(t.clone().map(Secret::new))
    }
    fn set_authtok(&mut self, tok: Tok, value: Option<&[u8]>) -> Result<(), i32> {
        let v = value.map(<[u8]>::to_vec);
        match tok {
            Tok::AuthTok => self.authtok = v,
            Tok::OldAuthTok => self.oldauthtok = v,
        }
        Ok(())
    }
    fn prompt_secret(&mut self, prompt: &str) -> Result<Option<Secret>, i32> {
        self.prompts.push(prompt.to_string());
        match self.answers.pop_front() {
            Some(a) => Ok(a.map(|s| Secret::new(s.as_bytes().to_vec()))),
            None => Err(crate::pam::code::CONV_ERR),
        }
    }
    fn info(&mut self, msg: &str) -> Result<(), i32> {
        self.infos.push(msg.to_string());
        Ok(())
    }
    fn error(&mut self, msg: &str) -> Result<(), i32> {
        self.errors.push(msg.to_string());
        Ok(())
    }
    fn putenv(&mut self, kv: &str) -> Result<(), i32> {
        self.pam_env.push(kv.to_string());
        Ok(())
    }
    fn process_putenv(&mut self, kv: &str) -> Result<(), i32> {
        self.proc_env.push(kv.to_string());
        Ok(())
    }
    fn set_data(&mut self, name: &str, value: &[u8]) -> Result<(), i32> {
        self.data.insert(name.to_string(), value.to_vec());
        Ok(())
    }
    fn has_data(&mut self, name: &str) -> bool {
        self.data.contains_key(name)
    }
    fn syslog(&mut self, level: Level, msg: &str) {
        self.log.push(format!("{level:?}: {msg}"));
    }
}

/// A fake PAM responder serving connections on a socket in a temporary directory.
pub struct Fake {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
    pub seen: Arc<Mutex<Vec<(u32, PamRequest)>>>,
}

fn read_packet(s: &mut std::os::unix::net::UnixStream) -> Option<(u32, Vec<u8>)> {
    let mut h = [0u8; 16];
    s.read_exact(&mut h).ok()?;
    let len = u32::from_ne_bytes(h[..4].try_into().ok()?) as usize;
    let cmd = u32::from_ne_bytes(h[4..8].try_into().ok()?);
    let mut body = vec![0u8; len.checked_sub(16)?];
    s.read_exact(&mut body).ok()?;
    Some((cmd, body))
}

impl Fake {
    /// Starts serving; the socket gets mode 0666. `f` returns the raw reply body for one PAM
    /// request, or None to hang up.
    pub fn start(f: impl Fn(u32, &PamRequest) -> Option<Vec<u8>> + Send + Sync + 'static) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pam");
        let l = UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = Arc::clone(&seen);
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                while let Some((cmd, body)) = read_packet(&mut s) {
                    let reply = if cmd == 1 {
                        Some(3u32.to_ne_bytes().to_vec())
                    } else {
                        let req = decode_request(&body, 3).unwrap();
                        let r = f(cmd, &req);
                        seen2.lock().unwrap().push((cmd, req));
                        r
                    };
                    let Some(reply) = reply else { break };
                    let pkt = sss_proto::packet(cmd, 0, &reply);
                    if s.write_all(&pkt).is_err() {
                        break;
                    }
                }
            }
        });
        Fake {
            path,
            _dir: dir,
            seen,
        }
    }

    /// A context trusting this process as the "root" owner of the fake socket.
    pub fn context(&self) -> Context {
        context_for(self.path.clone())
    }

    pub fn seen(&self) -> Vec<(u32, PamRequest)> {
        self.seen.lock().unwrap().clone()
    }
}

/// A context for `path` with the ownership check set to this process's ids.
pub fn context_for(path: PathBuf) -> Context {
    // SAFETY: no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    Context {
        client: ClientConfig {
            path,
            trust: Trust {
                uid,
                gid,
                perm: 0o666,
            },
            timeout: Duration::from_secs(5),
            disabled: false,
        },
        uid: 1000,
        pid: std::process::id(),
        conf_dir: PathBuf::from("/nonexistent/sssd"),
        preauth_indicator: PathBuf::from("/nonexistent/pam_preauth_available"),
    }
}

/// A reply body with `status` and `(type, data)` items.
pub fn reply(status: i32, items: &[(u32, &[u8])]) -> Vec<u8> {
    let mut v = status.to_ne_bytes().to_vec();
    v.extend_from_slice(&(items.len() as u32).to_ne_bytes());
    for (t, d) in items {
        v.extend_from_slice(&t.to_ne_bytes());
        v.extend_from_slice(&(d.len() as u32).to_ne_bytes());
        v.extend_from_slice(d);
    }
    v
}
