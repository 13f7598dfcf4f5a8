//! The hosts and networks maps: `_nss_sss_gethostbyname_r`, `gethostbyname2_r`,
//! `gethostbyaddr_r`, `sethostent`/`gethostent_r`/`endhostent`, `getnetbyname_r`,
//! `getnetbyaddr_r` and `setnetent`/`getnetent_r`/`endnetent`, filling `struct hostent`
//! and `struct netent` in the caller's buffer and setting `*h_errnop` as SSSD's client
//! does: HOST_NOT_FOUND when nothing matches, NO_DATA (TRYAGAIN) for a host without an
//! address of the family asked for, NETDB_INTERNAL with `ERANGE` for a small buffer.
//!
//! The responder sends every address of a host as text; the client keeps those of the
//! requested family. An enumeration returns IPv4 addresses, or the IPv6 ones of a host
//! that has no IPv4 address (SSSD's client stops the enumeration at such a host).

use std::net::{Ipv4Addr, Ipv6Addr};

use libc::{c_char, c_int, c_void, size_t, socklen_t};
use sss_proto::Command;
use sss_proto::nss::{MAX_NAME_LEN, decode_reply_prefix};
use sss_proto::resolver::{
    HostEntry, NetEntry, decode_host_reply, decode_net_reply, encode_by_addr_request,
    encode_by_name_request,
};
use sss_proto::wire::Reader;

use crate::arena::Arena;
use crate::client::Client;
use crate::enumerate::{EnumKind, Enumeration};
use crate::ffi::{buffer_arg, check_buffer, name_arg, out_arg, run, run_lookup, thread_errno};
use crate::nss::Nss;
use crate::status::NssError;

static HOST_ENUM: Enumeration<HostKind> = Enumeration::new();
static NET_ENUM: Enumeration<NetKind> = Enumeration::new();

/// `<netdb.h>` h_errno values.
mod herr {
    use libc::c_int;
    pub const NETDB_INTERNAL: c_int = -1;
    pub const NETDB_SUCCESS: c_int = 0;
    pub const HOST_NOT_FOUND: c_int = 1;
    pub const NO_RECOVERY: c_int = 3;
    pub const NO_DATA: c_int = 4;
}

/// The `h_errno` that goes with an outcome.
pub fn h_errno_for(r: &Result<(), NssError>) -> c_int {
    match r {
        Ok(()) => herr::NETDB_SUCCESS,
        Err(NssError::NotFound | NssError::BadName | NssError::LoopsDisabled) => {
            herr::HOST_NOT_FOUND
        }
        Err(NssError::NoData) => herr::NO_DATA,
        Err(NssError::Transport(_) | NssError::Server(_) | NssError::Version(_)) => {
            herr::NO_RECOVERY
        }
        Err(_) => herr::NETDB_INTERNAL,
    }
}

fn set_h_errno(h_errnop: *mut c_int, v: c_int) {
    if !h_errnop.is_null() {
        // SAFETY: glibc passes a valid int pointer; NULL was checked.
        unsafe { *h_errnop = v };
    }
}

