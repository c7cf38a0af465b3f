//! Real proxy servers for the proxy tests: tinyproxy (HTTP `CONNECT`) and microsocks (SOCKS5),
//! each a child process on a free loopback port, killed when dropped. `.ci/run` installs both
//! from Debian; elsewhere a test that needs a missing one says so and passes only outside CI.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A proxy process.
#[derive(Debug)]
pub struct ProxyServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its configuration file, removed on drop.
    config: Option<PathBuf>,
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(config) = &self.config {
            let _ = std::fs::remove_file(config);
        }
    }
}

/// Whether `program` can be run; in CI a missing one fails the test.
pub fn available(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{program} is not installed (.ci/run installs it)"
    );
    if !found {
        eprintln!("skipped: {program} is not installed");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the process accepts connections on `port`.
fn started(mut child: Child, port: u16, config: Option<PathBuf>) -> ProxyServer {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the proxy exited: {status}");
        }
        assert!(Instant::now() < deadline, "the proxy did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    ProxyServer {
        child,
        port,
        config,
    }
}

/// tinyproxy on a free port, allowing `CONNECT` to every port, with Basic authentication when
/// `credentials` are given.
pub fn tinyproxy(credentials: Option<(&str, &str)>) -> ProxyServer {
    let port = free_port();
    let mut config = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nAllow 127.0.0.1\nLogLevel Critical\n"
    );
    // No `ConnectPort` line: tinyproxy then tunnels to any port (its default file allows
    // only 443 and 563).
    if let Some((user, password)) = credentials {
        config.push_str(&format!("BasicAuth {user} {password}\n"));
    }
    let path = std::env::temp_dir().join(format!("ws-proto-tinyproxy-{port}.conf"));
    std::fs::write(&path, config).unwrap();
    let child = Command::new("tinyproxy")
        .arg("-d")
        .arg("-c")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tinyproxy");
    started(child, port, Some(path))
}

/// microsocks on a free port, requiring a username and password when `credentials` are given.
pub fn microsocks(credentials: Option<(&str, &str)>) -> ProxyServer {
    let port = free_port();
    let mut command = Command::new("microsocks");
    command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((user, password)) = credentials {
        command.args(["-u", user, "-P", password]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("microsocks");
    started(child, port, None)
}
