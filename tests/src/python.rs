//! Python's `websockets`, an independent server for interop tests: a virtual environment under
//! `target/` created on first use (`python3 -m venv` and a pinned `pip install websockets`), or
//! the interpreter in `WS_INTEROP_PYTHON` if set (CI sets it).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const WEBSOCKETS: &str = "websockets==17.4";

/// A Python with `websockets` importable.
pub fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(python) = std::env::var_os("WS_INTEROP_PYTHON") {
            return PathBuf::from(python);
        }
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/interop-venv");
        let python = venv.join("bin/python");
        let ready = |p: &PathBuf| {
            Command::new(p)
                .args(["-c", "import websockets"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ready(&python) {
            let status = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "python3 -m venv {venv:?} failed"
            );
            let status = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    WEBSOCKETS,
                ])
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "pip install {WEBSOCKETS} failed"
            );
        }
        python
    })
}

/// A script of `tests/python/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}