/// [`run_lookup`] that also sets `*h_errnop` (NETDB_INTERNAL if the body panicked).
fn run_resolver(
    errnop: *mut c_int,
    h_errnop: *mut c_int,
    f: impl FnOnce(&Nss<'static>) -> Result<(), NssError>,
) -> c_int {
    let mut h = herr::NETDB_INTERNAL;
    let code = run_lookup(errnop, |nss| {
        let r = f(nss);
        h = h_errno_for(&r);
        r
    });
    set_h_errno(h_errnop, h);
    code
}

/// [`run`] (enumerations) that also sets `*h_errnop`.
fn run_enum(
    errnop: *mut c_int,
    h_errnop: *mut c_int,
    f: impl FnOnce(&Client) -> Result<(), NssError>,
) -> c_int {
    let mut h = herr::NETDB_INTERNAL;
    let code = run(errnop, |c| {
        let r = f(c);
        h = h_errno_for(&r);
        r
    });
    set_h_errno(h_errnop, h);
    code
}

/// The addresses of `e` of family `af` as bytes (4 for `AF_INET`, 16 for `AF_INET6`).
fn addresses_of(e: &HostEntry<'_>, af: c_int) -> Vec<Vec<u8>> {
    e.addresses
        .iter()
        .filter_map(|a| {
            let text = std::str::from_utf8(a).ok()?;
            if af == libc::AF_INET {
                text.parse::<Ipv4Addr>().ok().map(|x| x.octets().to_vec())
            } else {
                text.parse::<Ipv6Addr>().ok().map(|x| x.octets().to_vec())
            }
        })
        .collect()
}

fn fill_with(
    e: &HostEntry<'_>,
    af: c_int,
    addrs: &[Vec<u8>],
    out: &mut libc::hostent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let mut a = Arena::new(buf);
    let name = a.string(e.name)?;
    let mut aliases = Vec::new();
    aliases
        .try_reserve_exact(e.aliases.len())
        .map_err(|_| NssError::NoMemory)?;
    for al in &e.aliases {
        aliases.push(a.string(al)?);
    }
    let alias_arr = a.ptr_array(&aliases)?;
    let mut ptrs = Vec::new();
    ptrs.try_reserve_exact(addrs.len())
        .map_err(|_| NssError::NoMemory)?;
    for bytes in addrs {
        ptrs.push(a.bytes(bytes, 4)?);
    }
    let addr_arr = a.ptr_array(&ptrs)?;
    out.h_name = name;
    out.h_aliases = alias_arr;
    out.h_addrtype = af;
    out.h_length = if af == libc::AF_INET { 4 } else { 16 };
    out.h_addr_list = addr_arr;
    Ok(())
}

/// Fills `out` from `e` with its addresses of family `af`; [`NssError::NoData`] (and `out`
/// untouched) when it has none.
pub fn fill_hostent(
    e: &HostEntry<'_>,
    af: c_int,
    out: &mut libc::hostent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let addrs = addresses_of(e, af);
    if addrs.is_empty() {
        return Err(NssError::NoData);
    }
    fill_with(e, af, &addrs, out, buf)
}

/// Fills `out` from a single-record hosts reply body.
pub fn fill_single_hostent(
    body: &[u8],
    af: c_int,
    out: &mut libc::hostent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    match n {
        0 => Err(NssError::NotFound),
        1 => fill_hostent(&HostEntry::decode_from(&mut r)?, af, out, buf),
        n => Err(NssError::Ambiguous(n)),
    }
}

/// Fills `out` from `e`: `n_net` is the number in host order, `n_addrtype` AF_INET;
/// [`NssError::NoData`] when the number is not an IPv4 address.
pub fn fill_netent(
    e: &NetEntry<'_>,
    out: &mut libc::netent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let net = std::str::from_utf8(e.address)
        .ok()
        .and_then(|t| t.parse::<Ipv4Addr>().ok())
        .ok_or(NssError::NoData)?;
    let mut a = Arena::new(buf);
    let name = a.string(e.name)?;
    let mut aliases = Vec::new();
    aliases
        .try_reserve_exact(e.aliases.len())
        .map_err(|_| NssError::NoMemory)?;
    for al in &e.aliases {
        aliases.push(a.string(al)?);
    }
    let arr = a.ptr_array(&aliases)?;
    out.n_name = name;
    out.n_aliases = arr;
    out.n_addrtype = libc::AF_INET;
    out.n_net = u32::from(net);
    Ok(())
}

/// Fills `out` from a single-record networks reply body.
pub fn fill_single_netent(
    body: &[u8],
    out: &mut libc::netent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    match n {
        0 => Err(NssError::NotFound),
        1 => fill_netent(&NetEntry::decode_from(&mut r)?, out, buf),
        n => Err(NssError::Ambiguous(n)),
    }
}

/// hosts enumeration.
#[derive(Debug)]
pub struct HostKind;

impl EnumKind for HostKind {
    const SET: Command = Command::SetHostEnt;
    const GET: Command = Command::GetHostEnt;
    const END: Command = Command::EndHostEnt;
    type Out = libc::hostent;
    fn validate(body: &[u8]) -> Result<u32, NssError> {
        let n = decode_host_reply(body)?.len();
        u32::try_from(n).map_err(|_| NssError::BadReply("too many records".into()))
    }
    fn fill(r: &mut Reader<'_>, out: &mut libc::hostent, buf: &mut [u8]) -> Result<(), NssError> {
        let e = HostEntry::decode_from(r)?;
        // Never an error for the family: that would end (or restart) the enumeration.
        for af in [libc::AF_INET, libc::AF_INET6] {
            let addrs = addresses_of(&e, af);
            if !addrs.is_empty() {
                return fill_with(&e, af, &addrs, out, buf);
            }
        }
        fill_with(&e, libc::AF_INET, &[], out, buf)
    }
}

/// networks enumeration.
#[derive(Debug)]
pub struct NetKind;

impl EnumKind for NetKind {
    const SET: Command = Command::SetNetEnt;
    const GET: Command = Command::GetNetEnt;
    const END: Command = Command::EndNetEnt;
    type Out = libc::netent;
    fn validate(body: &[u8]) -> Result<u32, NssError> {
        let n = decode_net_reply(body)?.len();
        u32::try_from(n).map_err(|_| NssError::BadReply("too many records".into()))
    }
    fn fill(r: &mut Reader<'_>, out: &mut libc::netent, buf: &mut [u8]) -> Result<(), NssError> {
        let e = NetEntry::decode_from(r)?;
        match fill_netent(&e, out, buf) {
            // A number that is not IPv4 (the responder never sends one): show the name.
            Err(NssError::NoData) => fill_netent(
                &NetEntry {
                    address: b"0.0.0.0",
                    ..e
                },
                out,
                buf,
            ),
            other => other,
        }
    }
}

fn checked_name(name: &[u8]) -> Result<&[u8], NssError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains(&0) {
        return Err(NssError::NotFound);
    }
    Ok(name)
}

