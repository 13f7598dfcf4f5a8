//! A private Samba 4 Active Directory domain controller, realm `CORP.EXAMPLE.COM`.
//!
//! Samba's AD DC listens on fixed ports (53, 88, 389, 464, 636, 3268, ...) that cannot be
//! moved to free ports the way [`crate::slapd`] and [`crate::kdc`] do, so every DC runs in
//! network, mount and PID namespaces of its own:
//!
//! ```text
//! unshare --net --mount --propagation private --pid --kill-child sh -c SETUP
//! ```
//!
//! The setup script brings `lo` up, adds the DC's address [`DC_IP`] (10.53.0.1/32) to it,
//! bind-mounts a private /etc/hosts (`dc1.corp.example.com` → 10.53.0.1) and /etc/resolv.conf
//! (`nameserver 10.53.0.1`) inside the private mount namespace, starts
//! `samba -i -M single -s <its smb.conf>` and prints `ready` once the rootDSE says
//! `isSynchronized: TRUE`, the KDC accepts on tcp/88 and DNS answers the `_ldap._tcp` SRV
//! query. The host's network, /etc/hosts and resolv.conf are never touched, and any number
//! of DCs can run at once (each has its own 10.53.0.1).
//!
//! **How a client reaches the DC**: it joins the DC's network (and, for the name
//! `dc1.corp.example.com`, mount) namespace, i.e. `nsenter --target <pid> --net --mount`
//! with [`SambaDc::pid`]; [`SambaDc::command`] builds such a command. A future sssd test
//! would start its [`crate::namespace::Namespace`] holder under
//! `nsenter --net=/proc/<pid>/ns/net` so that sssd, getent and id share the DC's network
//! while keeping their own private mount namespace.
//!
//! Teardown is by PID: dropping the DC sends SIGTERM to the `unshare` process; `--kill-child`
//! then SIGKILLs the namespace's init (the setup shell), and the kernel kills every process
//! of the PID namespace with it (samba, its smbd/samba_dnsupdate/KCC helpers). A
//! [`Watchdog`] does the same if the test process dies. The data directory is removed.
//!
//! Provisioning takes about 4 s, so it happens once per test binary into a template
//! directory ([`OnceLock`]); each DC is a `cp -a` of it with the template path in its
//! smb.conf rewritten (the only file holding absolute paths). Users and groups are added
//! with `samba-tool ... -s <smb.conf>` against the DC's local sam.ldb while samba runs;
//! thousands at once with [`SambaDc::load_ldif`] (ldbadd) and the shapes of [`bulk`].

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::proc::{self, COMMAND_TIMEOUT, Output, Watchdog};

pub mod bulk;
pub mod client;
pub mod sudo_schema;

/// The Kerberos realm.
pub const REALM: &str = "CORP.EXAMPLE.COM";
/// The DNS domain.
pub const DNS_DOMAIN: &str = "corp.example.com";
/// The NetBIOS domain name: not the first label of the DNS name, as at many sites, so that
/// a client must learn it from the DC (a guess from `corp.example.com` gives `CORP`).
pub const NETBIOS_DOMAIN: &str = "CORPNET";
/// The domain's base DN.
pub const BASE_DN: &str = "DC=corp,DC=example,DC=com";
/// The DC's host name.
pub const DC_HOST: &str = "dc1";
/// The DC's FQDN (resolvable inside its mount namespace).
pub const DC_FQDN: &str = "dc1.corp.example.com";
/// The DC's address inside its network namespace (also on 127.0.0.1 there).
pub const DC_IP: &str = "10.53.0.1";
/// Password of `Administrator`.
pub const ADMIN_PASSWORD: &str = "Passw0rd!Adm";

