//! install.sh into a DESTDIR with stub artifacts: layout, modes, manifest, uninstall, refusal
//! to overwrite packaged files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sssd_tests::proc::{self, Output};
use sssd_tests::stage::workspace_root;

struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new(artifacts: &[&str]) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let art = tmp.path().join("art");
        std::fs::create_dir_all(&art).unwrap();
        for a in artifacts {
            std::fs::write(art.join(a), format!("stub {a}\n")).unwrap();
        }
        let man = tmp.path().join("man");
        std::fs::create_dir_all(&man).unwrap();
        std::fs::write(man.join("sssd.8"), ".TH SSSD 8\n").unwrap();
        std::fs::write(man.join("sssd.conf.5"), ".TH SSSD.CONF 5\n").unwrap();
        std::fs::write(man.join("sss_cache.8"), ".TH SSS_CACHE 8\n").unwrap();
        Fixture { tmp }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn install(&self, extra: &[&str], path_prefix: Option<&Path>) -> Output {
        let mut c = Command::new("bash");
        c.arg(workspace_root().join("install.sh"))
            .arg("--no-build")
            .arg("--target-dir")
            .arg(self.tmp.path().join("art"))
            .arg("--man-src")
            .arg(self.tmp.path().join("man"))
            .arg(format!("DESTDIR={}", self.root().display()))
            .args(extra);
        if let Some(p) = path_prefix {
            let path = std::env::var("PATH").unwrap_or_default();
            c.env("PATH", format!("{}:{path}", p.display()));
        }
        proc::run(&mut c, None, Duration::from_secs(60)).unwrap()
    }

    fn mode(&self, rel: &str) -> u32 {
        std::fs::metadata(self.root().join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .permissions()
            .mode()
            & 0o7777
    }
}

fn multiarch() -> String {
    let out = proc::run(
        Command::new("gcc").arg("-print-multiarch"),
        None,
        Duration::from_secs(10),
    );
    match out {
        Ok(o) if o.success() && !o.stdout.trim().is_empty() => o.stdout.trim().to_owned(),
        _ => "x86_64-linux-gnu".to_owned(),
    }
}