/// `gethostbyname2_r` core.
pub fn gethostbyname2(
    nss: &Nss<'_>,
    name: &[u8],
    af: c_int,
    out: &mut libc::hostent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    if af != libc::AF_INET && af != libc::AF_INET6 {
        return Err(NssError::AddressFamily);
    }
    let req = encode_by_name_request(checked_name(name)?);
    let body = nss.with_client(|c| c.request(Command::GetHostByName2, &req))?;
    fill_single_hostent(&body, af, out, buf)
}

/// `gethostbyaddr_r` core: `addr` is 4 bytes for `AF_INET`, 16 for `AF_INET6`.
pub fn gethostbyaddr(
    nss: &Nss<'_>,
    addr: &[u8],
    af: c_int,
    out: &mut libc::hostent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let ip = match (af, addr.len()) {
        (libc::AF_INET, 4) => {
            let mut b = [0u8; 4];
            b.copy_from_slice(addr);
            std::net::IpAddr::from(b)
        }
        (libc::AF_INET6, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(addr);
            std::net::IpAddr::from(b)
        }
        (libc::AF_INET | libc::AF_INET6, _) => return Err(NssError::Invalid),
        _ => return Err(NssError::AddressFamily),
    };
    let req = encode_by_addr_request(ip);
    let body = nss.with_client(|c| c.request(Command::GetHostByAddr, &req))?;
    fill_single_hostent(&body, af, out, buf)
}

/// `getnetbyname_r` core.
pub fn getnetbyname(
    nss: &Nss<'_>,
    name: &[u8],
    out: &mut libc::netent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let req = encode_by_name_request(checked_name(name)?);
    let body = nss.with_client(|c| c.request(Command::GetNetByName, &req))?;
    fill_single_netent(&body, out, buf)
}

/// `getnetbyaddr_r` core: `net` in host order, `af` AF_INET (or AF_UNSPEC).
pub fn getnetbyaddr(
    nss: &Nss<'_>,
    net: u32,
    af: c_int,
    out: &mut libc::netent,
    buf: &mut [u8],
) -> Result<(), NssError> {
    if af != libc::AF_INET && af != libc::AF_UNSPEC {
        return Err(NssError::AddressFamily);
    }
    let req = encode_by_addr_request(std::net::IpAddr::V4(Ipv4Addr::from(net)));
    let body = nss.with_client(|c| c.request(Command::GetNetByAddr, &req))?;
    fill_single_netent(&body, out, buf)
}

