//! SSSD's helper programs `krb5_child` and `ldap_child`: they talk MIT libkrb5 so the
//! backend never blocks on it. Each reads one request on stdin (see
//! [`sss_proto::child`]), answers on stdout, logs to stderr (see [`log`]) and exits.

pub mod caps;
pub mod ccache;
pub mod gpo_child;
pub mod keytab_choice;
pub mod krb5;
pub mod krb5_child;
pub mod ldap_child;
pub mod log;
pub mod preload;
pub mod profile;
pub mod proxy_nss;
pub mod proxy_pam;

use std::io::{Read, Write};

use zeroize::Zeroizing;

/// Largest request accepted on stdin.
pub const MAX_REQUEST: u64 = 1024 * 1024;

/// Reads all of stdin (at most [`MAX_REQUEST`] bytes; more is an error) into a buffer wiped
/// on drop. The buffer is allocated once at its largest size and read into in place, so no
/// growth leaves an unwiped copy of the request (it holds passwords) behind, and std's
/// buffered `Stdin` is bypassed.
pub fn read_stdin() -> std::io::Result<Zeroizing<Vec<u8>>> {
    use std::os::fd::AsFd;
    let max = MAX_REQUEST as usize;
    let mut input = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    // One byte more than allowed, to tell a request of exactly MAX_REQUEST from a longer one.
    let mut buf = Zeroizing::new(vec![0u8; max + 1]);
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("request on stdin is longer than {max} bytes"),
        ));
    }
    // Shrinking the length keeps the allocation: the whole of it is wiped on drop.
    buf.truncate(len);
    Ok(buf)
}

/// Writes the whole reply to stdout and closes it, so the backend has the reply before
/// this process has finished exiting (unloading libraries, unmapping memory).
pub fn send_reply(reply: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(reply)?;
    out.flush()?;
    // SAFETY: nothing writes to stdout after this; the lock is held until the function
    // returns, and the emptied buffer is never flushed again.
    if unsafe { libc::close(libc::STDOUT_FILENO) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Points libkrb5 at a private profile naming `kdcs` for `realm` (nothing when `kdcs` is
/// empty). Call before any thread exists and before creating a libkrb5 context; keep the
/// returned guard alive while libkrb5 reads the profile.
pub fn use_private_profile(
    prog: &str,
    realm: &str,
    kdcs: &[String],
    kpasswd: &[String],
) -> Result<Option<profile::PrivateProfile>, String> {
    let Some(text) = private_profile_text(prog, realm, kdcs, kpasswd)? else {
        return Ok(None);
    };
    let dir = std::env::temp_dir();
    let p = profile::PrivateProfile::create(&dir, &text).map_err(|e| {
        format!(
            "{prog}: cannot write private krb5 profile in {}: {e}",
            dir.display()
        )
    })?;
    // Under secure execution (file capabilities) the parent's KRB5_CONFIG is not trusted:
    // only our own profile and the system's.
    let previous = if profile::secure_execution() {
        None
    } else {
        std::env::var(profile::KRB5_CONFIG).ok()
    };
    let value = p.search_path(previous.as_deref());
    profile::set_path_list(value.clone());
    // SAFETY: documented precondition: the helper is single-threaded at this point.
    unsafe { std::env::set_var(profile::KRB5_CONFIG, value) };
    Ok(Some(p))
}

/// The text of the private profile [`use_private_profile`] writes for a request's `realm`,
/// `kdcs` and `kpasswd` (`None`: no servers, the system profile serves); an error when a
/// value from the request cannot be written into a profile safely. Touches nothing.
pub fn private_profile_text(
    prog: &str,
    realm: &str,
    kdcs: &[String],
    kpasswd: &[String],
) -> Result<Option<String>, String> {
    if kdcs.is_empty() && kpasswd.is_empty() {
        return Ok(None);
    }
    if !profile::is_safe_value(realm) {
        return Err(format!(
            "{prog}: realm {realm:?} is not usable in a krb5 profile"
        ));
    }
    if let Some(bad) = kdcs
        .iter()
        .chain(kpasswd)
        .find(|k| !profile::is_safe_value(k))
    {
        return Err(format!(
            "{prog}: server {bad:?} is not usable in a krb5 profile"
        ));
    }
    Ok(Some(profile::profile_text(realm, kdcs, kpasswd)))
}
