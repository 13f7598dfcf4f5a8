//! Startup: the backends, then the responders, each waited for until it registers.

use super::on_demand::{ON_DEMAND, wants_on_demand};
use super::*;

impl Monitor {
    /// Starts backends, then responders; `Ok(false)` when a signal stopped startup.
    pub(super) async fn startup(
        &mut self,
        domains: Vec<String>,
        services: Vec<String>,
        notifier: &mut ReadyNotifier,
    ) -> Result<bool, MonitorError> {
        for domain in domains {
            self.add_child(ChildKind::Backend(domain))?;
        }
        if !self.wait_registered().await? {
            return Ok(false);
        }
        let on_demand = wants_on_demand(&services);
        for service in services {
            if !KNOWN_RESPONDERS.contains(&service.as_str()) {
                tracing::warn!("[sssd] services: {service:?} is not supported, skipping it");
                continue;
            }
            let kind = ChildKind::Responder(service);
            let binary = self.opts.paths.libexec.join(kind.binary());
            if !binary.exists() {
                tracing::warn!(
                    "{} is not installed, skipping the {}",
                    binary.display(),
                    kind.describe()
                );
                continue;
            }
            self.add_child(kind)?;
        }
        if on_demand {
            for r in ON_DEMAND {
                self.add_on_demand(r)?;
            }
        }
        if !self.wait_registered().await? {
            return Ok(false);
        }
        pidfile::write(&self.opts.paths.pidfile)?;
        tracing::info!("sssd started: {} children running", self.children.len());
        notifier.ready();
        super::super::sd_notify::ready();
        Ok(true)
    }

    pub(super) fn add_child(&mut self, kind: ChildKind) -> Result<(), MonitorError> {
        self.children.push(Child::new(kind, None));
        let index = self.children.len() - 1;
        self.start_child(index)
            .map_err(|source| MonitorError::Spawn {
                what: self.children[index].kind.describe(),
                source,
            })
    }
    pub(super) fn start_child(&mut self, index: usize) -> std::io::Result<()> {
        let Some(child) = self.children.get_mut(index) else {
            return Ok(());
        };
        if child.pid.is_some() {
            return Ok(());
        }
        let mut process = match &child.on_demand {
            Some(od) => {
                let fds: Vec<RawFd> = od.sockets.iter().map(AsRawFd::as_raw_fd).collect();
                children::spawn_activated(&child.kind, &self.opts, &fds, &od.names)?
            }
            None => children::spawn(&child.kind, &self.opts)?,
        };
        let pid = process.id().unwrap_or(0);
        child.pid = Some(pid);
        child.registered = false;
        child.policy.started(Instant::now());
        tracing::info!("started {} as process {pid}", child.kind.describe());
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let (status, success) = match process.wait().await {
                Ok(s) => (s.to_string(), s.success()),
                Err(e) => (format!("wait failed: {e}"), false),
            };
            let _ = tx.send(Event::Exited {
                index,
                pid,
                status,
                success,
            });
        });
        Ok(())
    }

    /// Waits until every child registered; `Ok(false)` on SIGTERM/SIGINT.
    pub(super) async fn wait_registered(&mut self) -> Result<bool, MonitorError> {
        let deadline = tokio::time::Instant::now() + REGISTER_TIMEOUT;
        let owner_counts_from = tokio::time::Instant::now() + OWNER_GRACE;
        let mut poll = tokio::time::interval(OWNER_POLL);
        loop {
            if self.children.iter().all(Child::ready) {
                return Ok(true);
            }
            let event = tokio::select! {
                ev = self.rx.recv() => ev,
                _ = poll.tick() => {
                    if tokio::time::Instant::now() >= owner_counts_from {
                        self.check_owned_names().await;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let missing: Vec<&Child> = self
                        .children
                        .iter()
                        .filter(|c| !c.ready())
                        .collect();
                    // Backends still being restarted do not hold up the domains that run.
                    let backend = |c: &Child| matches!(c.kind, ChildKind::Backend(_));
                    let one_runs = self.children.iter().any(|c| backend(c) && c.registered);
                    if one_runs && missing.iter().all(|c| backend(c)) {
                        for c in missing {
                            tracing::error!(
                                "{} did not register within {} s; starting without it \
                                 (it is restarted as long as the restart policy allows)",
                                c.kind.describe(),
                                REGISTER_TIMEOUT.as_secs()
                            );
                        }
                        return Ok(true);
                    }
                    let missing: Vec<String> =
                        missing.iter().map(|c| c.kind.describe()).collect();
                    return Err(MonitorError::StartupTimeout(
                        missing.join(", "),
                        REGISTER_TIMEOUT.as_secs(),
                    ));
                }
            };
            match self.handle(event) {
                Flow::Continue => {}
                Flow::Stop => return Ok(false),
                Flow::Fail(e) => return Err(e),
            }
        }
    }

    /// Counts a child that owns its bus name as registered, for children that do not call
    /// `RegisterService` (after [`OWNER_GRACE`]).
    pub(super) async fn check_owned_names(&mut self) {
        for child in self.children.iter_mut() {
            if child.registered || child.pid.is_none() {
                continue;
            }
            if let Ok(true) = sbus::name_has_owner(&self.bus, &child.kind.bus_name()).await {
                child.registered = true;
                tracing::info!("{} owns {}", child.kind.describe(), child.kind.bus_name());
            }
        }
    }
}