/// glibc `gethostbyname2_r` backend.
///
/// # Safety
/// Pointers as glibc passes them: `name` a C string, `result` a writable
/// `struct hostent`, `buffer` writable for `buflen` bytes, `errnop` and `h_errnop`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_gethostbyname2_r(
    name: *const c_char,
    af: c_int,
    result: *mut libc::hostent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    run_resolver(errnop, h_errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract, see above.
        let (name, out, buf) = unsafe {
            (
                name_arg(name)?,
                out_arg(result)?,
                buffer_arg(buffer, buflen)?,
            )
        };
        gethostbyname2(nss, name, af, out, buf)
    })
}

/// glibc `gethostbyname_r` backend (IPv4).
///
/// # Safety
/// As for [`_nss_sss_gethostbyname2_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_gethostbyname_r(
    name: *const c_char,
    result: *mut libc::hostent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    // SAFETY: same contract.
    unsafe {
        _nss_sss_gethostbyname2_r(
            name,
            libc::AF_INET,
            result,
            buffer,
            buflen,
            errnop,
            h_errnop,
        )
    }
}

/// glibc `gethostbyaddr_r` backend.
///
/// # Safety
/// `addr` readable for `len` bytes; the rest as for [`_nss_sss_gethostbyname2_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_gethostbyaddr_r(
    addr: *const c_void,
    len: socklen_t,
    af: c_int,
    result: *mut libc::hostent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    run_resolver(errnop, h_errnop, |nss| {
        check_buffer(buffer, buflen)?;
        if addr.is_null() || len > 16 {
            return Err(NssError::Invalid);
        }
        // SAFETY: glibc's pointer contract: addr holds len (at most 16) bytes.
        let bytes = unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len as usize) };
        // SAFETY: glibc's pointer contract.
        let (out, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        gethostbyaddr(nss, bytes, af, out, buf)
    })
}

/// glibc `sethostent` backend (`stayopen` is ignored, as SSSD does).
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_sethostent(_stayopen: c_int) -> c_int {
    run(thread_errno(), |c: &Client| HOST_ENUM.setent(c))
}

/// glibc `gethostent_r` backend.
///
/// # Safety
/// As for [`_nss_sss_gethostbyname2_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_gethostent_r(
    result: *mut libc::hostent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    run_enum(errnop, h_errnop, |c| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (out, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        HOST_ENUM.getent(c, out, buf)
    })
}

/// glibc `endhostent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_endhostent() -> c_int {
    run(thread_errno(), |c| HOST_ENUM.endent(c))
}

/// glibc `getnetbyname_r` backend.
///
/// # Safety
/// As for [`_nss_sss_gethostbyname2_r`], with a writable `struct netent`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getnetbyname_r(
    name: *const c_char,
    result: *mut libc::netent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    run_resolver(errnop, h_errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (name, out, buf) = unsafe {
            (
                name_arg(name)?,
                out_arg(result)?,
                buffer_arg(buffer, buflen)?,
            )
        };
        getnetbyname(nss, name, out, buf)
    })
}

/// glibc `getnetbyaddr_r` backend (`net` in host order).
///
/// # Safety
/// As for [`_nss_sss_getnetbyname_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getnetbyaddr_r(
    net: u32,
    af: c_int,
    result: *mut libc::netent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    run_resolver(errnop, h_errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (out, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        getnetbyaddr(nss, net, af, out, buf)
    })
}

/// glibc `setnetent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_setnetent(_stayopen: c_int) -> c_int {
    run(thread_errno(), |c: &Client| NET_ENUM.setent(c))
}

/// glibc `getnetent_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getnetbyname_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getnetent_r(
    result: *mut libc::netent,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
    h_errnop: *mut c_int,
) -> c_int {
    run_enum(errnop, h_errnop, |c| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (out, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        NET_ENUM.getent(c, out, buf)
    })
}

