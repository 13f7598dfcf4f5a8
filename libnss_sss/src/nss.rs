//! Where single lookups are answered from: the memory cache first, then the responder.

use crate::client::Client;
use crate::env;
use crate::mc::{self, MemCache};
use crate::status::NssError;

#[derive(Debug, Clone, Copy)]
enum ClientSource<'a> {
    Given(&'a Client),
    /// Built from the environment only when the responder is needed, so cache hits read no
    /// socket variable and allocate nothing.
    FromEnv,
}

/// The memory cache (optional) and the responder client of a lookup.
#[derive(Debug, Clone, Copy)]
pub struct Nss<'a> {
    mc: Option<&'a MemCache>,
    client: ClientSource<'a>,
}

impl<'a> Nss<'a> {
    /// Lookups through `mc` (if any), then `client`.
    pub fn new(mc: Option<&'a MemCache>, client: &'a Client) -> Nss<'a> {
        Nss {
            mc,
            client: ClientSource::Given(client),
        }
    }

    /// The memory cache only consulted if given; `client` otherwise.
    pub fn socket_only(client: &'a Client) -> Nss<'a> {
        Nss::new(None, client)
    }

    /// What the exported entry points use: the system cache, then the responder the
    /// environment names.
    pub fn system() -> Nss<'static> {
        Nss {
            mc: Some(&mc::SYSTEM),
            client: ClientSource::FromEnv,
        }
    }

    /// The memory cache, if lookups use one.
    pub fn mc(&self) -> Option<&'a MemCache> {
        self.mc
    }

    /// Runs `f` with the responder client, unless `_SSS_LOOPS=NO` forbids asking SSSD
    /// ([`NssError::LoopsDisabled`]; SSSD checks it only before the socket, after its cache).
    pub fn with_client<T>(
        &self,
        f: impl FnOnce(&Client) -> Result<T, NssError>,
    ) -> Result<T, NssError> {
        if env::loops_disabled() {
            return Err(NssError::LoopsDisabled);
        }
        match self.client {
            ClientSource::Given(c) => f(c),
            ClientSource::FromEnv => f(&Client::from_env()),
        }
    }
}
