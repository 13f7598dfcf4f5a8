//! Linux-PAM constants (values from `<security/_pam_types.h>`).

/// Item types for `pam_get_item` / `pam_set_item`.
pub mod item {
    /// PAM_SERVICE.
    pub const SERVICE: i32 = 1;
    /// PAM_USER.
    pub const USER: i32 = 2;
    /// PAM_TTY.
    pub const TTY: i32 = 3;
    /// PAM_RHOST.
    pub const RHOST: i32 = 4;
    /// PAM_CONV.
    pub const CONV: i32 = 5;
    /// PAM_AUTHTOK.
    pub const AUTHTOK: i32 = 6;
    /// PAM_OLDAUTHTOK.
    pub const OLDAUTHTOK: i32 = 7;
    /// PAM_RUSER.
    pub const RUSER: i32 = 8;
}

/// Conversation message styles.
pub mod style {
    /// PAM_PROMPT_ECHO_OFF.
    pub const PROMPT_ECHO_OFF: i32 = 1;
    /// PAM_ERROR_MSG.
    pub const ERROR_MSG: i32 = 3;
    /// PAM_TEXT_INFO.
    pub const TEXT_INFO: i32 = 4;
}

/// PAM_PRELIM_CHECK flag of pam_sm_chauthtok.
pub const PRELIM_CHECK: i32 = 0x4000;
/// PAM_UPDATE_AUTHTOK flag of pam_sm_chauthtok.
pub const UPDATE_AUTHTOK: i32 = 0x2000;
/// PAM_DATA_REPLACE bit passed to data cleanup functions.
pub const DATA_REPLACE: i32 = 0x2000_0000;

/// Return codes.
pub mod code {
    /// PAM_SUCCESS.
    pub const SUCCESS: i32 = 0;
    /// PAM_SERVICE_ERR.
    pub const SERVICE_ERR: i32 = 3;
    /// PAM_SYSTEM_ERR.
    pub const SYSTEM_ERR: i32 = 4;
    /// PAM_BUF_ERR.
    pub const BUF_ERR: i32 = 5;
    /// PAM_PERM_DENIED.
    pub const PERM_DENIED: i32 = 6;
    /// PAM_AUTH_ERR.
    pub const AUTH_ERR: i32 = 7;
    /// PAM_CRED_INSUFFICIENT.
    pub const CRED_INSUFFICIENT: i32 = 8;
    /// PAM_AUTHINFO_UNAVAIL.
    pub const AUTHINFO_UNAVAIL: i32 = 9;
    /// PAM_USER_UNKNOWN.
    pub const USER_UNKNOWN: i32 = 10;
    /// PAM_NEW_AUTHTOK_REQD.
    pub const NEW_AUTHTOK_REQD: i32 = 12;
    /// PAM_ACCT_EXPIRED.
    pub const ACCT_EXPIRED: i32 = 13;
    /// PAM_CRED_ERR.
    pub const CRED_ERR: i32 = 17;
    /// PAM_NO_MODULE_DATA.
    pub const NO_MODULE_DATA: i32 = 18;
    /// PAM_CONV_ERR.
    pub const CONV_ERR: i32 = 19;
    /// PAM_AUTHTOK_ERR.
    pub const AUTHTOK_ERR: i32 = 20;
    /// PAM_IGNORE.
    pub const IGNORE: i32 = 25;
    /// PAM_BAD_ITEM.
    pub const BAD_ITEM: i32 = 29;

    /// A short description of a status for log lines.
    pub fn describe(status: i32) -> &'static str {
        match status {
            SUCCESS => "Success",
            SERVICE_ERR => "Error in service module",
            SYSTEM_ERR => "System error",
            BUF_ERR => "Memory buffer error",
            PERM_DENIED => "Permission denied",
            AUTH_ERR => "Authentication failure",
            CRED_INSUFFICIENT => "Insufficient credentials to access authentication data",
            AUTHINFO_UNAVAIL => "Authentication service cannot retrieve authentication info",
            USER_UNKNOWN => "User not known to the underlying authentication module",
            NEW_AUTHTOK_REQD => "Authentication token is no longer valid; new one required",
            ACCT_EXPIRED => "User account has expired",
            AUTHTOK_ERR => "Authentication token manipulation error",
            _ => "Unknown PAM error",
        }
    }
}
