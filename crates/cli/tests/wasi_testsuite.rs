//! WASI preview 1 conformance: every program of the WebAssembly
//! wasi-testsuite (kept beside the project in `../shared/wasi-testsuite`)
//! run with the real `waven run` binary on every engine and memory
//! backend, judged as the suite's README says:
//!
//! * `X.wasm` is a test; `X.json`, when present, gives `args`, `env`,
//!   `root` (a fixture folder beside the test, preopened as the guest's
//!   `/`), `exit_code` (default 0) and `stdout` (expected exactly);
//! * leftover `*.cleanup` files are deleted before each run.
//!
//! The shared folder is read-only: each run gets a fresh copy of its
//! fixture folder in a temporary directory. Without the folder (a clone
//! of the project alone) the test says so and passes; CI checks that the
//! folder is there. `WAVEN_WASI_TESTSUITE=DIR` points the test at a
//! suite elsewhere.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// The engines `waven run --engine` offers; a new engine is one more entry.
const ENGINES: &[&str] = if cfg!(feature = "enclave") {
    &["interp"]
} else {
    &["interp", "jit"]
};

/// Both memory backends, or only virtual memory in the enclave profile.
const BACKENDS: &[&str] = if cfg!(feature = "enclave") {
    &["virtual"]
} else {
    &["virtual", "plain"]
};

/// Programs run at once.
const THREADS: usize = 3;

/// The suite's folder: `../shared/wasi-testsuite` from the workspace root,
/// or `WAVEN_WASI_TESTSUITE` for a checkout that lives elsewhere (a git
/// worktree, for example).
fn suite_dir() -> PathBuf {
    match std::env::var_os("WAVEN_WASI_TESTSUITE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/wasi-testsuite"),
    }
}

/// One program of the suite with what its specification asks.
#[derive(Debug)]
struct Program {
    wasm: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    root: Option<PathBuf>,
    exit_code: i32,
    stdout: Option<String>,
}

impl Program {
    /// The program at `wasm`, with the specification beside it if any.
    fn load(wasm: PathBuf) -> Result<Program, String> {
        let spec_path = wasm.with_extension("json");
        let spec: Value = if spec_path.exists() {
            let text = std::fs::read_to_string(&spec_path).map_err(|e| e.to_string())?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", spec_path.display()))?
        } else {
            Value::Null
        };
        let args = spec["args"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap_or("").to_owned()))
            .into_iter()
            .flatten()
            .collect();
        let env = spec["env"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
            })
            .into_iter()
            .flatten()
            .collect();
        let folder = wasm.parent().unwrap_or(Path::new("."));
        let root = spec["root"].as_str().map(|r| folder.join(r));
        let exit_code = spec["exit_code"].as_i64().unwrap_or(0) as i32;
        let stdout = spec["stdout"].as_str().map(str::to_owned);
        Ok(Program {
            wasm,
            args,
            env,
            root,
            exit_code,
            stdout,
        })
    }

    /// A short name: `<language>/<program>`.
    fn name(&self) -> String {
        let language = self
            .wasm
            .ancestors()
            .nth(3)
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = self.wasm.file_stem().unwrap_or_default().to_string_lossy();
        format!("{language}/{stem}")
    }

    /// Runs the program once; `Err` says how it failed.
    fn run(&self, engine: &str, memory: &str, scratch: &Path) -> Result<(), String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_waven"));
        command.args(["run", "--engine", engine, "--memory", memory]);
        if let Some(root) = &self.root {
            let copy = scratch.join("root");
            copy_tree(root, &copy).map_err(|e| format!("copying the fixture: {e}"))?;
            remove_cleanup(&copy);
            command.arg("--dir").arg(format!("{}::/", copy.display()));
        }
        for (key, value) in &self.env {
            command.arg("--env").arg(format!("{key}={value}"));
        }
        command.arg(&self.wasm).args(&self.args);
        let output = command.output().map_err(|e| format!("waven: {e}"))?;
        let code = output.status.code();
        if code != Some(self.exit_code) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).take(3).collect();
            let first = first.join(" | ");
            return Err(format!(
                "exit code {code:?}, expected {} ({first})",
                self.exit_code
            ));
        }
        if let Some(expected) = &self.stdout {
            if output.stdout != expected.as_bytes() {
                return Err(format!(
                    "stdout {:?}, expected {expected:?}",
                    String::from_utf8_lossy(&output.stdout)
                ));
            }
        }
        Ok(())
    }
}

/// Copies the directory `from` to `to` (files, folders, symlinks as links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let ty = entry.file_type()?;
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if ty.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Deletes leftover `*.cleanup` files and folders beneath `dir`, a fresh
/// copy of a fixture (the shared folder may hold some, and is read-only).
fn remove_cleanup(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if path.extension().is_some_and(|e| e == "cleanup") {
            let _ = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        } else if is_dir {
            remove_cleanup(&path);
        }
    }
}

/// Every `.wasm` under the suite's `tests/*/testsuite/wasm32-wasip1/`.
fn programs(suite: &Path) -> Vec<Program> {
    let mut found = Vec::new();
    let languages = std::fs::read_dir(suite.join("tests")).expect("the suite's tests folder");
    for language in languages.flatten() {
        let folder = language.path().join("testsuite/wasm32-wasip1");
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "wasm") {
                found.push(Program::load(path).expect("a readable specification"));
            }
        }
    }
    found.sort_by_key(|p| p.wasm.clone());
    found
}

#[test]
fn wasi_testsuite_passes_on_every_engine_and_backend() {
    let suite = suite_dir();
    if !suite.join("tests").is_dir() {
        println!(
            "wasi-testsuite NOT RUN: {} is absent (the suite is a clone beside the \
             workspace, in ../shared/wasi-testsuite; WAVEN_WASI_TESTSUITE=DIR points \
             elsewhere)",
            suite.display()
        );
        return;
    }
    let programs = programs(&suite);
    assert!(!programs.is_empty(), "no programs in {}", suite.display());
    let mut jobs = VecDeque::new();
    for program in &programs {
        for &engine in ENGINES {
            for &memory in BACKENDS {
                jobs.push_back((program, engine, memory));
            }
        }
    }
    let scratch_base =
        std::env::temp_dir().join(format!("waven-wasi-testsuite-{}", std::process::id()));
    let jobs = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    let (passed, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let Some((index, (program, engine, memory))) = jobs.lock().unwrap().pop_front()
                else {
                    break;
                };
                let scratch = scratch_base.join(index.to_string());
                let _ = std::fs::remove_dir_all(&scratch);
                std::fs::create_dir_all(&scratch).expect("a scratch directory");
                let outcome = program.run(engine, memory, &scratch);
                let _ = std::fs::remove_dir_all(&scratch);
                let label = format!("{} [{engine}, {memory}]", program.name());
                match outcome {
                    Ok(()) => {
                        passed.fetch_add(1, Ordering::Relaxed);
                        println!("pass {label}");
                    }
                    Err(why) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        println!("FAIL {label}: {why}");
                        failures.lock().unwrap().push(label);
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch_base);
    let (passed, failed) = (passed.into_inner(), failed.into_inner());
    println!("{passed} passed, {failed} failed");
    assert_eq!(
        failed,
        0,
        "failed: {:?}",
        failures.into_inner().unwrap_or_default()
    );
}
