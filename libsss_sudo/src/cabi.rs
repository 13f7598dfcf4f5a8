//! SSSD's C structures and their allocation with the C allocator (`calloc`, `strdup`),
//! so that what sudo receives can be freed as SSSD's `sss_sudo_free_*` free it.

use libc::{c_char, c_uint, c_void};
use sss_proto::sudo::SudoRule;
use std::ptr;

/// `struct sss_sudo_attr`.
#[repr(C)]
#[derive(Debug)]
pub struct SssSudoAttr {
    /// The attribute name.
    pub name: *mut c_char,
    /// `num_values` strings.
    pub values: *mut *mut c_char,
    /// Number of values.
    pub num_values: c_uint,
}

/// `struct sss_sudo_rule`.
#[repr(C)]
#[derive(Debug)]
pub struct SssSudoRule {
    /// Number of attributes.
    pub num_attrs: c_uint,
    /// `num_attrs` attributes.
    pub attrs: *mut SssSudoAttr,
}

/// `struct sss_sudo_result`.
#[repr(C)]
#[derive(Debug)]
pub struct SssSudoResult {
    /// Number of rules.
    pub num_rules: c_uint,
    /// `num_rules` rules.
    pub rules: *mut SssSudoRule,
}

/// `calloc(n, size)` that never asks for 0 bytes (a NULL result always means no memory).
fn calloc_n<T>(n: usize) -> *mut T {
    // SAFETY: calloc has no preconditions; the result is checked by the callers.
    unsafe { libc::calloc(n.max(1), std::mem::size_of::<T>()).cast::<T>() }
}

/// A C copy of `s` (which holds no NUL), or NULL when out of memory.
pub fn c_string(s: &[u8]) -> *mut c_char {
    let p = calloc_n::<u8>(s.len().saturating_add(1));
    if !p.is_null() {
        // SAFETY: p has room for s.len() + 1 bytes (zeroed, so NUL-terminated).
        unsafe { ptr::copy_nonoverlapping(s.as_ptr(), p, s.len()) };
    }
    p.cast::<c_char>()
}

/// Frees the first `n` attributes of `attrs` and the array.
///
/// # Safety
/// `attrs` is NULL or an array from this module with at least `n` initialised attributes.
pub unsafe fn free_attrs(attrs: *mut SssSudoAttr, n: usize) {
    if attrs.is_null() {
        return;
    }
    for i in 0..n {
        // SAFETY: i < n, within the array.
        let a = unsafe { &mut *attrs.add(i) };
        // SAFETY: from c_string / calloc_n (or NULL).
        unsafe { libc::free(a.name.cast::<c_void>()) };
        if !a.values.is_null() {
            for j in 0..a.num_values as usize {
                // SAFETY: j < num_values, within the values array.
                unsafe { libc::free((*a.values.add(j)).cast::<c_void>()) };
            }
            // SAFETY: from calloc_n.
            unsafe { libc::free(a.values.cast::<c_void>()) };
        }
    }
    // SAFETY: from calloc_n.
    unsafe { libc::free(attrs.cast::<c_void>()) };
}

/// Frees a result from [`to_c`] (NULL is ignored).
///
/// # Safety
/// `res` is NULL or came from [`to_c`] and was not freed before.
pub unsafe fn free_result(res: *mut SssSudoResult) {
    if res.is_null() {
        return;
    }
    // SAFETY: res is a valid result from to_c.
    let r = unsafe { &mut *res };
    if !r.rules.is_null() {
        for i in 0..r.num_rules as usize {
            // SAFETY: i < num_rules.
            let rule = unsafe { &mut *r.rules.add(i) };
            // SAFETY: attrs holds num_attrs initialised attributes.
            unsafe { free_attrs(rule.attrs, rule.num_attrs as usize) };
        }
        // SAFETY: from calloc_n.
        unsafe { libc::free(r.rules.cast::<c_void>()) };
    }
    // SAFETY: from calloc_n.
    unsafe { libc::free(res.cast::<c_void>()) };
}

/// Builds the C result for `rules`; NULL when out of memory (nothing leaks).
pub fn to_c(rules: &[SudoRule]) -> *mut SssSudoResult {
    let Ok(num_rules) = c_uint::try_from(rules.len()) else {
        return ptr::null_mut();
    };
    let res = calloc_n::<SssSudoResult>(1);
    if res.is_null() {
        return res;
    }
    let crules = calloc_n::<SssSudoRule>(rules.len());
    if crules.is_null() {
        // SAFETY: from calloc_n.
        unsafe { libc::free(res.cast::<c_void>()) };
        return ptr::null_mut();
    }
    // SAFETY: res is a zeroed, valid result; num_rules grows only as rules are complete,
    // so free_result frees exactly what was built.
    unsafe {
        (*res).rules = crules;
    }
    for (i, rule) in rules.iter().enumerate() {
        // SAFETY: i < rules.len(), the array's length.
        let slot = unsafe { &mut *crules.add(i) };
        if !fill_rule(slot, rule) {
            // SAFETY: res holds i complete rules; the partial one freed itself.
            unsafe {
                (*res).num_rules = c_uint::try_from(i).unwrap_or(0);
                free_result(res);
            }
            return ptr::null_mut();
        }
    }
    // SAFETY: every rule is complete.
    unsafe { (*res).num_rules = num_rules };
    res
}

