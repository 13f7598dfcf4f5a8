//! Raw MIT libkrb5 declarations (libkrb5-dev 1.20, x86_64/aarch64 LP64 layouts).
//!
//! Only what the helpers call. Opaque handles are pointers to zero-sized structs; the two
//! structures we allocate ourselves (`krb5_creds`, `krb5_data`) are laid out as in krb5.h.

#![allow(non_camel_case_types)]

use libc::{c_char, c_int, c_long, c_uint, c_void};

/// `krb5_error_code`.
pub type krb5_error_code = i32;
/// `krb5_deltat`.
pub type krb5_deltat = i32;
/// `krb5_timestamp`.
pub type krb5_timestamp = i32;

/// Opaque `struct _krb5_context`.
#[repr(C)]
pub struct krb5_context_data {
    _private: [u8; 0],
}
/// Opaque `krb5_principal_data`.
#[repr(C)]
pub struct krb5_principal_data {
    _private: [u8; 0],
}
/// Opaque `struct _krb5_ccache`.
#[repr(C)]
pub struct krb5_ccache_data {
    _private: [u8; 0],
}
/// Opaque `struct _krb5_kt`.
#[repr(C)]
pub struct krb5_keytab_data {
    _private: [u8; 0],
}
/// Opaque `krb5_get_init_creds_opt`.
#[repr(C)]
pub struct krb5_get_init_creds_opt {
    _private: [u8; 0],
}

/// `krb5_context`.
pub type krb5_context = *mut krb5_context_data;
/// `krb5_principal`.
pub type krb5_principal = *mut krb5_principal_data;
/// `krb5_ccache`.
pub type krb5_ccache = *mut krb5_ccache_data;
/// `krb5_keytab`.
pub type krb5_keytab = *mut krb5_keytab_data;

/// `krb5_data` (16 bytes on LP64).
#[repr(C)]
pub struct krb5_data {
    /// Magic.
    pub magic: i32,
    /// Length of `data`.
    pub length: c_uint,
    /// Bytes.
    pub data: *mut c_char,
}

/// `krb5_keyblock`.
#[repr(C)]
pub struct krb5_keyblock {
    magic: i32,
    enctype: i32,
    length: c_uint,
    contents: *mut u8,
}

/// `krb5_keytab_entry` (48 bytes on LP64): one key of a keytab, read by
/// `krb5_kt_next_entry` and emptied (its key wiped) by `krb5_free_keytab_entry_contents`.
#[repr(C)]
pub struct krb5_keytab_entry {
    magic: i32,
    /// The key's principal.
    pub principal: krb5_principal,
    timestamp: krb5_timestamp,
    vno: c_uint,
    key: krb5_keyblock,
}

const _: () = assert!(std::mem::size_of::<krb5_keytab_entry>() == 48);

/// `krb5_kt_cursor`.
pub type krb5_kt_cursor = *mut c_void;

/// `krb5_ticket_times`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct krb5_ticket_times {
    /// Time of the initial authentication.
    pub authtime: krb5_timestamp,
    /// Start time.
    pub starttime: krb5_timestamp,
    /// End time.
    pub endtime: krb5_timestamp,
    /// Renewable until.
    pub renew_till: krb5_timestamp,
}

/// `krb5_creds` (120 bytes on LP64).
#[repr(C)]
pub struct krb5_creds {
    magic: i32,
    client: krb5_principal,
    server: krb5_principal,
    keyblock: krb5_keyblock,
    /// Ticket times.
    pub times: krb5_ticket_times,
    is_skey: u32,
    ticket_flags: i32,
    addresses: *mut c_void,
    ticket: krb5_data,
    second_ticket: krb5_data,
    authdata: *mut c_void,
}

const _: () = assert!(std::mem::size_of::<krb5_creds>() == 120);
const _: () = assert!(std::mem::size_of::<krb5_data>() == 16);

/// `krb5_verify_init_creds_opt`.
#[repr(C)]
pub struct krb5_verify_init_creds_opt {
    /// Which fields are set.
    pub flags: i32,
    /// Fail when the keytab has no usable key.
    pub ap_req_nofail: c_int,
}

/// `KRB5_PRINCIPAL_PARSE_ENTERPRISE`: parse the name as an enterprise principal.
pub const KRB5_PRINCIPAL_PARSE_ENTERPRISE: c_int = 0x4;

/// `krb5_prompter_fct` (we never pass one).
pub type krb5_prompter_fct = Option<unsafe extern "C" fn()>;

/// `profile_t` (an opaque profile handle).
pub type profile_t = *mut c_void;

