//! Safe wrappers over the few MIT libkrb5 calls the helpers need. Every handle frees itself
//! on drop; every error carries libkrb5's code and message.

pub(crate) mod ffi;

use std::ffi::{CStr, CString};
use std::ptr;

use zeroize::Zeroizing;

pub use ffi::krb5_error_code as ErrorCode;

/// Selected libkrb5 error codes (com_err table `krb5`).
pub mod code {
    /// KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN.
    pub const C_PRINCIPAL_UNKNOWN: i32 = -1765328378;
    /// KRB5KDC_ERR_CLIENT_REVOKED.
    pub const CLIENT_REVOKED: i32 = -1765328366;
    /// KRB5KDC_ERR_KEY_EXP.
    pub const KEY_EXP: i32 = -1765328361;
    /// KRB5KDC_ERR_PREAUTH_FAILED.
    pub const PREAUTH_FAILED: i32 = -1765328360;
    /// KRB5KRB_AP_ERR_BAD_INTEGRITY.
    pub const BAD_INTEGRITY: i32 = -1765328353;
    /// KRB5_KDC_UNREACH.
    pub const KDC_UNREACH: i32 = -1765328228;
    /// KRB5_PREAUTH_FAILED (client side).
    pub const LIB_PREAUTH_FAILED: i32 = -1765328174;
    /// KRB5_REALM_CANT_RESOLVE.
    pub const REALM_CANT_RESOLVE: i32 = -1765328164;
    /// KRB5_KT_END: no more keytab entries.
    pub const KT_END: i32 = -1765328202;
}

/// A libkrb5 failure: the operation, the code and libkrb5's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message} (krb5 error {code})")]
pub struct Krb5Error {
    /// What was being done.
    pub what: String,
    /// libkrb5's error code.
    pub code: ErrorCode,
    /// libkrb5's message.
    pub message: String,
}

/// Result of a libkrb5 call.
pub type Result<T> = std::result::Result<T, Krb5Error>;

/// `s` with a trailing NUL in a buffer sized once and wiped on drop (`CString::new` copies
/// and then grows its buffer by one byte, leaving the first copy unwiped).
fn secret_cstring(what: &str, s: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if s.contains(&0) {
        return Err(Krb5Error {
            what: what.to_string(),
            code: libc::EINVAL,
            message: "contains a NUL byte".into(),
        });
    }
    let mut v = Zeroizing::new(Vec::with_capacity(s.len() + 1));
    v.extend_from_slice(s);
    v.push(0);
    Ok(v)
}

fn cstring(what: &str, s: &[u8]) -> Result<CString> {
    // Checked first so a secret is never copied into an error value.
    if s.contains(&0) {
        return Err(Krb5Error {
            what: what.to_string(),
            code: libc::EINVAL,
            message: "contains a NUL byte".into(),
        });
    }
    CString::new(s).map_err(|_| Krb5Error {
        what: what.to_string(),
        code: libc::EINVAL,
        message: "contains a NUL byte".into(),
    })
}

/// A `krb5_context`.
pub struct Context {
    raw: ffi::krb5_context,
}

impl Context {
    /// Initialises a context on the private profile path list when the helper chose one
    /// ([`crate::profile::set_path_list`]), else as libkrb5 does by default.
    pub fn new() -> Result<Context> {
        let mut raw = ptr::null_mut();
        let rc = match crate::profile::path_list() {
            Some(list) => Context::init_on_paths(list, &mut raw),
            // SAFETY: `raw` is a valid out pointer.
            None => unsafe { ffi::krb5_init_context(&mut raw) },
        };
        if rc != 0 || raw.is_null() {
            return Err(Krb5Error {
                what: "krb5_init_context".into(),
                code: rc,
                message: format!("cannot initialise libkrb5 (error {rc})"),
            });
        }
        Ok(Context { raw })
    }

    /// `krb5_init_context_profile` on a profile opened from the colon-separated `list`.
    fn init_on_paths(list: &str, raw: &mut ffi::krb5_context) -> i32 {
        let Ok(c_list) = CString::new(list) else {
            return libc::EINVAL;
        };
        let mut profile: ffi::profile_t = ptr::null_mut();
        // SAFETY: a NUL-terminated path list and a valid out pointer.
        let rc = unsafe { ffi::profile_init_path(c_list.as_ptr(), &mut profile) };
        if rc != 0 || profile.is_null() {
            return i32::try_from(rc).unwrap_or(libc::EINVAL);
        }
        // SAFETY: a valid profile (the context keeps its own copy) and out pointer; the
        // profile is released once.
        unsafe {
            let rc = ffi::krb5_init_context_profile(profile, 0, raw);
            ffi::profile_release(profile);
            rc
        }
    }

