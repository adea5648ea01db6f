//! One cleanup path for everything the harness starts outside itself.
//!
//! A watchdog is a `sh` in its own process group whose standard input is a
//! pipe only we hold. It runs its cleanup when that pipe closes, which happens
//! on `Drop`, on a panic that unwinds, on Ctrl-C and even on SIGKILL of the
//! harness: the kernel closes the pipe for us. Servers kept in a `static` (one
//! per test binary) are never dropped, so this is also how they go away.

use super::DbError;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct Watchdog {
    stdin: Option<ChildStdin>,
    child: Child,
}

impl Watchdog {
    /// Runs `start` now, then `cleanup` once the harness lets go or dies.
    /// `as_user` runs both as that (uid, gid), e.g. an unprivileged user for a
    /// PostgreSQL cluster, which refuses to run as root.
    pub fn spawn(
        start: &str,
        cleanup: &str,
        as_user: Option<(u32, u32)>,
    ) -> Result<Watchdog, DbError> {
        // `cat` returns when the pipe closes (and only then: a shell's `read`
        // also returns when a background child such as the postmaster
        // exits, which would delete a cluster an operator is restarting);
        // the cleanup runs whatever the reason. INT and TERM are ignored so a
        // terminal's Ctrl-C or a test runner's kill reaches the harness, not
        // the cleanup half-way.
        let script = format!("trap '' INT TERM HUP\n{start}\ncat >/dev/null\n{cleanup}\n");
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0);
        if let Some((uid, gid)) = as_user {
            command.uid(uid).gid(gid);
        }
        let mut child = command
            .spawn()
            .map_err(|e| DbError::io("starting the watchdog shell", e))?;
        let stdin = child.stdin.take();
        Ok(Watchdog { stdin, child })
    }

    /// Whether the watchdog's shell is still waiting (its start part may have
    /// failed and exited early).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Quotes a value for `sh`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
