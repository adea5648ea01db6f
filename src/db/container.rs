//! PostgreSQL in a container started by testcontainers.
//!
//! The image is chosen by name (default the official `postgres:15`; our
//! Makefile builds an equivalent one from Debian's packages where no registry
//! is reachable). Readiness is a real query, never a log line (the official
//! image prints "ready" twice, testcontainers-rs #674). Every container is
//! labelled with its owner; the watchdog removes it however we exit, and the
//! next start reaps those whose owner process is gone.

use super::DbError;
use super::owner::{self, Liveness};
use super::watchdog::{Watchdog, shell_quote};
use sqlx::postgres::PgConnectOptions;
use std::mem::ManuallyDrop;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

pub const DEFAULT_IMAGE: &str = "postgres:15";
pub const OWNER_LABEL: &str = "org.tombstone-harness.owner";
/// Unique per server, so one server's watchdog removes only its container.
pub const SERVER_LABEL: &str = "org.tombstone-harness.server";

static NEXT_SERVER: AtomicU32 = AtomicU32::new(0);

pub struct Container {
    pub id: String,
    pub image: String,
    // Never dropped: testcontainers' drop needs a live tokio runtime, and the
    // watchdog is our one removal path for every way of exiting.
    _handle: ManuallyDrop<ContainerAsync<GenericImage>>,
    _watchdog: Watchdog,
}

fn docker(args: &[&str]) -> Option<String> {
    let output = Command::new("timeout")
        .arg("20")
        .arg("docker")
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Whether a Docker daemon answers at all.
pub fn docker_answers() -> bool {
    docker(&["info", "--format", "{{.ServerVersion}}"]).is_some_and(|v| !v.is_empty())
}

pub fn image_present(image: &str) -> bool {
    docker(&["image", "inspect", "--format", "{{.Id}}", image]).is_some()
}

/// `registry:5000/name:tag` → (`registry:5000/name`, `tag`).
fn split_image(image: &str) -> (String, String) {
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].rfind(':') {
        Some(colon) => (
            image[..slash + colon].to_string(),
            image[slash + colon + 1..].to_string(),
        ),
        None => (image.to_string(), "latest".to_string()),
    }
}

pub async fn start(image: &str) -> Result<(Container, PgConnectOptions), DbError> {
    if !docker_answers() {
        return Err(DbError::Unavailable(
            "--pg container: no Docker daemon answers (is dockerd running and is the docker CLI installed?)".into(),
        ));
    }
    reap();
    let owner = format!("{}:{}", owner::hostname(), std::process::id());
    let server = format!("{owner}:{}", NEXT_SERVER.fetch_add(1, Ordering::Relaxed));
    // The watchdog exists before the container does, so a harness killed
    // while it starts still has its container removed (by label; the
    // second pass catches a creation that was still in flight).
    let filter = shell_quote(&format!("label={SERVER_LABEL}={server}"));
    let remove =
        format!("docker ps -aq --filter {filter} | xargs -r docker rm -f -v >/dev/null 2>&1");
    let watchdog = Watchdog::spawn("", &format!("{remove}; sleep 1; {remove}"), None)?;
    let (name, tag) = split_image(image);
    let request = GenericImage::new(name, tag)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::Nothing)
        .with_env_var("POSTGRES_PASSWORD", "postgres")
        .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
        .with_label(OWNER_LABEL, owner)
        .with_label(SERVER_LABEL, server)
        .with_cmd([
            "postgres",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]);
    let handle = request.start().await.map_err(|e| {
        let hint = if image_present(image) {
            String::new()
        } else {
            format!(" (image {image} is not present and could not be pulled: run `make pg-image` or set TOMBSTONE_PG_IMAGE)")
        };
        DbError::Unavailable(format!("--pg container: starting {image} failed: {}{hint}", one_line(&e.to_string())))
    })?;
    let id = handle.id().to_string();
    let port = handle
        .get_host_port_ipv4(5432)
        .await
        .map_err(|e| DbError::Unavailable(format!("--pg container: no port for 5432: {e}")))?;
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .password("postgres")
        .database("postgres");
    let container = Container {
        id,
        image: image.to_string(),
        _handle: ManuallyDrop::new(handle),
        _watchdog: watchdog,
    };
    Ok((container, options))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes containers of ours (by label) whose owner process on this host is
/// gone. Containers of other hosts sharing the daemon, and of live owners of
/// any user, are left alone.
fn reap() {
    let format = format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}");
    let filter = format!("label={OWNER_LABEL}");
    let Some(list) = docker(&["ps", "-a", "--filter", &filter, "--format", &format]) else {
        return;
    };
    for line in list.lines() {
        let Some((id, owner)) = line.split_once(' ') else {
            continue;
        };
        let Some((owner_host, pid)) = owner.rsplit_once(':') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if owner::liveness(owner_host, pid) == Liveness::Dead {
            let _ = docker(&["rm", "-f", "-v", id]);
        }
    }
}

impl Container {
    /// Kills the container (for fault-injection tests).
    pub fn kill(&self) -> bool {
        docker(&["kill", &self.id]).is_some()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_names_split_at_the_tag() {
        assert_eq!(
            super::split_image("postgres:15"),
            ("postgres".into(), "15".into())
        );
        assert_eq!(
            super::split_image("reg:5000/pg"),
            ("reg:5000/pg".into(), "latest".into())
        );
        assert_eq!(super::split_image("a/b:c"), ("a/b".into(), "c".into()));
    }
}
