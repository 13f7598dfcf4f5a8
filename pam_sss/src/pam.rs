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

/// Return codes (the Linux-PAM statuses of [`sss_proto::pam::status`]).
pub mod code {
    pub use sss_proto::pam::status::*;

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
