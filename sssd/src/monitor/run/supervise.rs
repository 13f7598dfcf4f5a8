//! The steady state: exits and restarts, registrations, signals relayed to the
//! children, and the shutdown.

use super::*;

impl Monitor {
    /// The steady state: restart children, relay signals, until told to stop.
    pub(super) async fn supervise(&mut self) -> Result<(), MonitorError> {
        loop {
            let event = self.rx.recv().await;
            match self.handle(event) {
                Flow::Continue => {}
                Flow::Stop => return Ok(()),
                Flow::Fail(e) => return Err(e),
            }
        }
    }

    /// Starts child `index` unless the monitor is shutting down; a failure to start counts
    /// against its restart policy.
    pub(super) fn start_unless_stopping(&mut self, index: usize) -> Flow {
        if self.shutting_down {
            return Flow::Continue;
        }
        match self.start_child(index) {
            Ok(()) => Flow::Continue,
            Err(e) => {
                tracing::error!("{e}");
                self.child_failed(index)
            }
        }
    }

    pub(super) fn handle(&mut self, event: Option<Event>) -> Flow {
        let Some(event) = event else {
            return Flow::Stop;
        };
        match event {
            Event::Exited {
                index,
                pid,
                status,
                success,
            } => self.exited(index, pid, &status, success),
            Event::Activate(index) => self.start_unless_stopping(index),
            Event::Respawn(_) if self.shutting_down => Flow::Continue,
            Event::Respawn(index) => {
                // An on-demand responder starts again when the next client comes.
                if let Some(od) = self.children.get(index).and_then(|c| c.on_demand.as_ref()) {
                    od.rearm.notify_one();
                    return Flow::Continue;
                }
                self.start_unless_stopping(index)
            }
            Event::Registered(name) => {
                let running = |c: &&mut Child| c.registration_name_is(&name) && c.pid.is_some();
                let unregistered = self.children.iter().position(|c| {
                    c.registration_name_is(&name) && c.pid.is_some() && !c.registered
                });
                let found = match unregistered {
                    Some(i) => self.children.get_mut(i),
                    None => self.children.iter_mut().find(running),
                };
                match found {
                    Some(c) => {
                        c.registered = true;
                        tracing::info!("{} registered", c.kind.describe());
                    }
                    // Started by systemd from its socket units (`--socket-activated`).
                    None if KNOWN_RESPONDERS.contains(&name.as_str()) => {
                        tracing::info!(
                            "{name} responder registered (started outside the monitor, \
                             socket-activated)"
                        );
                        let kind = ChildKind::Responder(name);
                        if !self.external.contains(&kind) {
                            self.external.push(kind);
                        }
                    }
                    None => tracing::warn!("RegisterService from unexpected service {name:?}"),
                }
                Flow::Continue
            }
            Event::Signal(MonitorSignal::Terminate) => {
                tracing::info!("terminating on signal");
                Flow::Stop
            }
            Event::Signal(sig) => {
                if sig == MonitorSignal::Hangup {
                    crate::logging::reopen();
                }
                self.relay(sig);
                Flow::Continue
            }
        }
    }

    pub(super) fn exited(&mut self, index: usize, pid: u32, status: &str, success: bool) -> Flow {
        let Some(child) = self.children.get_mut(index) else {
            return Flow::Continue;
        };
        if child.pid != Some(pid) {
            return Flow::Continue;
        }
        child.pid = None;
        child.registered = false;
        if self.shutting_down {
            tracing::info!(
                "{} (process {pid}) stopped: {status}",
                child.kind.describe()
            );
            return Flow::Continue;
        }
        if let Some(od) = &child.on_demand
            && success
        {
            tracing::info!(
                "{} (process {pid}) exited when idle; it starts again with the next client",
                child.kind.describe()
            );
            od.rearm.notify_one();
            return Flow::Continue;
        }
        tracing::warn!("{} (process {pid}) exited: {status}", child.kind.describe());
        self.child_failed(index)
    }

    /// Applies the restart policy to child `index`, which just failed.
    pub(super) fn child_failed(&mut self, index: usize) -> Flow {
        let Some(child) = self.children.get_mut(index) else {
            return Flow::Continue;
        };
        match child.policy.on_exit(Instant::now()) {
            Decision::Restart(delay) => {
                tracing::info!(
                    "restarting {} in {} s",
                    child.kind.describe(),
                    delay.as_secs()
                );
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(Event::Respawn(index));
                });
                Flow::Continue
            }
            Decision::GiveUp => {
                let what = child.kind.describe();
                if !matches!(child.kind, ChildKind::Backend(_)) {
                    return Flow::Fail(MonitorError::GaveUp(what));
                }
                child.gave_up = true;
                let alive = self
                    .children
                    .iter()
                    .any(|c| matches!(c.kind, ChildKind::Backend(_)) && !c.gave_up);
                if !alive {
                    return Flow::Fail(MonitorError::GaveUp(what));
                }
                tracing::error!(
                    "{what} failed too often and stays down until sssd restarts; \
                     the other domains are served"
                );
                Flow::Continue
            }
        }
    }

    /// Sends the `sssd.service` calls for `sig`, each in its own task.
    pub(super) fn relay(&self, sig: MonitorSignal) {
        let kinds: Vec<ChildKind> = self
            .children
            .iter()
            .filter(|c| !c.gave_up && (c.on_demand.is_none() || c.pid.is_some()))
            .map(|c| c.kind.clone())
            .collect();
        let external: Vec<String> = self.external.iter().map(ChildKind::bus_name).collect();
        let mut plan = relay_plan(sig, &kinds);
        plan.extend(relay_plan(sig, &self.external));
        for (dest, method) in plan {
            let bus = self.bus.clone();
            let only_if_running = external.contains(&dest);
            tokio::spawn(async move {
                // One started by systemd may have exited when idle.
                if only_if_running && !matches!(sbus::name_has_owner(&bus, &dest).await, Ok(true)) {
                    return;
                }
                match sbus::call_service(&bus, &dest, method, RELAY_TIMEOUT).await {
                    Ok(()) => tracing::debug!("{} sent to {dest}", method.member()),
                    Err(e) => tracing::warn!("{} to {dest} failed: {e}", method.member()),
                }
            });
        }
    }

    /// SIGTERM to every child's process group, wait (bounded), SIGKILL what is left.
    pub(super) async fn shutdown(&mut self) {
        self.shutting_down = true;
        for child in &self.children {
            if let Some(pid) = child.pid {
                children::signal_group(pid, Signal::SIGTERM);
            }
        }
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        while self.children.iter().any(|c| c.pid.is_some()) {
            tokio::select! {
                ev = self.rx.recv() => {
                    match ev {
                        Some(Event::Exited { index, pid, status, success }) => {
                            self.exited(index, pid, &status, success);
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        for child in &self.children {
            if let Some(pid) = child.pid {
                tracing::warn!(
                    "{} (process {pid}) ignored SIGTERM for {} s, killing it",
                    child.kind.describe(),
                    STOP_TIMEOUT.as_secs()
                );
                children::signal_group(pid, Signal::SIGKILL);
            }
        }
    }
}
