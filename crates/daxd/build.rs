//! Build script: records the git commit daxd is built from, for `daxd --version`.
//!
//! The commit is `DAXD_GIT_COMMIT` when set (a container build from a source tarball
//! passes it as a build argument), else `git rev-parse --short HEAD`, else "unknown"
//! (no git, or no checkout). The script runs again only when the checkout's HEAD or the
//! branch it points to moves, so that ordinary edits do not re-run it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DAXD_GIT_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = std::env::var("DAXD_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&manifest_dir, &["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    if let Some(git_dir) = git(&manifest_dir, &["rev-parse", "--absolute-git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        watch(&git_dir.join("HEAD"));
        // HEAD names a branch: a commit moves the branch, not HEAD.
        if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD")) {
            if let Some(branch) = head.trim().strip_prefix("ref: ") {
                watch(&git_dir.join(branch));
                watch(&git_dir.join("packed-refs"));
            }
        }
    }
    println!("cargo:rustc-env=DAXD_GIT_COMMIT={}", commit.trim());
}

/// Re-run when `path` changes; only for paths that exist (cargo re-runs the script on
/// every build for a missing one).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The trimmed output of a successful `git` command run in `dir`.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