/// Provisioning, the first start and samba-tool can be slow on a loaded machine.
const PROVISION_TIMEOUT: Duration = Duration::from_secs(180);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// A bulk load with passwords derives Kerberos keys for every user (a few ms each).
const LOAD_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs in the new namespaces: $1 = the DC's directory. Prints `ready` or exits non-zero.
const SETUP: &str = r#"
set -e
D=$1
ip link set lo up
ip addr add @IP@/32 dev lo
mount --bind "$D/hosts" /etc/hosts
mount --bind "$D/resolv.conf" /etc/resolv.conf
@SMB_SETUP@
samba -i -M single -s "$D/etc/smb.conf" --debuglevel=1 > "$D/samba.out" 2>&1 < /dev/null &
SAMBA=$!
set +e
ready() {
    ldapsearch -x -LLL -o nettimeout=2 -H ldap://127.0.0.1 -b '' -s base isSynchronized 2>/dev/null \
        | grep -q 'isSynchronized: TRUE' &&
    timeout 2 bash -c 'exec 3<>/dev/tcp/@IP@/88' 2>/dev/null &&
    @SMB_READY@
    dig +short +time=1 +tries=1 @@IP@ _ldap._tcp.@DNS@ SRV 2>/dev/null | grep -q ' 389 '
}
i=0
until ready; do
    kill -0 $SAMBA 2>/dev/null || { echo "samba exited" >&2; exit 1; }
    i=$((i+1))
    [ $i -lt @TRIES@ ] || { echo "samba not ready" >&2; exit 1; }
    sleep 0.1
done
echo ready
wait $SAMBA
"#;

/// The provisioned template, once per test binary: (directory, keeper of its cleanup).
struct Template {
    dir: PathBuf,
    _cleanup: Watchdog,
    _keeper: Child,
}

static TEMPLATE: OnceLock<std::result::Result<Template, String>> = OnceLock::new();

fn template() -> Result<&'static Path> {
    TEMPLATE
        .get_or_init(|| provision().map_err(|e| e.to_string()))
        .as_ref()
        .map(|t| t.dir.as_path())
        .map_err(|e| HarnessError::Setup(format!("samba provisioning failed: {e}")))
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| HarnessError::io("write", path, e))
}

fn provision() -> Result<Template> {
    let dir = tempfile::Builder::new()
        .prefix("sssd-tests-samba-template.")
        .tempdir()
        .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?
        .keep();
    // Removed when the test binary exits (the static is never dropped): a watchdog on a
    // placeholder child removes the directory once our end of its pipe closes.
    let keeper = Command::new("sleep")
        .arg("infinity")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| HarnessError::Spawn {
            program: "sleep".into(),
            source,
        })?;
    let cleanup = Watchdog::with_cleanup(keeper.id(), Some(&dir))?;
    let t = Template {
        dir,
        _cleanup: cleanup,
        _keeper: keeper,
    };
    let d = t.dir.as_path();
    // smbd chdir()s into sysvol as the mapped user; mktemp's 0700 would deny it.
    fs::set_permissions(d, fs::Permissions::from_mode(0o755))
        .map_err(|e| HarnessError::io("chmod", d, e))?;
    let etc = d.join("etc");
    fs::create_dir_all(&etc).map_err(|e| HarnessError::io("mkdir", &etc, e))?;
    let conf = etc.join("smb.conf");
    // An empty -s file: otherwise /etc/samba/smb.conf's globals and shares leak in.
    write(&conf, "")?;
    let ds = d.display().to_string();
    let cs = conf.display().to_string();
    // Provision inside a throwaway network namespace holding the DC's address, as at run time.
    let script = format!(
        "set -e; ip link set lo up; ip addr add {DC_IP}/32 dev lo; \
         samba-tool domain provision -s '{cs}' --targetdir='{ds}' \
           --realm={REALM} --domain={NETBIOS_DOMAIN} --server-role=dc \
           --use-rfc2307 --dns-backend=SAMBA_INTERNAL --adminpass='{ADMIN_PASSWORD}' \
           --host-name={DC_HOST} --host-ip={DC_IP} \
           --option='interfaces=127.0.0.1 {DC_IP}' --option='bind interfaces only=yes' \
           --option='dns forwarder=' --option='log file={ds}/log.%m' > '{ds}/provision.log' 2>&1 \
         || {{ cat '{ds}/provision.log' >&2; exit 1; }}"
    );
    proc::run_ok(
        Command::new("unshare")
            .args(["--net", "sh", "-c", &script])
            .env("PATH", path_with_sbin()),
        None,
        PROVISION_TIMEOUT,
    )?;
    // An EC certificate (~10 ms) instead of samba's first-start RSA key generation (2-9 s).
    let tls = d.join("tls");
    fs::create_dir_all(&tls).map_err(|e| HarnessError::io("mkdir", &tls, e))?;
    let key = tls.join("key.pem");
    proc::run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "30",
                "-subj",
            ])
            .arg(format!("/CN={DC_FQDN}"))
            .arg("-addext")
            .arg(format!(
                "subjectAltName=DNS:{DC_FQDN},IP:{DC_IP},IP:127.0.0.1"
            ))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(tls.join("cert.pem")),
        None,
        COMMAND_TIMEOUT,
    )?;
    // samba refuses a group- or world-readable key.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))
        .map_err(|e| HarnessError::io("chmod", &key, e))?;
    // Settings provision does not write: simple binds on plain ldap://, per-instance runtime
    // directories (the defaults under /run/samba and /var/lib/samba are shared by every
    // instance on the host), our certificate, and no winbindd/smbd (winbind is not installed).
    let text = fs::read_to_string(&conf).map_err(|e| HarnessError::io("read", &conf, e))?;
    let extra = format!(
        "[global]\n\
         \tldap server require strong auth = no\n\
         \tpid directory = {ds}/run\n\
         \tncalrpc dir = {ds}/ncalrpc\n\
         \tntp signd socket directory = {ds}/ntp_signd\n\
         \twinbindd socket directory = {ds}/winbindd\n\
         \ttls keyfile = {ds}/tls/key.pem\n\
         \ttls certfile = {ds}/tls/cert.pem\n\
         \ttls cafile = {ds}/tls/cert.pem\n\
         \tserver services = -winbindd -s3fs\n"
    );
    if !text.contains("[global]\n") {
        return Err(HarnessError::Setup(format!(
            "provisioned smb.conf has no [global] section: {text}"
        )));
    }
    write(&conf, &text.replacen("[global]\n", &extra, 1))?;
    // No password expiry warnings, simple passwords allowed (offline, before samba starts).
    proc::run_ok(
        Command::new("samba-tool").args([
            "domain",
            "passwordsettings",
            "set",
            "-s",
            &cs,
            "--max-pwd-age=0",
            "--min-pwd-age=0",
            "--complexity=off",
        ]),
        None,
        PROVISION_TIMEOUT,
    )?;
    Ok(t)
}

