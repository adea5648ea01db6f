//! What a person at a terminal and a CI log see while `stress` runs: the
//! progress bar on a real pseudo-terminal (`script`), plain lines in a real
//! pipe, and `RUST_LOG` output coloured only where colour belongs.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tombstone-harness");

/// Everything `child` writes to `output`, as it comes.
fn chunks(mut output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = output.read(&mut buffer) {
            if n == 0
                || sender
                    .send(String::from_utf8_lossy(&buffer[..n]).into())
                    .is_err()
            {
                break;
            }
        }
    });
    receiver
}

/// Reads until `seen` says yes (60 s at most); returns what was read.
fn read_until(receiver: &mpsc::Receiver<String>, seen: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    while Instant::now() < deadline && !seen(&text) {
        if let Ok(chunk) = receiver.recv_timeout(Duration::from_millis(100)) {
            text.push_str(&chunk);
        }
    }
    assert!(seen(&text), "not seen in: {text:?}");
    text
}

/// `tombstone-harness ARGS` on a pseudo-terminal of its own, through
/// util-linux `script`; its stdin is the terminal's keyboard.
fn on_terminal(args: &str, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new("script");
    command
        .args(["-qfec", &format!("{BIN} {args}"), "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("util-linux script")
}

/// Whether `text` holds an SGR (colour/style) escape, `ESC [ digits m`.
fn has_colour(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let code: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ';')
            .collect();
        !code.is_empty() && rest[code.len()..].starts_with('m')
    })
}

#[test]
fn the_progress_bar_shows_on_a_terminal_while_the_run_goes_on() {
    let mut child = on_terminal("--pg local stress --duration 60s --seed 5 -i atomic", &[]);
    let output = chunks(child.stdout.take().unwrap());
    // indicatif's elapsed clock and our message: the bar, not a plain line.
    let text = read_until(&output, |t| {
        t.contains("[00:00:") && t.contains("runs/s") && t.contains("ETA")
    });
    assert!(
        text.contains("shard 1/1") && text.contains("indeterminate"),
        "{text:?}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "shown while the run goes on"
    );
    // Ctrl-C typed at the terminal ends the run early.
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let rest = read_until(&output, |t| t.contains("interrupted"));
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:?}");
}

#[test]
fn progress_lines_appear_in_a_pipe_before_the_run_ends() {
    let mut child = Command::new(BIN)
        .args([
            "--pg",
            "local",
            "stress",
            "--duration",
            "60s",
            "--seed",
            "6",
            "-i",
            "atomic",
        ])
        .env("TOMBSTONE_PROGRESS_INTERVAL", "1s")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line + "\n");
        }
    });
    let text = read_until(&lines, |t| {
        t.lines().filter(|l| l.contains("runs/s")).count() >= 2
    });
    let line = text.lines().find(|l| l.contains("runs/s")).unwrap();
    assert!(
        line.contains("shard 1/1:")
            && line.contains("cases")
            && line.contains("indeterminate")
            && line.contains("ETA"),
        "{line}"
    );
    assert!(
        !has_colour(&text) && !text.contains('\r'),
        "plain text in a pipe: {text:?}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "seen while the run goes on"
    );
    // SAFETY: SIGINT to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn log_output_is_coloured_only_on_a_terminal_without_no_color() {
    let args = [
        "--pg",
        "local",
        "stress",
        "--cases",
        "2",
        "--seed",
        "8",
        "-i",
        "atomic",
        "--mode",
        "scheduled",
    ];
    let piped = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "tombstone_harness=debug")
        .env_remove("NO_COLOR")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert_eq!(piped.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("DEBUG") && stderr.contains("sent"),
        "RUST_LOG works: {stderr}"
    );
    assert!(!has_colour(&stderr), "colour codes in a pipe: {stderr:?}");

    let on_a_terminal = |env: &[(&str, &str)]| {
        let mut child = on_terminal(&args.join(" "), env);
        let mut text = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(0), "{text:?}");
        assert!(text.contains("DEBUG"), "{text:?}");
        text
    };
    let log = ("RUST_LOG", "tombstone_harness=debug");
    assert!(has_colour(&on_a_terminal(&[log])), "a terminal gets colour");
    let plain = on_a_terminal(&[log, ("NO_COLOR", "1")]);
    assert!(!has_colour(&plain), "NO_COLOR respected: {plain:?}");
}
