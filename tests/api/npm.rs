//! The npm side of the end-to-end tests: the real `@sentry/cli` (3, and 2 for its deprecated
//! commands), `esbuild` and `@sentry/browser`,
//! installed on first use from `tests/npm/package.json` (pinned) with the machine's npm, and
//! reused while that file is unchanged. The binaries of sentry-cli and esbuild come as npm
//! packages of their own for the platform: no download from anywhere but the registry.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{TestApp, run_checked as run};

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm/package.json")
}

/// The `node_modules` of the pinned packages, installing them if needed. A file lock makes
/// concurrent test processes wait for one another instead of racing npm.
pub fn node_modules() -> PathBuf {
    let wanted = std::fs::read_to_string(manifest()).expect("tests/npm/package.json");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm");
    std::fs::create_dir_all(&dir).expect("npm dir");
    let lock = std::fs::File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock the npm dir");
    let marker = dir.join(".installed-package-json");
    let modules = dir.join("node_modules");
    let complete = [
        "@sentry/cli/bin/sentry-cli",
        ".bin/esbuild",
        "sentry-cli-2/bin/sentry-cli",
    ]
    .iter()
    .all(|bin| modules.join(bin).exists());
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) || !complete {
        std::fs::write(dir.join("package.json"), &wanted).expect("package.json");
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&dir));
        std::fs::write(&marker, &wanted).expect("marker");
    }
    modules
}

/// The `sentry-cli` binary (3), installing the packages if needed. Named by its package:
/// `.bin/sentry-cli` may be either version's.
pub fn sentry_cli() -> PathBuf {
    node_modules().join("@sentry/cli/bin/sentry-cli")
}

/// `esbuild <args>` in `dir` (where the app's sources and its `node_modules` are); panics with
/// what it printed unless it succeeded.
pub fn esbuild(dir: &Path, args: &[&str]) {
    run(Command::new(node_modules().join(".bin/esbuild"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default()));
}

/// `sentry-cli <args>` against `app` with its API token, the default organization and project;
/// returns its standard output, and panics with everything it printed unless it succeeded.
pub fn cli(app: &TestApp, args: &[&str]) -> String {
    cli_of(&sentry_cli(), app, args)
}

/// The same with sentry-cli 2 (npm alias `sentry-cli-2`), whose deprecated `releases files`
/// commands older build setups still run.
pub fn cli_2(app: &TestApp, args: &[&str]) -> String {
    cli_of(&node_modules().join("sentry-cli-2/bin/sentry-cli"), app, args)
}

fn cli_of(binary: &Path, app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(binary)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("SENTRY_URL", &app.base_url)
        .env("SENTRY_AUTH_TOKEN", &app.token)
        .env("SENTRY_ORG", "default")
        .env("SENTRY_PROJECT", "default")
        .env("SENTRY_DSN", &app.dsn)
        .output()
        .expect("run sentry-cli");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sentry-cli {} failed:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
