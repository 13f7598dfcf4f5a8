//! Test harness: a private slapd on 127.0.0.1 with a small directory, killed on drop.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Suffix of the test directory.
pub const BASE: &str = "dc=example,dc=com";
/// Manager DN.
pub const ADMIN: &str = "cn=admin,dc=example,dc=com";
/// Manager password.
pub const ADMIN_PW: &str = "secret";
/// Members of the big group.
pub const BIG: usize = 5000;

/// A running slapd.
pub struct Slapd {
    child: Child,
    /// `ldap://127.0.0.1:PORT`.
    pub uri: String,
    /// PEM file of the CA that signed the server certificate (when openssl was available).
    pub ca: Option<PathBuf>,
    /// PEM file of an unrelated CA.
    pub other_ca: Option<PathBuf>,
    bin: PathBuf,
    conf: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Slapd {
    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing
    /// answers.
    pub fn freeze(&self, frozen: bool) {
        let sig = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: kill(2) on our own child's PID; no memory is involved.
        let _ = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        // kill(2) returns before every thread has stopped: wait until the kernel says so,
        // or a request sent right after could still be answered.
        if frozen {
            let stat = format!("/proc/{}/stat", self.child.id());
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while std::time::Instant::now() < deadline {
                let state = std::fs::read_to_string(&stat).unwrap_or_default();
                let stopped = state
                    .rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('T'));
                if stopped {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }

    /// Stops the server (by PID) and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(c) = spawn(&self.bin, &self.uri, &self.conf) {
                self.child = c;
            }
            if wait_port(self.port, Duration::from_secs(3)) {
                return;
            }
            assert!(Instant::now() < deadline, "slapd did not restart");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(bin: &Path, uri: &str, conf: &Path) -> std::io::Result<Child> {
    Command::new(bin)
        .arg("-h")
        .arg(format!("{uri}/"))
        .arg("-f")
        .arg(conf)
        .arg("-d")
        .arg("0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

fn wait_port(port: u16, max: Duration) -> bool {
    let deadline = Instant::now() + max;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where slapd lives, if installed.
pub fn slapd_binary() -> Option<PathBuf> {
    ["/usr/sbin/slapd", "/usr/local/sbin/slapd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .filter(|_| Path::new("/etc/ldap/schema/nis.schema").exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(38999)
}

fn user(out: &mut String, rdn: &str, uid: &str, number: u32, extra: &str) {
    let _ = write!(
        out,
        "dn: {rdn},ou=People,{BASE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n\
         cn: {uid} Person\nsn: Person\nuid: {uid}\nuidNumber: {number}\ngidNumber: {number}\n\
         homeDirectory: /home/{number}\nloginShell: /bin/sh\nuserPassword: {uid}-pw\n{extra}\n"
    );
}

fn group(out: &mut String, cn: &str, gid: u32, uids: &[&str], dns: &[String]) {
    let _ = write!(
        out,
        "dn: cn={cn},ou=Groups,{BASE}\nobjectClass: posixGroup\nobjectClass: extensibleObject\n\
         cn: {cn}\ngidNumber: {gid}\n"
    );
    for u in uids {
        let _ = writeln!(out, "memberUid: {u}");
    }
    for d in dns {
        let _ = writeln!(out, "member: {d}");
    }
    out.push('\n');
}

fn udn(uid: &str) -> String {
    format!("uid={uid},ou=People,{BASE}")
}

fn gdn(cn: &str) -> String {
    format!("cn={cn},ou=Groups,{BASE}")
}

/// The test directory (each user's password is `<uid>-pw`, changeable by the user): users
/// alice bob carol dave eve (RDN cn=Eve Odd), `x*(y)\z`,
/// `lowid` (uid 5), Frank; groups devs ⊂ ops ⊂ all (member DNs and memberUid), odd (member
/// by a cn= DN), Mixed (Frank), casedn (member DN uid=CAROL), big (5,000 members).
pub fn ldif() -> String {
    let mut s = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=People,{BASE}\nobjectClass: organizationalUnit\nou: People\n\n\
         dn: ou=Groups,{BASE}\nobjectClass: organizationalUnit\nou: Groups\n\n"
    );
    user(&mut s, "uid=alice", "alice", 1001, "");
    user(&mut s, "uid=bob", "bob", 1002, "gecos: Bob the Builder\n");
    user(&mut s, "uid=carol", "carol", 1003, "");
    user(&mut s, "uid=dave", "dave", 1004, "");
    user(&mut s, "cn=Eve Odd", "eve", 1005, "");
    user(&mut s, "uid=x*(y)\\5cz", "x*(y)\\z", 1006, "");
    user(&mut s, "uid=lowid", "lowid", 5, "");
    user(&mut s, "uid=Frank", "Frank", 1007, "");
    group(
        &mut s,
        "devs",
        2001,
        &["alice", "bob"],
        &[udn("alice"), udn("bob")],
    );
    group(
        &mut s,
        "ops",
        2002,
        &["carol"],
        &[udn("carol"), gdn("devs")],
    );
    group(&mut s, "all", 2003, &["dave"], &[udn("dave"), gdn("ops")]);
    group(
        &mut s,
        "odd",
        2004,
        &["eve"],
        &[format!("cn=Eve Odd,ou=People,{BASE}")],
    );
    group(&mut s, "Mixed", 2005, &["Frank"], &[udn("Frank")]);
    group(&mut s, "casedn", 2006, &["carol"], &[udn("CAROL")]);
    let uids: Vec<String> = (0..BIG).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = uids.iter().map(String::as_str).collect();
    let dns: Vec<String> = uids.iter().map(|u| udn(u)).collect();
    group(&mut s, "big", 3000, &refs, &dns);
    s
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes `ca.pem`, `other-ca.pem` and a server certificate for 127.0.0.1 (`server.pem`,
/// `server.key`) in `dir`; false when openssl is missing or fails.
fn make_certs(dir: &Path) -> bool {
    let ca = |name: &str| {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )
    };
    let ext =
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    ca("ca")
        && ca("other-ca")
        && openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        )
        && std::fs::write(dir.join("ext.cnf"), ext).is_ok()
        && openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "server.pem",
                "-extfile",
                "ext.cnf",
            ],
        )
}

/// Starts slapd with [`ldif`] loaded; `None` (with a note) when slapd is not installed.
pub fn start() -> Option<Slapd> {
    let Some(bin) = slapd_binary() else {
        eprintln!("NOTE: slapd not installed; skipping the LDAP integration test");
        return None;
    };
    let dir = tempfile::tempdir().ok()?;
    let d = dir.path();
    let db = d.join("db");
    std::fs::create_dir(&db).ok()?;
    let conf = format!(
        "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/nis.schema\ninclude /etc/ldap/schema/inetorgperson.schema\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {pid}\n\
         database mdb\nmaxsize 268435456\nsuffix \"{BASE}\"\nrootdn \"{ADMIN}\"\nrootpw {ADMIN_PW}\n\
         directory {db}\nindex objectClass eq\nindex uid,cn,memberUid,member,uidNumber,gidNumber eq\n\
         access to attrs=userPassword by self write by anonymous auth by * none\n\
         access to * by * read\n",
        pid = d.join("slapd.pid").display(),
        db = db.display()
    );
    let tls = make_certs(d);
    let conf = if tls {
        format!(
            "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
             TLSCertificateKeyFile {d}/server.key\n{conf}",
            d = d.display()
        )
    } else {
        eprintln!("NOTE: openssl failed; TLS scenarios skipped");
        conf
    };
    let conf_path = d.join("slapd.conf");
    std::fs::write(&conf_path, conf).ok()?;
    let ldif_path = d.join("data.ldif");
    std::fs::write(&ldif_path, ldif()).ok()?;
    let sbin = bin.parent().unwrap_or(Path::new("/usr/sbin"));
    let out = Command::new(sbin.join("slapadd"))
        .arg("-q")
        .arg("-f")
        .arg(&conf_path)
        .arg("-l")
        .arg(&ldif_path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "slapadd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let uri = format!("ldap://127.0.0.1:{port}");
    let child = spawn(&bin, &uri, &conf_path).ok()?;
    let s = Slapd {
        child,
        uri,
        ca: tls.then(|| d.join("ca.pem")),
        other_ca: tls.then(|| d.join("other-ca.pem")),
        bin,
        conf: conf_path,
        port,
        _dir: dir,
    };
    assert!(
        wait_port(port, Duration::from_secs(15)),
        "slapd did not start on port {port}"
    );
    Some(s)
}
