//! The Python side of the end-to-end tests: a venv with the real Sentry SDKs, created on first
//! use (`python3 -m venv` + `pip install -r tests/python/requirements.txt`) and reused while the
//! requirements file is unchanged. No mock SDKs: these are the packages users install.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::helpers::run_checked as run;

fn requirements() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/requirements.txt")
}

pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name)
}

/// The venv's interpreter, provisioning the venv if needed. A file lock makes concurrent test
/// processes (nextest) wait for one another instead of racing pip.
pub fn python() -> PathBuf {
    let wanted = std::fs::read_to_string(requirements()).expect("requirements.txt");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    std::fs::create_dir_all(&venv).expect("venv dir");
    let lock = std::fs::File::create(venv.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock the venv");
    let marker = venv.join(".installed-requirements");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) || !python.exists() {
        let interpreter = std::env::var("TOCSIN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(&interpreter).args(["-m", "venv", "--clear"]).arg(&venv));
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements()));
        std::fs::write(&marker, &wanted).expect("marker");
    }
    python
}

/// Runs a script from tests/python with the venv's interpreter; returns its last stdout line
/// parsed as JSON.
pub fn run_script(name: &str, args: &[&str]) -> Value {
    // Run from the scripts' folder: sentry-python marks frames under the working directory as
    // in-app, as it would for an app started from its own checkout.
    let out = Command::new(python())
        .arg(script(name))
        .args(args)
        .current_dir(script(""))
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{name} printed {last:?}: {e}"))
}
