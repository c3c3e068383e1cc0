//! Build script: the commit and commit date that `waven --version` shows,
//! from git, or `unknown` where there is no git or no repository (a source
//! tarball).

use std::path::Path;
use std::process::Command;

/// Runs git in the crate's directory; `None` if it cannot run or fails.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Asks cargo to run this script again when `path` (relative to the
/// crate's directory, or absolute) changes, if it exists.
fn watch(path: &str) {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let path = Path::new(&dir).join(path);
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short=7", "HEAD"]);
    let date = git(&["log", "-1", "--format=%cs"]);
    // HEAD moves with a checkout; the branch it names moves with a commit
    // (its ref file, or packed-refs after `git gc`). In a worktree these
    // live in different directories, which `--git-path` finds.
    if commit.is_some() {
        let mut paths = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            paths.push(branch);
        }
        for path in paths {
            if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
                watch(&file);
            }
        }
    }
    let unknown = || "unknown".to_owned();
    println!(
        "cargo:rustc-env=WAVEN_COMMIT={}",
        commit.unwrap_or_else(unknown)
    );
    println!(
        "cargo:rustc-env=WAVEN_COMMIT_DATE={}",
        date.unwrap_or_else(unknown)
    );
}