/// Fills `slot` with a C copy of `rule`; on failure frees what it made and returns false.
fn fill_rule(slot: &mut SssSudoRule, rule: &SudoRule) -> bool {
    let Ok(n) = c_uint::try_from(rule.attrs.len()) else {
        return false;
    };
    let attrs = calloc_n::<SssSudoAttr>(rule.attrs.len());
    if attrs.is_null() {
        return false;
    }
    for (i, a) in rule.attrs.iter().enumerate() {
        // SAFETY: i < rule.attrs.len().
        let ca = unsafe { &mut *attrs.add(i) };
        let ok = fill_attr(ca, &a.name, &a.values);
        if !ok {
            // SAFETY: attributes 0..=i are initialised (i partially, with NULLs/counts
            // that free_attrs handles).
            unsafe { free_attrs(attrs, i + 1) };
            return false;
        }
    }
    slot.attrs = attrs;
    slot.num_attrs = n;
    true
}

/// Fills `ca`; on failure leaves it in a state [`free_attrs`] frees correctly.
fn fill_attr(ca: &mut SssSudoAttr, name: &[u8], values: &[Vec<u8>]) -> bool {
    ca.name = c_string(name);
    if ca.name.is_null() {
        return false;
    }
    let Ok(nv) = c_uint::try_from(values.len()) else {
        return false;
    };
    let vals = calloc_n::<*mut c_char>(values.len().saturating_add(1));
    if vals.is_null() {
        return false;
    }
    ca.values = vals;
    for (j, v) in values.iter().enumerate() {
        let s = c_string(v);
        if s.is_null() {
            ca.num_values = c_uint::try_from(j).unwrap_or(0);
            return false;
        }
        // SAFETY: j < values.len(), within the array.
        unsafe { *vals.add(j) = s };
    }
    ca.num_values = nv;
    true
}

/// A NULL-terminated C copy of the values of the first attribute named `name` (compared
/// ignoring ASCII case, like SSSD's `strcasecmp`); `Err(ENOENT)` when there is none,
/// `Err(ENOMEM)` when out of memory.
///
/// # Safety
/// `rule` points to a valid rule from [`to_c`] (or one sudo built the same way).
pub unsafe fn get_values(rule: &SssSudoRule, name: &[u8]) -> Result<*mut *mut c_char, i32> {
    if rule.attrs.is_null() {
        return Err(libc::ENOENT);
    }
    for i in 0..rule.num_attrs as usize {
        // SAFETY: i < num_attrs.
        let a = unsafe { &*rule.attrs.add(i) };
        if a.name.is_null() {
            continue;
        }
        // SAFETY: a.name is a NUL-terminated string.
        let an = unsafe { std::ffi::CStr::from_ptr(a.name) }.to_bytes();
        if !an.eq_ignore_ascii_case(name) {
            continue;
        }
        let n = a.num_values as usize;
        let out = calloc_n::<*mut c_char>(n.saturating_add(1));
        if out.is_null() {
            return Err(libc::ENOMEM);
        }
        for j in 0..n {
            // SAFETY: j < num_values; each value is a NUL-terminated string.
            let v = unsafe { *a.values.add(j) };
            let copy = if v.is_null() {
                ptr::null_mut()
            } else {
                // SAFETY: v is NUL-terminated.
                unsafe { libc::strdup(v) }
            };
            if copy.is_null() {
                // SAFETY: out holds j copies and is NULL-terminated after them.
                unsafe { free_values(out) };
                return Err(libc::ENOMEM);
            }
            // SAFETY: j < n.
            unsafe { *out.add(j) = copy };
        }
        return Ok(out);
    }
    Err(libc::ENOENT)
}

/// Frees a NULL-terminated array from [`get_values`] (NULL is ignored).
///
/// # Safety
/// `values` is NULL or came from [`get_values`] and was not freed before.
pub unsafe fn free_values(values: *mut *mut c_char) {
    if values.is_null() {
        return;
    }
    let mut i = 0usize;
    loop {
        // SAFETY: the array is NULL-terminated; i never passes the terminator.
        let v = unsafe { *values.add(i) };
        if v.is_null() {
            break;
        }
        // SAFETY: from strdup.
        unsafe { libc::free(v.cast::<c_void>()) };
        i += 1;
    }
    // SAFETY: from calloc_n.
    unsafe { libc::free(values.cast::<c_void>()) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use sss_proto::sudo::SudoAttr;

    fn rule() -> SudoRule {
        SudoRule {
            attrs: vec![
                SudoAttr {
                    name: b"cn".to_vec(),
                    values: vec![b"r1".to_vec()],
                },
                SudoAttr {
                    name: b"sudoCommand".to_vec(),
                    values: vec![b"/bin/true".to_vec(), b"/bin/false".to_vec()],
                },
                SudoAttr {
                    name: b"empty".to_vec(),
                    values: vec![],
                },
            ],
        }
    }

    #[test]
    fn c_result_holds_the_rules_and_frees_cleanly() {
        let res = to_c(&[rule(), SudoRule::default()]);
        assert!(!res.is_null());
        unsafe {
            assert_eq!((*res).num_rules, 2);
            let r0 = &*(*res).rules;
            assert_eq!(r0.num_attrs, 3);
            let v = get_values(r0, b"SUDOCOMMAND").unwrap();
            assert_eq!(std::ffi::CStr::from_ptr(*v).to_bytes(), b"/bin/true");
            assert_eq!(
                std::ffi::CStr::from_ptr(*v.add(1)).to_bytes(),
                b"/bin/false"
            );
            assert!((*v.add(2)).is_null());
            free_values(v);
            let e = get_values(r0, b"empty").unwrap();
            assert!((*e).is_null());
            free_values(e);
            assert_eq!(get_values(r0, b"sudoHost"), Err(libc::ENOENT));
            assert_eq!(get_values(&*(*res).rules.add(1), b"cn"), Err(libc::ENOENT));
            free_result(res);
            free_result(ptr::null_mut());
            free_values(ptr::null_mut());
        }
    }
}