    fn error(&self, what: &str, code: ErrorCode) -> Krb5Error {
        // SAFETY: the context is valid; the message is freed with the matching call.
        let message = unsafe {
            let m = ffi::krb5_get_error_message(self.raw, code);
            if m.is_null() {
                format!("error {code}")
            } else {
                let s = CStr::from_ptr(m).to_string_lossy().into_owned();
                ffi::krb5_free_error_message(self.raw, m);
                s
            }
        };
        Krb5Error {
            what: what.to_string(),
            code,
            message,
        }
    }

    fn check(&self, what: &str, code: ErrorCode) -> Result<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(self.error(what, code))
        }
    }

    /// Parses a principal name.
    pub fn parse_name(&self, name: &str) -> Result<Principal<'_>> {
        let c = cstring("principal", name.as_bytes())?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid context, NUL-terminated name, valid out pointer.
        let rc = unsafe { ffi::krb5_parse_name(self.raw, c.as_ptr(), &mut raw) };
        self.check(&format!("parse principal {name}"), rc)?;
        Ok(Principal { ctx: self, raw })
    }

    /// Parses a principal name as an enterprise principal (RFC 6806): the whole name,
    /// `@` included, becomes the single component, in the default realm.
    pub fn parse_enterprise_name(&self, name: &str) -> Result<Principal<'_>> {
        let c = cstring("principal", name.as_bytes())?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid context, NUL-terminated name, valid out pointer.
        let rc = unsafe {
            ffi::krb5_parse_name_flags(
                self.raw,
                c.as_ptr(),
                ffi::KRB5_PRINCIPAL_PARSE_ENTERPRISE,
                &mut raw,
            )
        };
        self.check(&format!("parse enterprise principal {name}"), rc)?;
        Ok(Principal { ctx: self, raw })
    }

    /// Renews the TGT held in the ccache `name` and writes the renewed one back; returns
    /// the renewed ticket's times.
    pub fn renew(&self, name: &str) -> Result<ffi::krb5_ticket_times> {
        let c = cstring("ccache", name.as_bytes())?;
        let mut cc = ptr::null_mut();
        // SAFETY: valid context, string and out pointer.
        let rc = unsafe { ffi::krb5_cc_resolve(self.raw, c.as_ptr(), &mut cc) };
        self.check(&format!("resolve ccache {name}"), rc)?;
        let cache = Ccache { ctx: self, raw: cc };
        let mut raw = ptr::null_mut();
        // SAFETY: valid handles and out pointer.
        let rc = unsafe { ffi::krb5_cc_get_principal(self.raw, cache.raw, &mut raw) };
        self.check(&format!("read the principal of {name}"), rc)?;
        let client = Principal { ctx: self, raw };
        let mut creds = Creds::empty(self);
        // SAFETY: valid handles; NULL service = the TGT of the client's realm.
        let rc = unsafe {
            ffi::krb5_get_renewed_creds(
                self.raw,
                &mut *creds.raw,
                client.raw,
                cache.raw,
                ptr::null(),
            )
        };
        self.check(&format!("renew the TGT in {name}"), rc)?;
        creds.filled = true;
        drop(cache);
        self.store(name, &client, &mut creds)?;
        Ok(creds.raw.times)
    }

    /// The host service principal `host/<fqdn>` of this machine.
    pub fn host_principal(&self) -> Result<Principal<'_>> {
        let mut raw = ptr::null_mut();
        let sname = c"host";
        // SAFETY: NULL hostname = local host; valid strings and out pointer.
        let rc = unsafe {
            ffi::krb5_sname_to_principal(self.raw, ptr::null(), sname.as_ptr(), 3, &mut raw)
        };
        self.check("build host principal", rc)?;
        Ok(Principal { ctx: self, raw })
    }

    /// Resolves a keytab name (empty: the default keytab).
    pub fn keytab(&self, name: &str) -> Result<Keytab<'_>> {
        let mut raw = ptr::null_mut();
        let rc = if name.is_empty() {
            // SAFETY: valid context and out pointer.
            unsafe { ffi::krb5_kt_default(self.raw, &mut raw) }
        } else {
            let c = cstring("keytab", name.as_bytes())?;
            // SAFETY: valid context, string and out pointer.
            unsafe { ffi::krb5_kt_resolve(self.raw, c.as_ptr(), &mut raw) }
        };
        self.check(&format!("resolve keytab {name}"), rc)?;
        Ok(Keytab { ctx: self, raw })
    }

    /// Gets initial credentials with a password (for `service`, default the TGT).
    pub fn init_creds_password(
        &self,
        client: &Principal<'_>,
        password: &[u8],
        service: Option<&str>,
        opts: &InitOpts<'_>,
    ) -> Result<Creds<'_>> {
        let pw = secret_cstring("password", password)?;
        let svc = service
            .map(|s| cstring("service", s.as_bytes()))
            .transpose()?;
        let mut creds = Creds::empty(self);
        // SAFETY: all pointers valid; `creds.raw` is a zeroed krb5_creds of the real size.
        let rc = unsafe {
            ffi::krb5_get_init_creds_password(
                self.raw,
                &mut *creds.raw,
                client.raw,
                pw.as_ptr().cast(),
                None,
                ptr::null_mut(),
                0,
                svc.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
                opts.raw,
            )
        };
        self.check("get initial credentials", rc)?;
        creds.filled = true;
        Ok(creds)
    }

    /// Gets initial credentials from a keytab.
    pub fn init_creds_keytab(
        &self,
        client: &Principal<'_>,
        keytab: &Keytab<'_>,
        opts: &InitOpts<'_>,
    ) -> Result<Creds<'_>> {
        let mut creds = Creds::empty(self);
        // SAFETY: all pointers valid.
        let rc = unsafe {
            ffi::krb5_get_init_creds_keytab(
                self.raw,
                &mut *creds.raw,
                client.raw,
                keytab.raw,
                0,
                ptr::null(),
                opts.raw,
            )
        };
        self.check("get initial credentials from keytab", rc)?;
        creds.filled = true;
        Ok(creds)
    }

    /// Verifies `creds` against the keys in `keytab` (fails when the keytab has no key).
    pub fn verify_creds(&self, creds: &mut Creds<'_>, keytab: &Keytab<'_>) -> Result<()> {
        let mut opt = ffi::krb5_verify_init_creds_opt {
            flags: 0,
            ap_req_nofail: 0,
        };
        // SAFETY: valid pointers; NULL server = any key in the keytab, NULL ccache = none.
        let rc = unsafe {
            ffi::krb5_verify_init_creds_opt_init(&mut opt);
            ffi::krb5_verify_init_creds_opt_set_ap_req_nofail(&mut opt, 1);
            ffi::krb5_verify_init_creds(
                self.raw,
                &mut *creds.raw,
                ptr::null_mut(),
                keytab.raw,
                ptr::null_mut(),
                &mut opt,
            )
        };
        self.check("verify credentials with the keytab", rc)
    }

    /// Changes the password with kpasswd using `creds` for `kadmin/changepw`. Returns the
    /// server's result code and message (0 = changed).
    pub fn change_password(&self, creds: &mut Creds<'_>, new: &[u8]) -> Result<(i32, String)> {
        let pw = secret_cstring("new password", new)?;
        let mut code = 0;
        let mut code_str = empty_data();
        let mut result_str = empty_data();
        // SAFETY: valid pointers; the krb5_data contents are freed below.
        let rc = unsafe {
            ffi::krb5_change_password(
                self.raw,
                &mut *creds.raw,
                pw.as_ptr().cast(),
                &mut code,
                &mut code_str,
                &mut result_str,
            )
        };
        let text = |d: &ffi::krb5_data| {
            if d.data.is_null() || d.length == 0 {
                String::new()
            } else {
                // SAFETY: libkrb5 filled `length` bytes at `data`.
                let b =
                    unsafe { std::slice::from_raw_parts(d.data.cast::<u8>(), d.length as usize) };
                String::from_utf8_lossy(b)
                    .trim_end_matches('\0')
                    .trim()
                    .to_string()
            }
        };
        let mut message = text(&result_str);
        if message.is_empty() {
            message = text(&code_str);
        }
        // SAFETY: contents allocated by libkrb5 (or NULL, which it accepts).
        unsafe {
            ffi::krb5_free_data_contents(self.raw, &mut code_str);
            ffi::krb5_free_data_contents(self.raw, &mut result_str);
        }
        self.check("change password", rc)?;
        Ok((code, message))
    }

    /// Writes `creds` for `client` into the ccache `name` (initialising it).
    pub fn store(&self, name: &str, client: &Principal<'_>, creds: &mut Creds<'_>) -> Result<()> {
        let c = cstring("ccache", name.as_bytes())?;
        let mut cc = ptr::null_mut();
        // SAFETY: valid context, string and out pointer.
        let rc = unsafe { ffi::krb5_cc_resolve(self.raw, c.as_ptr(), &mut cc) };
        self.check(&format!("resolve ccache {name}"), rc)?;
        let cache = Ccache { ctx: self, raw: cc };
        // SAFETY: valid handles.
        let rc = unsafe { ffi::krb5_cc_initialize(self.raw, cache.raw, client.raw) };
        self.check(&format!("initialise ccache {name}"), rc)?;
        // SAFETY: valid handles.
        let rc = unsafe { ffi::krb5_cc_store_cred(self.raw, cache.raw, &mut *creds.raw) };
        self.check(&format!("store credentials in {name}"), rc)
    }

    /// Options for getting initial credentials.
    pub fn init_opts(&self) -> Result<InitOpts<'_>> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid out pointer.
        let rc = unsafe { ffi::krb5_get_init_creds_opt_alloc(self.raw, &mut raw) };
        self.check("allocate init creds options", rc)?;
        Ok(InitOpts { ctx: self, raw })
    }
}

