//! `-D`: fork into the background. The parent waits until the daemon reports that startup
//! succeeded (exit 0) or failed (exit 1). Must run before any thread is started.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// Held by the daemon: reports startup success to the waiting parent.
#[derive(Debug, Default)]
pub struct ReadyNotifier {
    pipe: Option<File>,
}

impl ReadyNotifier {
    /// A notifier that reports to nobody (foreground mode).
    pub fn none() -> Self {
        ReadyNotifier::default()
    }

    /// Startup succeeded: let the parent exit 0, and detach stderr from its terminal.
    pub fn ready(&mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(b"0");
            redirect_to_null(libc::STDERR_FILENO);
        }
    }
}

/// Redirects `fd` to `/dev/null`.
fn redirect_to_null(fd: i32) {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        // SAFETY: dup2 on two valid descriptors; `fd` is a standard stream we own.
        unsafe {
            libc::dup2(null.as_raw_fd(), fd);
        }
    }
}

/// Forks. In the parent this never returns: it exits 0 once the child calls
/// [`ReadyNotifier::ready`], or 1 if the child exits first. In the child it starts a new
/// session, moves to `/`, points stdin/stdout at `/dev/null` (stderr stays until ready, so
/// startup errors still reach the terminal) and returns the notifier.
pub fn daemonize() -> std::io::Result<ReadyNotifier> {
    let (read_end, write_end): (OwnedFd, OwnedFd) = nix::unistd::pipe()?;
    // SAFETY: documented precondition: the process is single-threaded here (no runtime yet).
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Parent { .. } => {
            drop(write_end);
            let mut status = [0u8; 1];
            let mut reader = File::from(read_end);
            let code = match reader.read(&mut status) {
                Ok(1) if status[0] == b'0' => 0,
                _ => 1,
            };
            std::process::exit(code);
        }
        nix::unistd::ForkResult::Child => {
            drop(read_end);
            nix::unistd::setsid()?;
            std::env::set_current_dir("/")?;
            redirect_to_null(libc::STDIN_FILENO);
            redirect_to_null(libc::STDOUT_FILENO);
            Ok(ReadyNotifier {
                pipe: Some(File::from(write_end)),
            })
        }
    }
}