/// A running private AD DC in namespaces of its own.
#[derive(Debug)]
pub struct SambaDc {
    dir: TempDir,
    holder: Option<Child>,
    _stdout: Option<ChildStdout>,
    _watchdog: Option<Watchdog>,
    /// Whether smbd serves sysvol.
    file_server: bool,
}

impl SambaDc {
    /// Copies the provisioned template (provisioning it first if needed) and starts samba;
    /// returns once LDAP, the KDC and DNS answer.
    pub fn new() -> Result<SambaDc> {
        Self::new_with(false)
    }

    /// [`SambaDc::new`] with the SMB file server (smbd, and winbindd, which maps Kerberos
    /// users to ids for it) serving sysvol and netlogon: Group Policy tests. It also
    /// returns once SMB answers.
    pub fn with_file_server() -> Result<SambaDc> {
        Self::new_with(true)
    }

    fn new_with(file_server: bool) -> Result<SambaDc> {
        let template = template()?;
        let dir = tempfile::Builder::new()
            .prefix("sssd-tests-samba.")
            .tempdir()
            .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
        let d = dir.path().to_path_buf();
        // `cp -a T/. D`: the copy keeps modes (0600 key, 0750 dirs) and sam.ldb's relative
        // partition paths; smb.conf holds the only absolute ones.
        proc::run_ok(
            Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", template.display()))
                .arg(&d),
            None,
            COMMAND_TIMEOUT,
        )?;
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755))
            .map_err(|e| HarnessError::io("chmod", &d, e))?;
        let conf = d.join("etc/smb.conf");
        let text = fs::read_to_string(&conf).map_err(|e| HarnessError::io("read", &conf, e))?;
        let mut text = text.replace(&template.display().to_string(), &d.display().to_string());
        if file_server {
            text = text.replace("\tserver services = -winbindd -s3fs\n", "");
        }
        write(&conf, &text)?;
        write(
            &d.join("hosts"),
            &format!("127.0.0.1 localhost\n{DC_IP} {DC_FQDN} {DC_HOST}\n"),
        )?;
        write(
            &d.join("resolv.conf"),
            &format!("nameserver {DC_IP}\nsearch {DNS_DOMAIN}\n"),
        )?;
        write(&d.join("krb5.conf"), &krb5_conf_text())?;
        let mut dc = SambaDc {
            dir,
            holder: None,
            _stdout: None,
            _watchdog: None,
            file_server,
        };
        dc.start()?;
        Ok(dc)
    }

    fn start(&mut self) -> Result<()> {
        let d = self.dir.path().to_path_buf();
        let tries = (READY_TIMEOUT.as_millis() / 100).to_string();
        let script = SETUP
            .replace("@IP@", DC_IP)
            .replace("@DNS@", DNS_DOMAIN)
            .replace("@TRIES@", &tries)
            // smbd reaches winbindd at the compiled-in /run/samba/winbindd whatever
            // smb.conf says: this instance's socket directory is mounted there, in the
            // DC's mount namespace only.
            .replace(
                "@SMB_SETUP@",
                if self.file_server {
                    "mkdir -p /run/samba \"$D/winbindd\"\n\
                     mount -t tmpfs tmpfs /run/samba\n\
                     mkdir /run/samba/winbindd\n\
                     mount --bind \"$D/winbindd\" /run/samba/winbindd"
                } else {
                    ""
                },
            )
            .replace(
                "@SMB_READY@",
                if self.file_server {
                    "timeout 2 bash -c 'exec 3<>/dev/tcp/@IP@/445' 2>/dev/null && \
                     wbinfo --ping >/dev/null 2>&1 &&"
                } else {
                    ""
                },
            )
            .replace("@IP@", DC_IP);
        let mut holder = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--kill-child",
                "sh",
                "-c",
                &script,
                "sssd-tests-samba",
            ])
            .arg(&d)
            .env("PATH", path_with_sbin())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: "unshare".into(),
                source,
            })?;
        // If the test process dies: SIGTERM/SIGKILL to `unshare` (`--kill-child` then takes
        // the namespace down) and the data directory removed.
        self._watchdog = Some(Watchdog::with_cleanup(holder.id(), Some(&d))?);
        let stdout = holder.stdout.take();
        let stderr = holder.stderr.take();
        self.holder = Some(holder);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut out = stdout;
            if let Some(o) = out.as_mut() {
                let _ = BufReader::new(o).read_line(&mut line);
            }
            let _ = tx.send((line, out));
        });
        let (line, out) = rx
            .recv_timeout(READY_TIMEOUT + Duration::from_secs(10))
            .unwrap_or_default();
        self._stdout = out;
        if line.trim() != "ready" {
            self.stop();
            let mut err = String::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_string(&mut err);
            }
            let log = fs::read_to_string(d.join("samba.out")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            return Err(HarnessError::Setup(format!(
                "samba DC did not become ready: {} | samba.out (last lines, newest first): {}",
                err.trim(),
                tail.join(" | ")
            )));
        }
        Ok(())
    }

    /// PID of the `unshare` process that holds the DC's network and mount namespaces
    /// (`nsenter --target <pid> --net --mount`).
    pub fn pid(&self) -> u32 {
        self.holder.as_ref().map(Child::id).unwrap_or(0)
    }

    /// A command running `argv` inside the DC's network and mount namespaces, where
    /// 10.53.0.1 and `dc1.corp.example.com` are the DC.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("--target")
            .arg(self.pid().to_string())
            .args(["--net", "--mount", "--"])
            .args(argv);
        c
    }

    /// Runs `argv` inside the DC's namespaces to completion.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S]) -> Result<Output> {
        proc::run(&mut self.command(argv), None, COMMAND_TIMEOUT)
    }

    /// Runs `argv` inside the DC's namespaces with `stdin`; fails unless it exits 0.
    pub fn run_ok_input<S: AsRef<std::ffi::OsStr>>(
        &self,
        argv: &[S],
        stdin: Option<&[u8]>,
    ) -> Result<Output> {
        proc::run_ok(&mut self.command(argv), stdin, COMMAND_TIMEOUT)
    }

    /// The LDAP URI of the DC (reachable inside its network namespace).
    pub fn ldap_uri(&self) -> String {
        format!("ldap://{DC_IP}")
    }

    /// The Global Catalog URI (port 3268).
    pub fn gc_uri(&self) -> String {
        format!("ldap://{DC_IP}:3268")
    }

    /// The realm.
    pub fn realm(&self) -> &'static str {
        REALM
    }

    /// The domain's base DN.
    pub fn base_dn(&self) -> &'static str {
        BASE_DN
    }

    /// The DC's data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The DC's smb.conf (for `samba-tool ... -s`).
    pub fn smb_conf(&self) -> PathBuf {
        self.dir.path().join("etc/smb.conf")
    }

    /// A client krb5.conf (`KRB5_CONFIG`) naming the DC as KDC.
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.path().join("krb5.conf")
    }

    /// The DC's TLS certificate (its own CA), for `LDAPTLS_CACERT`.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    /// samba's own output (`-i` logs to stdout).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("samba.out")).unwrap_or_default()
    }

    /// Runs `samba-tool <args> -s <smb.conf>` (the `-s` must follow the subcommand) inside
    /// the DC's namespaces, against its local sam.ldb.
    pub fn samba_tool(&self, args: &[&str]) -> Result<Output> {
        let conf = self.smb_conf().display().to_string();
        let mut argv: Vec<&str> = vec!["samba-tool"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["-s", &conf]);
        proc::run_ok(&mut self.command(&argv), None, PROVISION_TIMEOUT)
    }

    /// The DC's sysvol directory on disk (`<dir>/state/sysvol`).
    pub fn sysvol(&self) -> PathBuf {
        self.dir.path().join("state/sysvol")
    }

    /// Applies `ldif` (changetype records) with `ldapmodify`, bound as Administrator.
    pub fn ldap_modify(&self, ldif: &str) -> Result<()> {
        let admin = format!("Administrator@{REALM}");
        let uri = format!("ldap://{DC_IP}");
        proc::run_ok(
            &mut self.command(&[
                "ldapmodify",
                "-x",
                "-H",
                &uri,
                "-D",
                &admin,
                "-w",
                ADMIN_PASSWORD,
            ]),
            Some(ldif.as_bytes()),
            COMMAND_TIMEOUT,
        )
        .map(|_| ())
    }

    /// Creates user `name` with `password` and RFC 2307 `uidNumber`/`gidNumber`.
    pub fn add_user(&self, name: &str, password: &str, uid: u32, gid: u32) -> Result<()> {
        self.samba_tool(&[
            "user",
            "create",
            name,
            password,
            &format!("--uid-number={uid}"),
            &format!("--gid-number={gid}"),
            "--login-shell=/bin/bash",
            &format!("--unix-home=/home/{name}"),
            &format!("--gecos={name}"),
        ])
        .map(|_| ())
    }

    /// Creates group `name` with `gidNumber`.
    pub fn add_group(&self, name: &str, gid: u32) -> Result<()> {
        self.samba_tool(&[
            "group",
            "add",
            name,
            &format!("--gid-number={gid}"),
            &format!("--nis-domain={NETBIOS_DOMAIN}"),
        ])
        .map(|_| ())
    }

    /// Adds `member` (a user or group) to `group`.
    pub fn add_member(&self, group: &str, member: &str) -> Result<()> {
        self.samba_tool(&["group", "addmembers", group, member])
            .map(|_| ())
    }

    /// Adds the entries of `ldif` straight into the DC's sam.ldb with
    /// `ldbadd --nosync` inside its namespaces, while samba runs: about 5-8 ms per user
    /// here (30 ms with a password: Samba derives the Kerberos keys) against ~40 ms over
    /// LDAP and ~0.5 s with samba-tool. The add goes through Samba's module stack as an LDAP
    /// add would (system session): objectSid, primaryGroupID, the keys from `unicodePwd` and
    /// the memberOf links are Samba's. Samba's modules in ldbadd read the default smb.conf,
    /// so the DC's etc/ (holding its smb.conf) is bind-mounted over /etc/samba in a
    /// throwaway mount namespace for the call: they see the DC's realm and names, and
    /// nothing on the host changes. The entries must be new (an existing DN fails the
    /// call, after the entries before it were added).
    pub fn load_ldif(&self, ldif: &str) -> Result<()> {
        self.ldb_tool("ldbadd", ldif, "")
    }

    /// Extends the DC's schema with sudo's `sudoRole` class and its `sudo*` attributes (the
    /// OIDs of sudo's LDAP schema), as a site that keeps sudo rules in AD does: attributes
    /// first, then the class in a second call, which loads the schema with the new
    /// attributes. Samba picks the change up without a restart.
    pub fn add_sudo_schema(&self) -> Result<()> {
        let allow = "--option='dsdb:schema update allowed=true'";
        let (attributes, class) = sudo_schema::ldif(BASE_DN);
        self.ldb_tool("ldbadd", &attributes, allow)?;
        self.ldb_tool("ldbadd", &class, allow)
    }

    /// Applies `ldif` (`changetype: modify` records) to the DC's sam.ldb with ldbmodify, as
    /// [`SambaDc::load_ldif`] adds: through Samba's modules as the system, so attributes an
    /// LDAP client may not set (e.g. `pwdLastSet: 0` on a computer) can be set.
    pub fn modify_ldif(&self, ldif: &str) -> Result<()> {
        self.ldb_tool("ldbmodify", ldif, "")
    }

    /// Runs `tool` (ldbadd or ldbmodify) on the DC's sam.ldb with `ldif` and the extra
    /// shell-quoted `options`.
    fn ldb_tool(&self, tool: &str, ldif: &str, options: &str) -> Result<()> {
        let file = tempfile::Builder::new()
            .prefix("bulk.")
            .suffix(".ldif")
            .tempfile_in(self.dir.path())
            .map_err(|e| HarnessError::io("create", self.dir.path(), e))?;
        write(file.path(), ldif)?;
        let script = format!(
            "set -e; if [ -d /etc/samba ]; then mount --bind '{etc}' /etc/samba; fi; \
             exec {tool} --nosync {options} -H '{sam}' '{ldif}'",
            etc = self.dir.path().join("etc").display(),
            sam = self.dir.path().join("private/sam.ldb").display(),
            ldif = file.path().display(),
        );
        let out = proc::run(
            self.command(&[
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ])
            .env("PATH", path_with_sbin()),
            None,
            LOAD_TIMEOUT,
        )?;
        if !out.success() {
            return Err(HarnessError::Setup(format!(
                "{tool} failed: {} {}",
                out.stdout.trim(),
                out.stderr.trim()
            )));
        }
        Ok(())
    }

    /// Joins host `short` (`<short>.corp.example.com`) to the domain as an AD join tool
    /// does: a computer account with a known machine password and the `host/` SPNs, and a
    /// keytab at `keytab` (a path on the host) holding `SHORT$` and `host/<fqdn>` keys.
    pub fn join(&self, short: &str, keytab: &Path) -> Result<()> {
        self.join_in(short, keytab, None)
    }

    /// [`SambaDc::join`] with the computer object in organizational unit `ou` (`OU=...`,
    /// relative to the domain) instead of `CN=Computers`.
    pub fn join_in(&self, short: &str, keytab: &Path, ou: Option<&str>) -> Result<()> {
        let fqdn = format!("{short}.{DNS_DOMAIN}");
        let ou = ou.map(|o| format!("--computerou={o}"));
        let mut args = vec![
            "computer".to_string(),
            "create".into(),
            short.into(),
            "--prepare-oldjoin".into(),
            format!("--service-principal-name=host/{fqdn}"),
            format!("--service-principal-name=host/{short}"),
        ];
        args.extend(ou);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.samba_tool(&args)?;
        let account = format!("{}$", short.to_uppercase());
        for principal in [account.as_str(), &format!("host/{fqdn}")] {
            self.samba_tool(&[
                "domain",
                "exportkeytab",
                &keytab.display().to_string(),
                &format!("--principal={principal}"),
            ])?;
        }
        if fs::metadata(keytab).map(|m| m.len()).unwrap_or(0) == 0 {
            return Err(HarnessError::Setup(format!(
                "samba-tool wrote no keys to {}",
                keytab.display()
            )));
        }
        Ok(())
    }

    /// The `/etc/hosts` a client of the DC needs (the DC's name for Kerberos and GSSAPI).
    pub fn hosts_text(&self) -> String {
        format!("127.0.0.1 localhost\n{DC_IP} {DC_FQDN} {DC_HOST}\n")
    }

    /// Stops the DC: SIGKILL to the PID namespace's init (the setup shell, the only child of
    /// `unshare`, found by PID under /proc), which takes every process of the namespace
    /// (samba and its helpers) with it; then `unshare` exits and is reaped.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.holder.take() {
            let pid = c.id();
            let children =
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            for init in children
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
            {
                proc::signal(init, libc::SIGKILL);
            }
            proc::terminate(&mut c, Duration::from_secs(10));
        }
        self._stdout = None;
        self._watchdog = None;
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The client krb5.conf for the DC (inside its network namespace).
pub fn krb5_conf_text() -> String {
    format!(
        "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n \
         dns_lookup_realm = false\n rdns = false\n\n\
         [realms]\n {REALM} = {{\n  kdc = {DC_IP}\n  admin_server = {DC_IP}\n  \
         kpasswd_server = {DC_IP}\n }}\n\n\
         [domain_realm]\n .{DNS_DOMAIN} = {REALM}\n {DNS_DOMAIN} = {REALM}\n"
    )
}

/// PATH with /usr/sbin and /sbin (root's PATH in a test may lack them; samba and ip live there).
fn path_with_sbin() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{path}:/usr/sbin:/sbin:/usr/bin:/bin")
}