fn empty_data() -> ffi::krb5_data {
    ffi::krb5_data {
        magic: 0,
        length: 0,
        data: ptr::null_mut(),
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: created by krb5_init_context, freed once.
        unsafe { ffi::krb5_free_context(self.raw) }
    }
}

/// Parses a lifetime as written in sssd.conf (`10h`, `1d`, `3600`, `1h30m`) into seconds.
pub fn parse_deltat(s: &str) -> Option<i32> {
    let c = CString::new(s.trim()).ok()?;
    let mut bytes = c.into_bytes_with_nul();
    let mut out = 0;
    // SAFETY: NUL-terminated writable buffer, valid out pointer.
    let rc = unsafe { ffi::krb5_string_to_deltat(bytes.as_mut_ptr().cast(), &mut out) };
    (rc == 0).then_some(out)
}

/// A principal.
pub struct Principal<'c> {
    ctx: &'c Context,
    raw: ffi::krb5_principal,
}

impl Principal<'_> {
    /// The principal's text form.
    pub fn name(&self) -> Result<String> {
        let mut s = ptr::null_mut();
        // SAFETY: valid handles; the string is freed with the matching call.
        let rc = unsafe { ffi::krb5_unparse_name(self.ctx.raw, self.raw, &mut s) };
        self.ctx.check("unparse principal", rc)?;
        // SAFETY: libkrb5 returned a NUL-terminated string.
        let out = unsafe { CStr::from_ptr(s).to_string_lossy().into_owned() };
        // SAFETY: allocated by krb5_unparse_name.
        unsafe { ffi::krb5_free_unparsed_name(self.ctx.raw, s) };
        Ok(out)
    }
}

