//! A throwaway PostgreSQL cluster from the binaries on this machine.
//!
//! initdb runs once into a template data directory (~1.2 s); each cluster is a
//! copy of it (~0.2 s), listening only on a unix socket in its own directory,
//! with durability off. When we are root it runs as an unprivileged user,
//! because initdb refuses root. The watchdog stops it and deletes its
//! directory on drop, Ctrl-C, panic or kill; leftovers of a killed watchdog
//! are reaped at the next start.

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
        "mkdir -p {dir} && cp -R {template} {data} && chmod 700 {data} || exit 1\n\
         {postgres} -D {data} -k {dir} {settings} >{dir}/postgres.log 2>&1 &\n\
         pg=$!; echo $pg >{dir}/postgres.pid",
        dir = shell_quote(&dir.display().to_string()),
        template = shell_quote(&template.display().to_string()),
        data = shell_quote(&data.display().to_string()),
        postgres = shell_quote(&bin.join("postgres").display().to_string()),
        settings = settings.join(" "),
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

    /// The postmaster's pid, for fault-injection tests that kill it.
    pub fn postmaster_pid(&self) -> Option<i32> {
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        pid_file.lines().next()?.trim().parse().ok()
    }
}

/// Removes clusters whose owning process is gone (a watchdog killed along
/// with the harness). Only `cluster-<pid>-<n>` directories under our own base
/// directory are ever touched.
fn reap(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(owner) = name
            .strip_prefix("cluster-")
            .and_then(|r| r.split('-').next())
        else {
            continue;
        };
        let Ok(owner) = owner.parse::<i32>() else {
            continue;
        };
        if process_alive(owner) {
            continue;
        }
        let postmaster = std::fs::read_to_string(entry.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()));
        if let Some(pid) = postmaster.filter(|p| process_alive(*p)) {
            // SAFETY: plain kill(2) on a pid read from our own cluster's pid file.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() == libc::EPERM }
}

impl LocalCluster {
    /// Whether the server may still come up: its watchdog waits and the
    /// postgres it started has not exited.
    pub(crate) fn may_come_up(&mut self) -> bool {
        let pid = std::fs::read_to_string(self.dir.join("postgres.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        self.watchdog.is_alive() && pid.is_none_or(process_alive)
    }
}