#[test]
fn installs_layout_with_sssd_modes_and_uninstalls_exactly() {
    let f = Fixture::new(&[
        "sssd",
        "sss_cache",
        "sssd_be",
        "sssd_nss",
        "libnss_sss.so",
        "krb5_child",
        "ldap_child",
        "libpam_sss.so",
        "sssd_ssh",
        "sss_ssh_authorizedkeys",
        "sss_ssh_knownhostsproxy",
        "sss_override",
    ]);
    let out = f.install(&[], None);
    assert!(out.success(), "{out:?}");
    let lib = format!("usr/lib/{}/libnss_sss.so.2", multiarch());
    // This host has merged /usr (/lib -> usr/lib): /lib/<multiarch>/security is here.
    let pam = format!("usr/lib/{}/security/pam_sss.so", multiarch());
    let expect = [
        (lib.as_str(), 0o644),
        (pam.as_str(), 0o644),
        ("usr/libexec/sssd/ldap_child", 0o755),
        ("usr/sbin/sssd", 0o755),
        ("usr/sbin/sss_cache", 0o755),
        ("usr/sbin/sss_override", 0o755),
        ("usr/libexec/sssd/sssd_be", 0o755),
        ("usr/libexec/sssd/sssd_nss", 0o755),
        ("usr/libexec/sssd/krb5_child", 0o755),
        ("usr/libexec/sssd/sssd_ssh", 0o755),
        ("usr/bin/sss_ssh_authorizedkeys", 0o755),
        ("usr/bin/sss_ssh_knownhostsproxy", 0o755),
        ("var/lib/sss/pubconf", 0o755),
        ("usr/share/man/man8/sssd.8.gz", 0o644),
        ("usr/share/man/man8/sss_cache.8.gz", 0o644),
        ("usr/share/man/man5/sssd.conf.5.gz", 0o644),
        ("usr/lib/systemd/system/sssd.service", 0o644),
        ("usr/lib/systemd/system/sssd-nss.socket", 0o644),
        ("usr/lib/systemd/system/sssd-nss.service", 0o644),
        ("usr/lib/systemd/system/sssd-pam.socket", 0o644),
        ("usr/lib/systemd/system/sssd-pam-priv.socket", 0o644),
        ("usr/lib/systemd/system/sssd-pam.service", 0o644),
        ("var/lib/sss/db", 0o700),
        ("var/lib/sss/pipes", 0o755),
        ("var/lib/sss/pipes/private", 0o700),
        ("var/lib/sss/mc", 0o755),
        ("var/log/sssd", 0o750),
        ("etc/sssd", 0o711),
    ];
    for (p, mode) in expect {
        assert_eq!(f.mode(p), mode, "{p}");
    }
    assert_eq!(
        std::fs::read_to_string(f.root().join(&lib)).unwrap(),
        "stub libnss_sss.so\n"
    );
    assert_eq!(
        std::fs::read_to_string(f.root().join(&pam)).unwrap(),
        "stub libpam_sss.so\n"
    );
    // Not built: not installed.
    assert!(!f.root().join("usr/libexec/sssd/sssd_pam").exists());
    // The man page is gzip'd.
    let gz = std::fs::read(f.root().join("usr/share/man/man8/sssd.8.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    // Idempotent.
    assert!(f.install(&[], None).success());
    // Uninstall removes everything it created, and nothing else.
    let keep = f.root().join("usr/share/keep-me");
    std::fs::write(&keep, b"x").unwrap();
    let out = f.install(&["--uninstall"], None);
    assert!(out.success(), "{out:?}");
    let left: Vec<_> = walk(&f.root());
    assert_eq!(
        left,
        vec![
            f.root().join("usr"),
            f.root().join("usr/share"),
            f.root().join("usr/share/keep-me")
        ]
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(e.path());
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        }
    }
    out.sort();
    out
}

#[test]
fn refuses_to_overwrite_packaged_files_unless_forced() {
    let f = Fixture::new(&["sssd", "sssd_be", "sssd_nss", "sss_cache", "libnss_sss.so"]);
    // A dpkg that claims libnss_sss.so.2 belongs to libnss-sss (for its /lib alias only, as
    // on merged-/usr Debian 12).
    let bin = f.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let dpkg = bin.join("dpkg");
    let root = f.root();
    std::fs::write(
        &dpkg,
        "#!/bin/sh\ncase \"$2\" in */usr/lib/*) exit 1;; */lib/*/libnss_sss.so.2) echo \"libnss-sss:amd64: $2\"; exit 0;; esac\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&dpkg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = f.install(&[], Some(&bin));
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr.contains("refusing to overwrite packaged file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("libnss-sss"), "{}", out.stderr);
    assert!(
        !root.join("usr/sbin/sssd").exists(),
        "nothing installed on refusal"
    );
    let out = f.install(&["--force"], Some(&bin));
    assert!(out.success(), "{out:?}");
    assert!(root.join("usr/sbin/sssd").exists());
}

#[test]
fn no_build_with_missing_artifacts_fails_naming_them() {
    let f = Fixture::new(&["sssd"]);
    let out = f.install(&[], None);
    assert_eq!(out.code(), 1);
    assert!(out.stderr.contains("sssd_be"), "{}", out.stderr);
    assert!(out.stderr.contains("libnss_sss.so"), "{}", out.stderr);
    assert!(out.stderr.contains("sss_cache"), "{}", out.stderr);
}

#[test]
fn uninstall_without_manifest_fails() {
    let f = Fixture::new(&[]);
    let out = f.install(&["--uninstall"], None);
    assert_eq!(out.code(), 1);
    assert!(out.stderr.contains("no manifest"), "{}", out.stderr);
}

#[test]
fn man_pages_exist_and_render_without_warnings() {
    let dir = workspace_root().join("man");
    for page in [
        "sssd.8",
        "sssd.conf.5",
        "sssd-ldap.5",
        "sssd-ad.5",
        "sssd-krb5.5",
        "sssd-simple.5",
        "sssd-files.5",
        "sssd-proxy.5",
        "pam_sss.8",
        "sss_cache.8",
        "sss_override.8",
        "sss_ssh_authorizedkeys.1",
        "sss_ssh_knownhostsproxy.1",
    ] {
        let p = dir.join(page);
        assert!(p.is_file(), "{} missing", p.display());
        let mut c = Command::new("man");
        c.args(["--warnings", "-l"])
            .arg(&p)
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8");
        let out = proc::run(&mut c, None, Duration::from_secs(60)).unwrap();
        assert!(out.success(), "man {page}: {out:?}");
        assert!(out.stderr.trim().is_empty(), "man {page}: {}", out.stderr);
        assert!(out.stdout.contains("SEE ALSO"), "man {page}: no SEE ALSO");
    }
}

#[test]
fn systemd_unit_is_a_notify_service_running_the_monitor_in_the_foreground() {
    let unit = std::fs::read_to_string(workspace_root().join("dist/sssd.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/sbin/sssd -i --logger=files",
        "WantedBy=multi-user.target",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
    }
    // systemd's own parser, when this machine has it.
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("sssd.service");
        std::fs::write(&copy, &unit).unwrap();
        let out = proc::run(
            Command::new("/usr/bin/systemd-analyze")
                .arg("verify")
                .arg("--man=no")
                .arg(&copy),
            None,
            Duration::from_secs(60),
        )
        .unwrap();
        let text = format!("{}{}", out.stdout, out.stderr);
        // /usr/sbin/sssd need not be installed on the machine running the tests.
        let complaints: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.contains("sssd.service:") && !l.contains("/usr/sbin/sssd is not executable")
            })
            .collect();
        assert!(
            complaints.is_empty(),
            "systemd-analyze verify complains about the unit:\n{text}"
        );
    }
}

#[test]
fn socket_units_start_the_responders_socket_activated_as_sssd_ships_them() {
    let dir = workspace_root().join("dist/systemd");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let has = |unit: &str, text: &str, line: &str| {
        assert!(
            text.lines().any(|l| l == line),
            "{unit}: {line} missing:\n{text}"
        );
    };
    let nss = read("sssd-nss.socket");
    has(
        "sssd-nss.socket",
        &nss,
        "ListenStream=/var/lib/sss/pipes/nss",
    );
    has("sssd-nss.socket", &nss, "BindsTo=sssd.service");
    has("sssd-nss.socket", &nss, "WantedBy=sssd.service");
    let pam = read("sssd-pam.socket");
    has(
        "sssd-pam.socket",
        &pam,
        "ListenStream=/var/lib/sss/pipes/pam",
    );
    has("sssd-pam.socket", &pam, "BindsTo=sssd-pam-priv.socket");
    let priv_ = read("sssd-pam-priv.socket");
    has(
        "sssd-pam-priv.socket",
        &priv_,
        "ListenStream=/var/lib/sss/pipes/private/pam",
    );
    has("sssd-pam-priv.socket", &priv_, "SocketMode=0600");
    has("sssd-pam-priv.socket", &priv_, "Service=sssd-pam.service");
    for (unit, text, r) in [
        ("sssd-nss.socket", &nss, "nss"),
        ("sssd-pam.socket", &pam, "pam"),
        ("sssd-pam-priv.socket", &priv_, "pam"),
    ] {
        let check =
            format!("ExecStartPre=/usr/libexec/sssd/sssd_check_socket_activated_responders -r {r}");
        has(unit, text, &check);
    }
    for (unit, binary) in [
        ("sssd-nss.service", "sssd_nss"),
        ("sssd-pam.service", "sssd_pam"),
    ] {
        let text = read(unit);
        has(
            unit,
            &text,
            &format!("ExecStart=/usr/libexec/sssd/{binary} ${{DEBUG_LOGGER}} --socket-activated"),
        );
        has(unit, &text, "RefuseManualStart=true");
    }
    // systemd's own parser, when this machine has it.
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["verify".to_string(), "--man=no".to_string()];
        for unit in [
            "sssd-nss.socket",
            "sssd-nss.service",
            "sssd-pam.socket",
            "sssd-pam-priv.socket",
            "sssd-pam.service",
        ] {
            let copy = tmp.path().join(unit);
            std::fs::write(&copy, read(unit)).unwrap();
            args.push(copy.display().to_string());
        }
        let sssd = tmp.path().join("sssd.service");
        std::fs::copy(workspace_root().join("dist/sssd.service"), &sssd).unwrap();
        let out = proc::run(
            Command::new("/usr/bin/systemd-analyze").args(&args),
            None,
            Duration::from_secs(60),
        )
        .unwrap();
        let text = format!("{}{}", out.stdout, out.stderr);
        // The binaries need not be installed on the machine running the tests.
        let complaints: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("sssd-") && !l.contains("is not executable"))
            .collect();
        assert!(
            complaints.is_empty(),
            "systemd-analyze verify complains about the units:\n{text}"
        );
    }
}

