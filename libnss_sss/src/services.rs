//! The services map: `_nss_sss_getservbyname_r`, `_nss_sss_getservbyport_r` and
//! `_nss_sss_setservent`/`getservent_r`/`endservent`, filling `struct servent` in the
//! caller's buffer (TRYAGAIN/`ERANGE` when it is too small, as glibc expects).

use libc::{c_char, c_int, size_t};
use sss_proto::Command;
use sss_proto::nss::{MAX_NAME_LEN, decode_reply_prefix};
use sss_proto::services::{
    ServEntry, decode_reply, encode_by_name_request, encode_by_port_request,
};
use sss_proto::wire::Reader;

use crate::arena::Arena;
use crate::client::Client;
use crate::enumerate::{EnumKind, Enumeration};
use crate::ffi::{buffer_arg, check_buffer, name_arg, out_arg, run, run_lookup, thread_errno};
use crate::nss::Nss;
use crate::status::NssError;

static SERV_ENUM: Enumeration<ServKind> = Enumeration::new();

/// Fills `out` from `e`, strings and the alias array in `buf`; `out` is untouched on error.
pub fn fill_servent(
    e: &ServEntry<'_>,
    out: &mut libc::servent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let mut a = Arena::new(buf);
    let name = a.string(e.name)?;
    let proto = a.string(e.proto)?;
    let mut aliases = Vec::new();
    aliases
        .try_reserve_exact(e.aliases.len())
        .map_err(|_| NssError::NoMemory)?;
    for al in &e.aliases {
        aliases.push(a.string(al)?);
    }
    let arr = a.ptr_array(&aliases)?;
    out.s_name = name;
    out.s_proto = proto;
    out.s_port = c_int::from(e.port.to_be() as i16);
    out.s_aliases = arr;
    Ok(())
}

/// Fills `out` from a single-record reply body.
pub fn fill_single_servent(
    body: &[u8],
    out: &mut libc::servent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    match n {
        0 => Err(NssError::NotFound),
        1 => fill_servent(&ServEntry::decode_from(&mut r)?, out, buf),
        n => Err(NssError::Ambiguous(n)),
    }
}

/// services enumeration.
#[derive(Debug)]
pub struct ServKind;

impl EnumKind for ServKind {
    const SET: Command = Command::SetServEnt;
    const GET: Command = Command::GetServEnt;
    const END: Command = Command::EndServEnt;
    type Out = libc::servent;
    fn validate(body: &[u8]) -> Result<u32, NssError> {
        let n = decode_reply(body)?.len();
        u32::try_from(n).map_err(|_| NssError::BadReply("too many records".into()))
    }
    fn fill(r: &mut Reader<'_>, out: &mut libc::servent, buf: &mut [u8]) -> Result<(), NssError> {
        fill_servent(&ServEntry::decode_from(r)?, out, buf)
    }
}

/// A protocol argument: NULL is "any"; over-long is NOTFOUND/EINVAL as SSSD.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn proto_arg<'a>(p: *const c_char) -> Result<Option<&'a [u8]>, NssError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: caller contract.
    unsafe { name_arg(p) }.map(Some)
}

/// `getservbyname_r` core.
pub fn getservbyname(
    nss: &Nss<'_>,
    name: &[u8],
    proto: Option<&[u8]>,
    out: &mut libc::servent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains(&0) {
        return Err(NssError::NotFound);
    }
    let body = nss
        .with_client(|c| c.request(Command::GetServByName, &encode_by_name_request(name, proto)))?;
    fill_single_servent(&body, out, buf)
}

/// `getservbyport_r` core; `port` in network order as glibc passes it.
pub fn getservbyport(
    nss: &Nss<'_>,
    port: c_int,
    proto: Option<&[u8]>,
    out: &mut libc::servent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let host = u16::from_be(port as u16);
    let body = nss
        .with_client(|c| c.request(Command::GetServByPort, &encode_by_port_request(host, proto)))?;
    fill_single_servent(&body, out, buf)
}

