//! The kernel corpus: discovery under `bench/kernels/`, the expected
//! checksums, and building each kernel for wasm32-wasi and natively.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The two problem sizes every kernel has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Seconds under an interpreter: the size of the published figures.
    Full,
    /// Tens of milliseconds: the size CI runs.
    Quick,
}

impl Size {
    /// The kernel's command-line arguments for this size.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Size::Full => &[],
            Size::Quick => &["quick"],
        }
    }

    /// The size's name in reports and file names.
    pub fn name(self) -> &'static str {
        match self {
            Size::Full => "full",
            Size::Quick => "quick",
        }
    }
}

/// One kernel, built.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The file stem of its C source.
    pub name: String,
    /// The wasm32-wasi build.
    pub wasm: PathBuf,
    /// The native build.
    pub native: PathBuf,
    /// The checksum the kernel must print at the chosen size.
    pub expected: String,
}

/// The kernels under `source_dir` whose names contain one of `filters`
/// (all when `filters` is empty), sorted by name, built into `build_dir`.
pub fn prepare(
    source_dir: &Path,
    build_dir: &Path,
    filters: &[String],
    size: Size,
) -> Result<Vec<Kernel>> {
    let expected = read_checksums(&source_dir.join("checksums.txt"))?;
    let mut sources: Vec<PathBuf> = fs::read_dir(source_dir)
        .with_context(|| format!("reading {}", source_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.sort();
    let wasm_dir = build_dir.join("wasm");
    let native_dir = build_dir.join("native");
    fs::create_dir_all(&wasm_dir)?;
    fs::create_dir_all(&native_dir)?;
    let mut kernels = Vec::new();
    for source in sources {
        let name = stem(&source);
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let Some(sums) = expected.get(&name) else {
            bail!("{name}: no line in {}/checksums.txt", source_dir.display());
        };
        let wasm = wasm_dir.join(format!("{name}.wasm"));
        let native = native_dir.join(&name);
        build_if_stale(&source, &wasm, wasm_compiler(&source, &wasm))?;
        build_if_stale(&source, &native, native_compiler(&source, &native))?;
        let expected = match size {
            Size::Quick => sums.0.clone(),
            Size::Full => sums.1.clone(),
        };
        kernels.push(Kernel {
            name,
            wasm,
            native,
            expected,
        });
    }
    if kernels.is_empty() {
        bail!("no kernel in {} matches {filters:?}", source_dir.display());
    }
    Ok(kernels)
}

/// The compilers' versions, for the report.
pub fn compiler_versions() -> Vec<String> {
    ["clang", "gcc"]
        .iter()
        .filter_map(|cc| {
            let out = Command::new(cc).arg("--version").output().ok()?;
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines().next().map(str::to_owned)
        })
        .collect()
}

/// The header every kernel is compiled with: it times `main` and prints
/// `kernel_ns:` on stderr.
fn timing_header(source: &Path) -> PathBuf {
    source.with_file_name("timing.h")
}

fn wasm_compiler(source: &Path, output: &Path) -> Command {
    let mut cc = Command::new("clang");
    cc.args(["--target=wasm32-wasi", "-O2", "-fuse-ld=lld", "-include"])
        .arg(timing_header(source))
        .arg(source)
        .arg("-o")
        .arg(output)
        .arg("-lm");
    cc
}

fn native_compiler(source: &Path, output: &Path) -> Command {
    let mut cc = Command::new("gcc");
    cc.args(["-O2", "-include"])
        .arg(timing_header(source))
        .arg(source)
        .arg("-o")
        .arg(output)
        .arg("-lm");
    cc
}

fn build_if_stale(source: &Path, output: &Path, mut compiler: Command) -> Result<()> {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    // A kernel depends on its source and on the headers beside it
    // (`timing.h`, `common.h`).
    let headers = source.parent().and_then(|dir| fs::read_dir(dir).ok());
    let newest_header = headers
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "h"))
        .filter_map(|path| modified(&path))
        .max();
    let written = modified(source).max(newest_header);
    if let (Some(built), Some(written)) = (modified(output), written) {
        if built >= written {
            return Ok(());
        }
    }
    let program = compiler.get_program().to_string_lossy().into_owned();
    let out = compiler
        .output()
        .with_context(|| format!("running {program} (is it installed? see README)"))?;
    if !out.status.success() {
        bail!(
            "{program} failed on {}:\n{}",
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `name -> (quick, full)` from the checksums file: one
/// `name quick full` line per kernel, `#` comments.
fn read_checksums(path: &Path) -> Result<BTreeMap<String, (String, String)>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut sums = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, quick, full] = fields[..] else {
            bail!(
                "{}:{}: expected `name quick full`",
                path.display(),
                number + 1
            );
        };
        sums.insert(name.to_owned(), (quick.to_owned(), full.to_owned()));
    }
    Ok(sums)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