/// glibc `endnetent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_endnetent() -> c_int {
    run(thread_errno(), |c| NET_ENUM.endent(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sss_proto::resolver::{encode_host_reply, encode_net_reply};
    use std::ffi::CStr;

    fn host() -> HostEntry<'static> {
        HostEntry {
            name: b"web",
            aliases: vec![b"www"],
            addresses: vec![b"10.0.0.5", b"fe80::5", b"10.0.0.6"],
        }
    }

    #[test]
    fn fills_a_hostent_per_family() {
        let body = encode_host_reply(&[host()]);
        // SAFETY: an all-zero hostent is valid.
        let mut out: libc::hostent = unsafe { std::mem::zeroed() };
        let mut small = [0u8; 16];
        assert_eq!(
            fill_single_hostent(&body, libc::AF_INET, &mut out, &mut small),
            Err(NssError::Range)
        );
        assert!(out.h_name.is_null(), "untouched on ERANGE");
        let mut buf = [0u8; 256];
        fill_single_hostent(&body, libc::AF_INET, &mut out, &mut buf).unwrap();
        assert_eq!((out.h_addrtype, out.h_length), (libc::AF_INET, 4));
        // SAFETY: pointers into buf, filled above.
        unsafe {
            assert_eq!(CStr::from_ptr(out.h_name).to_bytes(), b"web");
            assert_eq!(CStr::from_ptr(*out.h_aliases).to_bytes(), b"www");
            assert!((*out.h_aliases.add(1)).is_null());
            let a0 = std::slice::from_raw_parts((*out.h_addr_list).cast::<u8>(), 4);
            let a1 = std::slice::from_raw_parts((*out.h_addr_list.add(1)).cast::<u8>(), 4);
            assert_eq!((a0, a1), (&[10, 0, 0, 5][..], &[10, 0, 0, 6][..]));
            assert!((*out.h_addr_list.add(2)).is_null());
        }
        fill_single_hostent(&body, libc::AF_INET6, &mut out, &mut buf).unwrap();
        assert_eq!((out.h_addrtype, out.h_length), (libc::AF_INET6, 16));
        let v4only = encode_host_reply(&[HostEntry {
            addresses: vec![b"10.0.0.5"],
            ..host()
        }]);
        assert_eq!(
            fill_single_hostent(&v4only, libc::AF_INET6, &mut out, &mut buf),
            Err(NssError::NoData)
        );
        assert_eq!(h_errno_for(&Err(NssError::NoData)), herr::NO_DATA);
        assert_eq!(h_errno_for(&Err(NssError::NotFound)), herr::HOST_NOT_FOUND);
        assert_eq!(h_errno_for(&Err(NssError::Range)), herr::NETDB_INTERNAL);
    }

    #[test]
    fn fills_a_netent() {
        let e = NetEntry {
            name: b"lab",
            address: b"10.1.0.0",
            aliases: vec![b"lab-net"],
        };
        let body = encode_net_reply(&[e]);
        // SAFETY: an all-zero netent is valid.
        let mut out: libc::netent = unsafe { std::mem::zeroed() };
        let mut buf = [0u8; 128];
        fill_single_netent(&body, &mut out, &mut buf).unwrap();
        assert_eq!(out.n_net, 0x0a01_0000);
        assert_eq!(out.n_addrtype, libc::AF_INET);
        // SAFETY: pointers into buf.
        unsafe {
            assert_eq!(CStr::from_ptr(out.n_name).to_bytes(), b"lab");
            assert_eq!(CStr::from_ptr(*out.n_aliases).to_bytes(), b"lab-net");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        let body = encode_host_reply(&[host()]);
        // SAFETY: all-zero structs are valid.
        let mut h: libc::hostent = unsafe { std::mem::zeroed() };
        let mut n: libc::netent = unsafe { std::mem::zeroed() };
        let mut buf = [0u8; 256];
        for cut in 0..body.len() {
            assert!(fill_single_hostent(&body[..cut], libc::AF_INET, &mut h, &mut buf).is_err());
            assert!(fill_single_netent(&body[..cut], &mut n, &mut buf).is_err());
        }
        assert_eq!(
            fill_single_hostent(&encode_host_reply(&[]), libc::AF_INET, &mut h, &mut buf),
            Err(NssError::NotFound)
        );
        assert!(matches!(
            fill_single_hostent(
                &encode_host_reply(&[host(), host()]),
                libc::AF_INET,
                &mut h,
                &mut buf
            ),
            Err(NssError::Ambiguous(2))
        ));
    }
}
