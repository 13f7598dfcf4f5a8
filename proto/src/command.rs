//! Command numbers of `enum sss_cli_command` that this implementation speaks.

/// A client command code (the second word of the packet header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Command {
    /// Version negotiation; must be the first request on a connection.
    GetVersion = 0x0001,
    /// passwd by name.
    GetPwNam = 0x0011,
    /// passwd by uid.
    GetPwUid = 0x0012,
    /// Start a passwd enumeration.
    SetPwEnt = 0x0013,
    /// Next batch of a passwd enumeration.
    GetPwEnt = 0x0014,
    /// End a passwd enumeration.
    EndPwEnt = 0x0015,
    /// passwd by name with flags.
    GetPwNamEx = 0x0019,
    /// passwd by uid with flags.
    GetPwUidEx = 0x001A,
    /// group by name.
    GetGrNam = 0x0021,
    /// group by gid.
    GetGrGid = 0x0022,
    /// Start a group enumeration.
    SetGrEnt = 0x0023,
    /// Next batch of a group enumeration.
    GetGrEnt = 0x0024,
    /// End a group enumeration.
    EndGrEnt = 0x0025,
    /// Supplementary gids of a user.
    InitGr = 0x0026,
    /// group by name with flags.
    GetGrNamEx = 0x0029,
    /// group by gid with flags.
    GetGrGidEx = 0x002A,
    /// initgroups with flags.
    InitGrEx = 0x002E,
    /// A whole netgroup (SSSD serves no GETNETGRENT/ENDNETGRENT).
    SetNetgrent = 0x0061,
    /// Host by name (IPv4 callers).
    GetHostByName = 0x0051,
    /// Host by name (any family; the client filters).
    GetHostByName2 = 0x0052,
    /// Host by address.
    GetHostByAddr = 0x0053,
    /// Start a hosts enumeration.
    SetHostEnt = 0x0054,
    /// Next batch of a hosts enumeration.
    GetHostEnt = 0x0055,
    /// End a hosts enumeration.
    EndHostEnt = 0x0056,
    /// Network by name.
    GetNetByName = 0x0071,
    /// Network by address.
    GetNetByAddr = 0x0072,
    /// Start a networks enumeration.
    SetNetEnt = 0x0073,
    /// Next batch of a networks enumeration.
    GetNetEnt = 0x0074,
    /// End a networks enumeration.
    EndNetEnt = 0x0075,
    /// Service by name and protocol.
    GetServByName = 0x00A1,
    /// Service by port and protocol.
    GetServByPort = 0x00A2,
    /// Start a services enumeration.
    SetServEnt = 0x00A3,
    /// Next batch of a services enumeration.
    GetServEnt = 0x00A4,
    /// End a services enumeration.
    EndServEnt = 0x00A5,
    /// PAM authenticate.
    PamAuthenticate = 0x00F1,
    /// PAM setcred.
    PamSetCred = 0x00F2,
    /// PAM account management.
    PamAcctMgmt = 0x00F3,
    /// PAM open session.
    PamOpenSession = 0x00F4,
    /// PAM close session.
    PamCloseSession = 0x00F5,
    /// PAM change authentication token.
    PamChAuthTok = 0x00F6,
    /// PAM change authentication token, preliminary check.
    PamChAuthTokPrelim = 0x00F7,
    /// Renew a Kerberos ticket.
    CmdRenew = 0x00F8,
    /// PAM pre-authentication.
    PamPreAuth = 0x00F9,
}

impl Command {
    /// Every command this crate knows, for lookups and tests.
    pub const ALL: [Command; 43] = [
        Command::GetVersion,
        Command::GetPwNam,
        Command::GetPwUid,
        Command::SetPwEnt,
        Command::GetPwEnt,
        Command::EndPwEnt,
        Command::GetPwNamEx,
        Command::GetPwUidEx,
        Command::GetGrNam,
        Command::GetGrGid,
        Command::SetGrEnt,
        Command::GetGrEnt,
        Command::EndGrEnt,
        Command::InitGr,
        Command::GetGrNamEx,
        Command::GetGrGidEx,
        Command::InitGrEx,
        Command::SetNetgrent,
        Command::GetHostByName,
        Command::GetHostByName2,
        Command::GetHostByAddr,
        Command::SetHostEnt,
        Command::GetHostEnt,
        Command::EndHostEnt,
        Command::GetNetByName,
        Command::GetNetByAddr,
        Command::SetNetEnt,
        Command::GetNetEnt,
        Command::EndNetEnt,
        Command::GetServByName,
        Command::GetServByPort,
        Command::SetServEnt,
        Command::GetServEnt,
        Command::EndServEnt,
        Command::PamAuthenticate,
        Command::PamSetCred,
        Command::PamAcctMgmt,
        Command::PamOpenSession,
        Command::PamCloseSession,
        Command::PamChAuthTok,
        Command::PamChAuthTokPrelim,
        Command::CmdRenew,
        Command::PamPreAuth,
    ];

    /// The command for a wire code, if it is one we know.
    pub fn from_u32(code: u32) -> Option<Command> {
        Command::ALL.iter().copied().find(|c| *c as u32 == code)
    }

    /// The wire code.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// Protocol version the NSS responder speaks.
pub const NSS_PROTOCOL_VERSION: u32 = 1;
/// Protocol versions the PAM responder accepts, newest first.
pub const PAM_PROTOCOL_VERSIONS: [u32; 3] = [3, 2, 1];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Command::ALL {
            assert_eq!(Command::from_u32(c.code()), Some(c));
        }
        assert_eq!(Command::from_u32(0x0011), Some(Command::GetPwNam));
        assert_eq!(Command::from_u32(0x002E), Some(Command::InitGrEx));
        assert_eq!(Command::from_u32(0xFFFF), None);
    }
}
