//! Debian packages the tests need, installed with apt on first use when missing (as root, the
//! machine's package manager); a file lock keeps concurrent test processes from running apt twice.

use std::path::Path;
use std::process::Command;

/// Makes sure every file of `needed` exists, installing `packages` if one does not. `why` goes
/// into the failure message.
pub fn ensure_packages(needed: &[&str], packages: &[&str], why: &str) {
    let present = || needed.iter().all(|p| Path::new(p).exists());
    if present() {
        return;
    }
    let lock_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apt-install.lock");
    let lock = std::fs::File::create(lock_file).unwrap();
    lock.lock().unwrap();
    if present() {
        return;
    }
    let install: Vec<&str> = ["install", "-y", "-q"].iter().chain(packages).copied().collect();
    for args in [&["update"][..], &install[..]] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("apt-get runs");
        assert!(
            out.status.success(),
            "apt-get {args:?} failed ({why} need Debian's {packages:?}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(present(), "{packages:?} did not provide {needed:?}");
}