#[test]
fn installs_the_autofs_responder_and_the_library_autofs_loads() {
    let f = Fixture::new(&[
        "sssd",
        "sss_cache",
        "sssd_be",
        "sssd_nss",
        "libnss_sss.so",
        "sssd_autofs",
        "libsss_autofs.so",
    ]);
    let out = f.install(&[], None);
    assert!(out.success(), "{out:?}");
    let module = format!("usr/lib/{}/sssd/modules/libsss_autofs.so", multiarch());
    assert_eq!(f.mode("usr/libexec/sssd/sssd_autofs"), 0o755);
    assert_eq!(f.mode(&module), 0o644);
    assert_eq!(
        std::fs::read_to_string(f.root().join(&module)).unwrap(),
        "stub libsss_autofs.so\n"
    );
    let out = f.install(&["--uninstall"], None);
    assert!(out.success(), "{out:?}");
    assert!(!f.root().join(&module).exists());
    assert!(
        !f.root()
            .join(format!("usr/lib/{}/sssd", multiarch()))
            .exists()
    );
}

/// `--nsswitch` adds `sss` to the passwd, group and initgroups lines (before a comment, not
/// twice), leaves every other line alone, and `--uninstall` restores the file exactly; a line
/// edited since loses only the `sss` that was added. Without the flag (and no terminal) the
/// file is not touched.
#[test]
fn nsswitch_is_changed_only_on_request_and_restored_by_uninstall() {
    let f = Fixture::new(&["sssd", "sss_cache", "sssd_be", "sssd_nss", "libnss_sss.so"]);
    let original = "# /etc/nsswitch.conf\n\
passwd:         files systemd\n\
group:          files systemd # local first\n\
shadow:         files\n\
initgroups:     files\n\
hosts:          files dns\n\
netgroup:       nis sss\n";
    let conf = f.root().join("etc/nsswitch.conf");
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::fs::write(&conf, original).unwrap();
    let out = f.install(&[], None);
    assert!(out.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), original);
    assert!(out.stderr.contains("left alone"), "{out:?}");

    let out = f.install(&["--nsswitch"], None);
    assert!(out.success(), "{out:?}");
    let changed = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        changed,
        "# /etc/nsswitch.conf\n\
passwd:         files systemd sss\n\
group:          files systemd sss # local first\n\
shadow:         files\n\
initgroups:     files sss\n\
hosts:          files dns\n\
netgroup:       nis sss\n"
    );
    // Twice is once.
    assert!(f.install(&["--nsswitch"], None).success());
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), changed);

    // The administrator edits the passwd line afterwards; uninstall keeps the edit.
    let edited = changed.replace("files systemd sss\n", "files sss winbind\n");
    std::fs::write(&conf, &edited).unwrap();
    let out = f.install(&["--uninstall"], None);
    assert!(out.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        original.replace("files systemd\n", "files winbind\n")
    );
}