impl Drop for Principal<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by libkrb5, freed once.
        unsafe { ffi::krb5_free_principal(self.ctx.raw, self.raw) }
    }
}

/// Credentials filled by libkrb5.
pub struct Creds<'c> {
    ctx: &'c Context,
    raw: Box<ffi::krb5_creds>,
    filled: bool,
}

impl<'c> Creds<'c> {
    fn empty(ctx: &'c Context) -> Creds<'c> {
        // SAFETY: krb5_creds is plain data (integers and pointers); all-zero is its
        // documented "empty" state.
        let raw = Box::new(unsafe { std::mem::zeroed::<ffi::krb5_creds>() });
        Creds {
            ctx,
            raw,
            filled: false,
        }
    }

    /// The ticket's times.
    pub fn times(&self) -> ffi::krb5_ticket_times {
        self.raw.times
    }

    /// The ticket's end time (seconds since the epoch).
    pub fn endtime(&self) -> i64 {
        // krb5_timestamp is an unsigned 32-bit time in disguise (valid past 2038).
        i64::from(self.raw.times.endtime as u32)
    }
}

impl Drop for Creds<'_> {
    fn drop(&mut self) {
        if self.filled {
            // SAFETY: contents allocated by libkrb5, freed once.
            unsafe { ffi::krb5_free_cred_contents(self.ctx.raw, &mut *self.raw) }
        }
    }
}

/// An open credential cache.
struct Ccache<'c> {
    ctx: &'c Context,
    raw: ffi::krb5_ccache,
}

impl Drop for Ccache<'_> {
    fn drop(&mut self) {
        // SAFETY: resolved by libkrb5, closed once.
        unsafe { ffi::krb5_cc_close(self.ctx.raw, self.raw) };
    }
}