/// glibc `getservbyname_r` backend.
///
/// # Safety
/// Pointers as glibc passes them: `name` a C string, `proto` NULL or a C string, `result`
/// a writable `struct servent`, `buffer` writable for `buflen` bytes, `errnop` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getservbyname_r(
    name: *const c_char,
    proto: *const c_char,
    result: *mut libc::servent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run_lookup(errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract, see above.
        let (name, proto, out, buf) = unsafe {
            (
                name_arg(name)?,
                proto_arg(proto)?,
                out_arg(result)?,
                buffer_arg(buffer, buflen)?,
            )
        };
        getservbyname(nss, name, proto, out, buf)
    })
}

/// glibc `getservbyport_r` backend (`port` in network order).
///
/// # Safety
/// As for [`_nss_sss_getservbyname_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getservbyport_r(
    port: c_int,
    proto: *const c_char,
    result: *mut libc::servent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run_lookup(errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (proto, out, buf) = unsafe {
            (
                proto_arg(proto)?,
                out_arg(result)?,
                buffer_arg(buffer, buflen)?,
            )
        };
        getservbyport(nss, port, proto, out, buf)
    })
}

/// glibc `setservent` backend (the `stayopen` flag is ignored, as SSSD does).
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_setservent(_stayopen: c_int) -> c_int {
    run(thread_errno(), |c: &Client| SERV_ENUM.setent(c))
}

/// glibc `getservent_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getservbyname_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getservent_r(
    result: *mut libc::servent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run(errnop, |c| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (out, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        SERV_ENUM.getent(c, out, buf)
    })
}

/// glibc `endservent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_endservent() -> c_int {
    run(thread_errno(), |c| SERV_ENUM.endent(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sss_proto::services::encode_reply;
    use std::ffi::CStr;

    fn entry() -> ServEntry<'static> {
        ServEntry {
            port: 22,
            name: b"ssh",
            proto: b"tcp",
            aliases: vec![b"secure-shell", b"s"],
        }
    }

    #[test]
    fn fills_a_servent_and_reports_a_small_buffer() {
        let body = encode_reply(&[entry()]);
        // SAFETY: all-zero servent is valid.
        let mut out: libc::servent = unsafe { std::mem::zeroed() };
        let mut small = [0u8; 12];
        assert_eq!(
            fill_single_servent(&body, &mut out, &mut small),
            Err(NssError::Range)
        );
        assert!(out.s_name.is_null(), "untouched on ERANGE");
        let mut buf = [0u8; 256];
        fill_single_servent(&body, &mut out, &mut buf).unwrap();
        // SAFETY: pointers into buf, filled above.
        unsafe {
            assert_eq!(CStr::from_ptr(out.s_name).to_bytes(), b"ssh");
            assert_eq!(CStr::from_ptr(out.s_proto).to_bytes(), b"tcp");
            assert_eq!(CStr::from_ptr(*out.s_aliases.add(1)).to_bytes(), b"s");
            assert!((*out.s_aliases.add(2)).is_null());
        }
        assert_eq!(u16::from_be(out.s_port as u16), 22);
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        let body = encode_reply(&[entry()]);
        // SAFETY: all-zero servent is valid.
        let mut out: libc::servent = unsafe { std::mem::zeroed() };
        let mut buf = [0u8; 256];
        for cut in 0..body.len() {
            assert!(fill_single_servent(&body[..cut], &mut out, &mut buf).is_err());
        }
        assert_eq!(
            fill_single_servent(&encode_reply(&[]), &mut out, &mut buf),
            Err(NssError::NotFound)
        );
        assert!(matches!(
            fill_single_servent(&encode_reply(&[entry(), entry()]), &mut out, &mut buf),
            Err(NssError::Ambiguous(2))
        ));
    }
}
