//! A throwaway PostgreSQL cluster from the binaries on this machine.
//!
//! initdb runs once into a template data directory (~1.2 s); each cluster is a
//! copy of it (~0.2 s), listening only on a unix socket in its own directory,
//! with durability off. When we are root it runs as an unprivileged user,
//! because initdb refuses root. The watchdog stops it and deletes its
//! directory on drop, Ctrl-C, panic or kill; leftovers of a killed watchdog
//! are reaped at the next start.

use super::owner::{self, Liveness};
use super::watchdog::{Watchdog, shell_quote};
use super::{DbError, NAME_PREFIX};
use sqlx::postgres::PgConnectOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Settings that trade durability for speed: a throwaway cluster never
/// survives a crash anyway.
const FAST_SETTINGS: [&str; 6] = [
    "listen_addresses=",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
    "log_min_messages=warning",
];

pub struct LocalCluster {
    pub dir: PathBuf,
    pub version: String,
    watchdog: Watchdog,
}

/// Where PostgreSQL's server binaries are: `TOMBSTONE_PG_BIN`, else the
/// newest `/usr/lib/postgresql/*/bin`, else `initdb` on the PATH.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TOMBSTONE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
}

/// Root may not run PostgreSQL: pick the `postgres` user, else `nobody`.
fn unprivileged_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    ["postgres", "nobody"].iter().find_map(|name| {
        let name = std::ffi::CString::new(*name).ok()?;
        // SAFETY: a valid C string; the returned record is read at once,
        // before any other call could overwrite it.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        // SAFETY: checked for null first.
        (!entry.is_null()).then(|| unsafe { ((*entry).pw_uid, (*entry).pw_gid) })
    })
}

fn base_dir(user: Option<(u32, u32)>) -> Result<PathBuf, DbError> {
    let uid = user
        .map(|(uid, _)| uid)
        .unwrap_or_else(|| unsafe { libc::geteuid() });
    let base = std::env::temp_dir().join(format!("{NAME_PREFIX}local_{uid}"));
    std::fs::create_dir_all(&base)
        .map_err(|e| DbError::io(format!("creating {}", base.display()), e))?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&base, Some(uid), Some(gid))
            .map_err(|e| DbError::io(format!("chown {}", base.display()), e))?;
    }
    Ok(base)
}

fn run(command: &mut Command, what: &str) -> Result<String, DbError> {
    let output = command
        .output()
        .map_err(|e| DbError::io(what.to_string(), e))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(DbError::Unavailable(format!("{what} failed: {last}")));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

/// initdb into a private directory, then rename into place, so parallel
/// test processes racing to make the template never see half of one.
fn ensure_template(
    bin: &Path,
    base: &Path,
    major: &str,
    user: Option<(u32, u32)>,
) -> Result<PathBuf, DbError> {
    let template = base.join(format!("template-{major}"));
    if template.join("PG_VERSION").exists() {
        return Ok(template);
    }
    let scratch = base.join(format!("template-{major}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ])
        .arg(&scratch);
    run(as_user(&mut initdb, user), "initdb")?;
    if std::fs::rename(&scratch, &template).is_err() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(template)
}

static NEXT_CLUSTER: AtomicU32 = AtomicU32::new(0);

pub fn start(bin: &Path) -> Result<(LocalCluster, PgConnectOptions), DbError> {
    let user = unprivileged_user();
    let base = base_dir(user)?;
    reap(&base);
    let version = run(
        Command::new(bin.join("postgres")).arg("--version"),
        "postgres --version",
    )?;
    let major = version
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .unwrap_or("unknown")
        .to_string();
    let template = ensure_template(bin, &base, &major, user)?;
    let n = NEXT_CLUSTER.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("cluster-{}-{n}", std::process::id()));
    let data = dir.join("data");
    let settings: Vec<String> = FAST_SETTINGS
        .iter()
        .map(|s| format!("-c {}", shell_quote(s)))
        .collect();
    let start = format!(
        "mkdir -p {dir} && echo {owner} >{dir}/owner && cp -R {template} {data} && chmod 700 {data} || exit 1\n\
         {postgres} -D {data} -k {dir} {settings} >{dir}/postgres.log 2>&1 &\n\
         pg=$!; echo $pg >{dir}/postgres.pid",
        dir = shell_quote(&dir.display().to_string()),
        template = shell_quote(&template.display().to_string()),
        data = shell_quote(&data.display().to_string()),
        postgres = shell_quote(&bin.join("postgres").display().to_string()),
        settings = settings.join(" "),
        owner = shell_quote(&format!("{}:{}", owner::hostname(), std::process::id())),
    );
    let cleanup = format!(
        "kill -INT $pg 2>/dev/null; wait $pg; rm -rf {}",
        shell_quote(&dir.display().to_string())
    );
    let watchdog = Watchdog::spawn(&start, &cleanup, user)?;
    let options = PgConnectOptions::new()
        .socket(&dir)
        .port(5432)
        .username("postgres")
        .database("postgres");
    Ok((
        LocalCluster {
            dir,
            version,
            watchdog,
        },
        options,
    ))
}

impl LocalCluster {
    /// The last lines of the server's log, for errors about a server that
    /// never came up or went away.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        log.lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The postmaster's pid, for fault-injection tests that kill it; only
    /// while `/proc` shows it is this cluster's postmaster.
    pub fn postmaster_pid(&self) -> Option<i32> {
        verified_postmaster(&self.dir.join("data"))
    }
}

/// The pid in `data/postmaster.pid`, if that process is the postmaster of
/// `data`: after a crash the file may name a pid now used by anything else.
fn verified_postmaster(data: &Path) -> Option<i32> {
    let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
    owner::is_postmaster_of(pid, data)
        .then(|| i32::try_from(pid).ok())
        .flatten()
}

/// Who made a cluster directory: the `owner` file its start script writes,
/// else (older runs) the pid in its name, on this host.
fn cluster_owner(dir: &Path, name: &str) -> Option<(String, u32)> {
    let from_name = name.strip_prefix("cluster-")?;
    if let Ok(mark) = std::fs::read_to_string(dir.join("owner")) {
        return mark
            .trim()
            .rsplit_once(':')
            .and_then(|(host, pid)| Some((host.to_string(), pid.parse().ok()?)));
    }
    let pid = from_name.split('-').next()?;
    Some((owner::hostname(), pid.parse().ok()?))
}

/// Removes clusters whose owner is dead (a watchdog killed along with the
/// harness). Only `cluster-*` directories under our own base directory are
/// ever touched, and only a verified postmaster of that directory is ever
/// signalled.
fn reap(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some((host, pid)) = cluster_owner(&entry.path(), &name) else {
            continue;
        };
        if owner::liveness(&host, pid) != Liveness::Dead {
            continue;
        }
        if let Some(pid) = verified_postmaster(&entry.path().join("data")) {
            // SAFETY: kill(2) of a process /proc shows is this cluster's postmaster.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

impl LocalCluster {
    /// Whether the server may still come up: its watchdog waits and the
    /// postgres it started has not exited.
    pub(crate) fn may_come_up(&mut self) -> bool {
        let pid = std::fs::read_to_string(self.dir.join("postgres.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        self.watchdog.is_alive() && pid.is_none_or(owner::process_alive)
    }
}
