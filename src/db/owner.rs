//! Who owns a database, container or cluster of ours, and whether that owner
//! is still alive: the one rule every backend's reaping follows.
//!
//! An owner is a host, a pid on it and a random run id. Only the host can
//! judge its own pids, so anything owned on another host is never reaped from
//! here; a pid we may not signal (EPERM) belongs to a live process of another
//! user. Must not know: SQL, Docker, where marks are stored.

use std::path::Path;

const MARK_PREFIX: &str = "tombstone-harness owner=";

/// One run of the harness: this host, this process, and a random id that
/// keeps names apart when two hosts (CI containers) reuse the same pid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    pub run: String,
}

/// What reaping may do with something an owner left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Dead,
    /// Owned on another host: not ours to judge, so it is kept.
    Elsewhere,
}

impl Owner {
    /// A fresh run of this process on this host.
    pub fn new_run() -> Owner {
        Owner {
            host: hostname(),
            pid: std::process::id(),
            run: format!("{:012x}", rand::random::<u64>() >> 16),
        }
    }

    /// The owner mark stored with what we create (a database comment).
    pub fn mark(&self) -> String {
        format!("{MARK_PREFIX}{}:{} run={}", self.host, self.pid, self.run)
    }

    /// Reads a mark back; marks without a run id (older runs) still parse.
    pub fn parse_mark(mark: &str) -> Option<Owner> {
        let rest = mark.strip_prefix(MARK_PREFIX)?;
        let (who, run) = match rest.split_once(" run=") {
            Some((who, run)) => (who, run.to_string()),
            None => (rest, String::new()),
        };
        let (host, pid) = who.rsplit_once(':')?;
        Some(Owner {
            host: host.to_string(),
            pid: pid.parse().ok()?,
            run,
        })
    }

    pub fn liveness(&self) -> Liveness {
        liveness(&self.host, self.pid)
    }
}

/// This machine's name, as containers and clusters of ours record it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Whether the owner `host:pid` is alive, as far as this host can tell.
pub fn liveness(host: &str, pid: u32) -> Liveness {
    if host != hostname() {
        Liveness::Elsewhere
    } else if process_alive(pid) {
        Liveness::Alive
    } else {
        Liveness::Dead
    }
}

/// Signal 0 checks existence only; EPERM means the process exists but
/// belongs to someone else, which is alive, not dead.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        // 0 and negative pids address process groups, never one owner.
        return false;
    }
    // SAFETY: kill(2) with signal 0 sends nothing.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether `pid` is a PostgreSQL postmaster serving `data_dir`, by its
/// `/proc` command line: a `postmaster.pid` left by a crash may name a pid
/// the kernel has since given to an unrelated process.
pub fn is_postmaster_of(pid: u32, data_dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let program = args
        .first()
        .map(|a| Path::new(std::str::from_utf8(a).unwrap_or("")));
    let is_postgres = program
        .and_then(|p| p.file_name())
        .is_some_and(|name| name == "postgres" || name == "postmaster");
    let data = data_dir.as_os_str().as_encoded_bytes();
    is_postgres && args.windows(2).any(|w| w[0] == b"-D" && w[1] == data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn marks_round_trip_and_old_marks_still_parse() {
        let owner = Owner::new_run();
        assert_eq!(owner.run.len(), 12);
        assert_eq!(Owner::parse_mark(&owner.mark()), Some(owner.clone()));
        let old = Owner::parse_mark("tombstone-harness owner=ci-7:42").unwrap();
        assert_eq!(
            (old.host.as_str(), old.pid, old.run.as_str()),
            ("ci-7", 42, "")
        );
        assert_eq!(Owner::parse_mark("a canary database"), None);
        assert_eq!(Owner::parse_mark("tombstone-harness owner=h:x"), None);
        assert_ne!(Owner::new_run().run, owner.run, "run ids are random");
    }

    #[test]
    fn liveness_is_judged_on_this_host_only() {
        let here = hostname();
        assert_eq!(liveness(&here, std::process::id()), Liveness::Alive);
        assert_eq!(liveness(&here, dead_pid()), Liveness::Dead);
        assert_eq!(liveness("another-host", dead_pid()), Liveness::Elsewhere);
        assert_eq!(liveness(&here, 0), Liveness::Dead);
    }

    #[test]
    fn a_process_of_another_user_is_alive() {
        // pid 1 belongs to root: unprivileged, signal 0 fails with EPERM; as
        // root it succeeds. Alive either way.
        assert!(process_alive(1));
    }

    #[test]
    fn only_a_postmaster_of_that_directory_counts() {
        let own = std::process::id();
        assert!(!is_postmaster_of(own, Path::new("/tmp")));
        assert!(!is_postmaster_of(dead_pid(), Path::new("/tmp")));
    }
}