/// An open keytab.
pub struct Keytab<'c> {
    ctx: &'c Context,
    raw: ffi::krb5_keytab,
}

impl Keytab<'_> {
    /// The principals of the keytab's keys, in keytab order, each named once.
    pub fn principals(&self) -> Result<Vec<String>> {
        let ctx = self.ctx;
        let mut cursor: ffi::krb5_kt_cursor = ptr::null_mut();
        // SAFETY: valid handles and out pointer.
        let rc = unsafe { ffi::krb5_kt_start_seq_get(ctx.raw, self.raw, &mut cursor) };
        ctx.check("read the keytab", rc)?;
        let mut names: Vec<String> = Vec::new();
        let end = loop {
            // SAFETY: an all-zero entry is the empty state krb5_kt_next_entry fills.
            let mut entry: ffi::krb5_keytab_entry = unsafe { std::mem::zeroed() };
            // SAFETY: valid handles, a live cursor and a writable entry.
            let rc = unsafe { ffi::krb5_kt_next_entry(ctx.raw, self.raw, &mut entry, &mut cursor) };
            if rc != 0 {
                break rc;
            }
            // The principal is borrowed for the unparse only; the entry keeps owning it.
            let p = std::mem::ManuallyDrop::new(Principal {
                ctx,
                raw: entry.principal,
            });
            let name = p.name();
            // SAFETY: filled by krb5_kt_next_entry; this wipes and frees its key and
            // principal once.
            unsafe { ffi::krb5_free_keytab_entry_contents(ctx.raw, &mut entry) };
            match name {
                Ok(n) if !names.contains(&n) => names.push(n),
                Ok(_) => {}
                Err(e) => {
                    // SAFETY: the cursor is live; ends the sequence once.
                    unsafe { ffi::krb5_kt_end_seq_get(ctx.raw, self.raw, &mut cursor) };
                    return Err(e);
                }
            }
        };
        // SAFETY: the cursor is live; ends the sequence once.
        unsafe { ffi::krb5_kt_end_seq_get(ctx.raw, self.raw, &mut cursor) };
        if end == code::KT_END {
            Ok(names)
        } else {
            Err(ctx.error("read the keytab", end))
        }
    }
}

impl Drop for Keytab<'_> {
    fn drop(&mut self) {
        // SAFETY: resolved by libkrb5, closed once.
        unsafe { ffi::krb5_kt_close(self.ctx.raw, self.raw) };
    }
}

/// `krb5_get_init_creds_opt`.
pub struct InitOpts<'c> {
    ctx: &'c Context,
    raw: *mut ffi::krb5_get_init_creds_opt,
}

impl InitOpts<'_> {
    /// Requested ticket lifetime in seconds.
    pub fn set_lifetime(&mut self, secs: i32) {
        // SAFETY: valid options handle.
        unsafe { ffi::krb5_get_init_creds_opt_set_tkt_life(self.raw, secs) }
    }

    /// Requested renewable lifetime in seconds.
    pub fn set_renew_life(&mut self, secs: i32) {
        // SAFETY: valid options handle.
        unsafe { ffi::krb5_get_init_creds_opt_set_renew_life(self.raw, secs) }
    }

    /// Ask for canonicalization.
    pub fn set_canonicalize(&mut self, on: bool) {
        // SAFETY: valid options handle.
        unsafe { ffi::krb5_get_init_creds_opt_set_canonicalize(self.raw, i32::from(on)) }
    }

    /// A short-lived, non-forwardable ticket (for kadmin/changepw).
    pub fn set_changepw(&mut self) {
        // SAFETY: valid options handle.
        unsafe {
            ffi::krb5_get_init_creds_opt_set_tkt_life(self.raw, 300);
            ffi::krb5_get_init_creds_opt_set_forwardable(self.raw, 0);
            ffi::krb5_get_init_creds_opt_set_proxiable(self.raw, 0);
        }
    }
}

impl Drop for InitOpts<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by krb5_get_init_creds_opt_alloc, freed once.
        unsafe { ffi::krb5_get_init_creds_opt_free(self.ctx.raw, self.raw) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse() {
        assert_eq!(parse_deltat("10h"), Some(36000));
        assert_eq!(parse_deltat("3600"), Some(3600));
        assert_eq!(parse_deltat("1d"), Some(86400));
        assert_eq!(parse_deltat("1h30m"), Some(5400));
        assert_eq!(parse_deltat("soon"), None);
    }
}