unsafe extern "C" {
    pub fn krb5_init_context(ctx: *mut krb5_context) -> krb5_error_code;
    pub fn profile_init_path(filepath: *const c_char, ret_profile: *mut profile_t) -> c_long;
    pub fn profile_release(profile: profile_t);
    pub fn krb5_init_context_profile(
        profile: profile_t,
        flags: i32,
        ctx: *mut krb5_context,
    ) -> krb5_error_code;
    pub fn krb5_free_context(ctx: krb5_context);
    pub fn krb5_get_error_message(ctx: krb5_context, code: krb5_error_code) -> *const c_char;
    pub fn krb5_free_error_message(ctx: krb5_context, msg: *const c_char);

    pub fn krb5_parse_name(
        ctx: krb5_context,
        name: *const c_char,
        out: *mut krb5_principal,
    ) -> krb5_error_code;
    pub fn krb5_parse_name_flags(
        ctx: krb5_context,
        name: *const c_char,
        flags: c_int,
        out: *mut krb5_principal,
    ) -> krb5_error_code;
    pub fn krb5_cc_get_principal(
        ctx: krb5_context,
        cc: krb5_ccache,
        out: *mut krb5_principal,
    ) -> krb5_error_code;
    pub fn krb5_get_renewed_creds(
        ctx: krb5_context,
        creds: *mut krb5_creds,
        client: krb5_principal,
        cc: krb5_ccache,
        in_tkt_service: *const c_char,
    ) -> krb5_error_code;
    pub fn krb5_unparse_name(
        ctx: krb5_context,
        p: krb5_principal,
        out: *mut *mut c_char,
    ) -> krb5_error_code;
    pub fn krb5_free_unparsed_name(ctx: krb5_context, s: *mut c_char);
    pub fn krb5_free_principal(ctx: krb5_context, p: krb5_principal);
    pub fn krb5_sname_to_principal(
        ctx: krb5_context,
        hostname: *const c_char,
        sname: *const c_char,
        kind: i32,
        out: *mut krb5_principal,
    ) -> krb5_error_code;
    pub fn krb5_string_to_deltat(s: *mut c_char, out: *mut krb5_deltat) -> krb5_error_code;

    pub fn krb5_get_init_creds_opt_alloc(
        ctx: krb5_context,
        opt: *mut *mut krb5_get_init_creds_opt,
    ) -> krb5_error_code;
    pub fn krb5_get_init_creds_opt_free(ctx: krb5_context, opt: *mut krb5_get_init_creds_opt);
    pub fn krb5_get_init_creds_opt_set_tkt_life(
        opt: *mut krb5_get_init_creds_opt,
        life: krb5_deltat,
    );
    pub fn krb5_get_init_creds_opt_set_renew_life(
        opt: *mut krb5_get_init_creds_opt,
        life: krb5_deltat,
    );
    pub fn krb5_get_init_creds_opt_set_canonicalize(
        opt: *mut krb5_get_init_creds_opt,
        canonicalize: c_int,
    );
    pub fn krb5_get_init_creds_opt_set_forwardable(
        opt: *mut krb5_get_init_creds_opt,
        forwardable: c_int,
    );
    pub fn krb5_get_init_creds_opt_set_proxiable(
        opt: *mut krb5_get_init_creds_opt,
        proxiable: c_int,
    );

    pub fn krb5_get_init_creds_password(
        ctx: krb5_context,
        creds: *mut krb5_creds,
        client: krb5_principal,
        password: *const c_char,
        prompter: krb5_prompter_fct,
        data: *mut c_void,
        start_time: krb5_deltat,
        in_tkt_service: *const c_char,
        opt: *mut krb5_get_init_creds_opt,
    ) -> krb5_error_code;
    pub fn krb5_get_init_creds_keytab(
        ctx: krb5_context,
        creds: *mut krb5_creds,
        client: krb5_principal,
        keytab: krb5_keytab,
        start_time: krb5_deltat,
        in_tkt_service: *const c_char,
        opt: *mut krb5_get_init_creds_opt,
    ) -> krb5_error_code;
    pub fn krb5_free_cred_contents(ctx: krb5_context, creds: *mut krb5_creds);

    pub fn krb5_verify_init_creds_opt_init(opt: *mut krb5_verify_init_creds_opt);
    pub fn krb5_verify_init_creds_opt_set_ap_req_nofail(
        opt: *mut krb5_verify_init_creds_opt,
        nofail: c_int,
    );
    pub fn krb5_verify_init_creds(
        ctx: krb5_context,
        creds: *mut krb5_creds,
        server: krb5_principal,
        keytab: krb5_keytab,
        ccache: *mut krb5_ccache,
        opt: *mut krb5_verify_init_creds_opt,
    ) -> krb5_error_code;

    pub fn krb5_kt_resolve(
        ctx: krb5_context,
        name: *const c_char,
        out: *mut krb5_keytab,
    ) -> krb5_error_code;
    pub fn krb5_kt_default(ctx: krb5_context, out: *mut krb5_keytab) -> krb5_error_code;
    pub fn krb5_kt_close(ctx: krb5_context, kt: krb5_keytab) -> krb5_error_code;
    pub fn krb5_kt_start_seq_get(
        ctx: krb5_context,
        kt: krb5_keytab,
        cursor: *mut krb5_kt_cursor,
    ) -> krb5_error_code;
    pub fn krb5_kt_next_entry(
        ctx: krb5_context,
        kt: krb5_keytab,
        entry: *mut krb5_keytab_entry,
        cursor: *mut krb5_kt_cursor,
    ) -> krb5_error_code;
    pub fn krb5_kt_end_seq_get(
        ctx: krb5_context,
        kt: krb5_keytab,
        cursor: *mut krb5_kt_cursor,
    ) -> krb5_error_code;
    pub fn krb5_free_keytab_entry_contents(
        ctx: krb5_context,
        entry: *mut krb5_keytab_entry,
    ) -> krb5_error_code;

    pub fn krb5_cc_resolve(
        ctx: krb5_context,
        name: *const c_char,
        out: *mut krb5_ccache,
    ) -> krb5_error_code;
    pub fn krb5_cc_initialize(
        ctx: krb5_context,
        cc: krb5_ccache,
        principal: krb5_principal,
    ) -> krb5_error_code;
    pub fn krb5_cc_store_cred(
        ctx: krb5_context,
        cc: krb5_ccache,
        creds: *mut krb5_creds,
    ) -> krb5_error_code;
    pub fn krb5_cc_close(ctx: krb5_context, cc: krb5_ccache) -> krb5_error_code;

    pub fn krb5_change_password(
        ctx: krb5_context,
        creds: *mut krb5_creds,
        newpw: *const c_char,
        result_code: *mut c_int,
        result_code_string: *mut krb5_data,
        result_string: *mut krb5_data,
    ) -> krb5_error_code;
    pub fn krb5_free_data_contents(ctx: krb5_context, data: *mut krb5_data);
}
