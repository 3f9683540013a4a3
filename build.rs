//! Records the git revision plstar is built from (`PLSTAR_GIT_REVISION`), for `run.json`: the
//! commit, with `-dirty` appended when the sources compiled into the binary (`src/`, `build.rs`,
//! `Cargo.toml`, `Cargo.lock`) differ from it, so that an output never names a commit whose code
//! did not produce it.
use std::process::Command;

/// The sources whose uncommitted changes make a build dirty.
const SOURCES: [&str; 4] = ["src", "build.rs", "Cargo.toml", "Cargo.lock"];

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-changed=.git/packed-refs");
    if let Some(branch) = std::fs::read_to_string(".git/HEAD")
        .ok()
        .and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_string()))
    {
        println!("cargo:rerun-if-changed=.git/{branch}");
    }
    for source in SOURCES {
        println!("cargo:rerun-if-changed={source}");
    }
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    let mut status_args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status_args.extend(SOURCES);
    let dirty = !rev.is_empty() && git(&status_args).is_some_and(|s| !s.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=PLSTAR_GIT_REVISION={rev}{suffix}");
}
