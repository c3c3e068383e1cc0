//! Real C programs compiled for wasm32-wasi with Debian's clang (committed
//! as `tests/programs/*.wasm`; `scripts/check-guest-builds.sh` checks they
//! are what the sources build to), run with `waven run` on both memory
//! backends: output, files inside preopens, the sandbox, EFAULT for bad
//! buffers, heavy malloc/free, exit codes. Deterministic programs are also
//! compiled natively with the host C compiler and must print the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-c-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn waven(memory: &str, flags: &[&str], program: &str, args: &[&str]) -> Output {
    let module = root().join(format!("crates/cli/tests/programs/{program}.wasm"));
    Command::new(env!("CARGO_BIN_EXE_waven"))
        .args(waven_test_support::waven_args(&["run", "--memory", memory]))
        .args(flags)
        .arg(module)
        .args(args)
        .output()
        .expect("waven runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Both memory backends, or only virtual memory in the enclave profile.
const BACKENDS: &[&str] = if cfg!(feature = "enclave") {
    &["virtual"]
} else {
    &["virtual", "plain"]
};

#[test]
fn hello_world() {
    for &memory in BACKENDS {
        let out = waven(memory, &[], "hello", &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "hello, world\n");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn args_and_environment_reach_the_guest() {
    for &memory in BACKENDS {
        let out = waven(
            memory,
            &["--env", "GREETING=hi there"],
            "echo_args_env",
            &["GREETING", "MISSING"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with("argc=3\nargv[0]="), "{stdout}");
        assert!(
            stdout.contains("argv[1]=GREETING\nargv[2]=MISSING\n"),
            "{stdout}"
        );
        assert!(
            stdout.ends_with("GREETING=hi there\nMISSING=(unset)\n"),
            "{stdout}"
        );
    }
}

#[test]
fn file_copy_and_directory_listing_inside_a_preopen() {
    for &memory in BACKENDS {
        let dir = scratch(&format!("files-{memory}"));
        std::fs::write(dir.join("input.txt"), "some data\n".repeat(1000)).unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        let preopen = format!("{}::/data", dir.display());
        let out = waven(
            memory,
            &["--dir", &preopen],
            "file_copy",
            &["/data/input.txt", "/data/copy.txt"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "copied 10000 bytes from /data/input.txt to /data/copy.txt\n"
        );
        assert_eq!(
            std::fs::read(dir.join("copy.txt")).unwrap(),
            std::fs::read(dir.join("input.txt")).unwrap()
        );
        let out = waven(memory, &["--dir", &preopen], "list_dir", &["/data"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let listing = text(&out.stdout);
        for name in ["copy.txt", "input.txt", "sub"] {
            assert!(listing.contains(name), "{listing}");
        }
    }
}

#[test]
fn the_sandbox_blocks_every_escape() {
    for &memory in BACKENDS {
        let dir = scratch(&format!("escape-{memory}"));
        let inside = dir.join("inside");
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(dir.join("outside.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.join("outside.txt"), inside.join("link")).unwrap();
        std::os::unix::fs::symlink("../outside.txt", inside.join("rel")).unwrap();
        let preopen = format!("{}::/box", inside.display());
        let out = waven(
            memory,
            &["--dir", &preopen],
            "escape",
            &[
                "/box/link",
                "/box/rel",
                "/box/../outside.txt",
                "/box/sub/../../outside.txt",
            ],
        );
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "an escape succeeded:\n{stdout}");
        assert!(!stdout.contains("OPENED"), "{stdout}");
        assert_eq!(stdout.matches("blocked:").count(), 6, "{stdout}");
    }
}

#[test]
fn a_read_into_a_buffer_beyond_memory_gets_efault_and_consumes_nothing() {
    for &memory in BACKENDS {
        let dir = scratch(&format!("efault-{memory}"));
        std::fs::write(dir.join("in.txt"), "first line\nsecond\n").unwrap();
        let preopen = format!("{}::/d", dir.display());
        let out = waven(memory, &["--dir", &preopen], "efault_read", &["/d/in.txt"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("read returned -1 errno=21 (Bad address)"),
            "{stdout}"
        );
        assert!(stdout.contains("first line: first line\n"), "{stdout}");
    }
}

/// Compiles `program` natively with the host's C compiler.
fn native(program: &str) -> Option<PathBuf> {
    let out = std::env::temp_dir().join(format!("waven-native-{}-{program}", std::process::id()));
    let src = root().join(format!("crates/cli/tests/programs/{program}.c"));
    let status = Command::new("cc")
        .arg("-O2")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .ok()?;
    status.success().then_some(out)
}

#[test]
fn malloc_churn_matches_the_native_build() {
    let native = native("malloc_churn").expect("the host C compiler builds malloc_churn");
    let expected = Command::new(native).output().unwrap();
    assert!(expected.status.success());
    for &memory in BACKENDS {
        let out = waven(memory, &[], "malloc_churn", &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), text(&expected.stdout));
        assert!(text(&out.stdout).contains("corrupted=0"));
    }
}

#[test]
fn the_exit_code_is_the_programs() {
    for &memory in BACKENDS {
        for code in ["0", "3", "42"] {
            let out = waven(memory, &[], "exit_code", &[code]);
            assert_eq!(
                out.status.code(),
                Some(code.parse().unwrap()),
                "{}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}
