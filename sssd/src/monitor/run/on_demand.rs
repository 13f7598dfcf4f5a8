//! Responders started on demand: the monitor binds their sockets (as systemd's socket
//! units do) and starts the responder when a client waits on one.

use super::*;

/// The listening sockets of a responder the monitor starts when a client comes (sites
/// without a `services` line), as systemd's socket units do for SSSD.
pub(super) struct OnDemand {
    /// Public socket first (SSSD's order), with their paths and `LISTEN_FDNAMES`.
    pub(super) sockets: Vec<OwnedFd>,
    pub(super) paths: Vec<PathBuf>,
    pub(super) names: Vec<String>,
    /// Tells the watcher to look for the next client (the responder is not running).
    pub(super) rearm: Arc<Notify>,
}

impl Monitor {
    /// Binds the sockets of responder `name` and starts it when the first client comes;
    /// skipped when its binary is missing or systemd's socket unit is enabled (systemd
    /// then holds the sockets).
    pub(super) fn add_on_demand(&mut self, name: &str) -> Result<(), MonitorError> {
        let kind = ChildKind::Responder(name.to_string());
        let binary = self.opts.paths.libexec.join(kind.binary());
        if !binary.exists() {
            tracing::warn!("{} is not installed, not serving {name}", binary.display());
            return Ok(());
        }
        let unit = format!("sssd-{name}.socket");
        if Path::new(SYSTEMD_WANTS).join(&unit).exists() {
            tracing::info!("{unit} is enabled: systemd starts the {name} responder on demand");
            return Ok(());
        }
        let spawn_err = |what: &str, e: String| MonitorError::Spawn {
            what: format!("{what} socket of the on-demand {name} responder"),
            source: std::io::Error::other(e),
        };
        let public = ServerConfig::nss(match name {
            "pam" => self.opts.paths.pam_socket(),
            _ => self.opts.paths.nss_socket(),
        });
        let mut configs = vec![(public.clone(), unit)];
        if name == "pam" {
            let private = crate::service::pam_private_server(&public, &self.opts.paths);
            configs.push((private, format!("sssd-{name}-priv.socket")));
        }
        let (mut sockets, mut paths, mut names) = (Vec::new(), Vec::new(), Vec::new());
        for (cfg, unit) in configs {
            let listener =
                bind_socket(&cfg).map_err(|e| spawn_err("binding the", e.to_string()))?;
            let std_listener = listener
                .into_std()
                .map_err(|e| spawn_err("holding the", e.to_string()))?;
            sockets.push(OwnedFd::from(std_listener));
            paths.push(cfg.socket_path);
            names.push(unit);
        }
        let mut watched = Vec::new();
        for s in &sockets {
            let dup = s
                .try_clone()
                .map_err(|e| spawn_err("watching the", e.to_string()))?;
            // SAFETY: the OwnedFd is a valid descriptor, owned by the AsyncFd for its
            // whole life, and always returns the same number.
            let afd =
                unsafe { AsyncFd::register_with_interest(dup, tokio::io::Interest::READABLE) }
                    .map_err(|e| spawn_err("watching the", e.to_string()))?;
            watched.push(afd);
        }
        let rearm = Arc::new(Notify::new());
        rearm.notify_one();
        tracing::info!(
            "{name} responder starts on demand: listening on {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let sockets = OnDemand {
            sockets,
            paths,
            names,
            rearm: rearm.clone(),
        };
        self.children.push(Child::new(kind, Some(sockets)));
        let index = self.children.len() - 1;
        tokio::spawn(watch_sockets(index, watched, rearm, self.tx.clone()));
        Ok(())
    }
}

pub(super) const ON_DEMAND: [&str; 2] = ["nss", "pam"];
/// Where `systemctl enable sssd-nss.socket` links the socket units (`WantedBy=sssd.service`).
const SYSTEMD_WANTS: &str = "/etc/systemd/system/sssd.service.wants";

/// Whether the monitor serves the NSS and PAM sockets itself and starts their responders
/// on demand: when `services` (from `[sssd] services`) lists neither, as sites relying on
/// SSSD's socket activation configure it.
pub(super) fn wants_on_demand(services: &[String]) -> bool {
    !services.iter().any(|s| ON_DEMAND.contains(&s.as_str()))
}

/// Whether a client waits on `fd` (a listening socket), without blocking.
fn pending(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & libc::POLLIN != 0
}

/// Sends `Activate(index)` whenever a client waits on one of `sockets` after `rearm`.
async fn watch_sockets(
    index: usize,
    sockets: Vec<AsyncFd<OwnedFd>>,
    rearm: Arc<Notify>,
    tx: UnboundedSender<Event>,
) {
    pub(super) async fn readable(s: Option<&AsyncFd<OwnedFd>>) {
        match s {
            Some(s) => match s.readable().await {
                Ok(mut guard) => guard.clear_ready(),
                Err(e) => {
                    tracing::error!("watching an on-demand socket: {e}");
                    std::future::pending::<()>().await;
                }
            },
            None => std::future::pending::<()>().await,
        }
    }
    loop {
        rearm.notified().await;
        while !sockets.iter().any(|s| pending(s.get_ref().as_raw_fd())) {
            tokio::select! {
                () = readable(sockets.first()) => {}
                () = readable(sockets.get(1)) => {}
            }
        }
        if tx.send(Event::Activate(index)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn on_demand_only_without_nss_and_pam_in_services() {
        assert!(wants_on_demand(&[]));
        assert!(wants_on_demand(&["sudo".to_string()]));
        assert!(!wants_on_demand(&["nss".to_string()]));
        assert!(!wants_on_demand(&["pam".to_string(), "ssh".to_string()]));
    }
}
