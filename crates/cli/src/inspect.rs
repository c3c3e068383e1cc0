//! `waven inspect MODULE`: what a module imports and exports, its memories,
//! and which functions of the `waven` ABI it uses; for a precompiled
//! artifact, also what it was compiled for and its file's SHA-256 (what a
//! manifest pins as `artifact_sha256`).
//!
//! Imports and exports come from the loaded [`Module`] (so the module is
//! also validated); memory limits are read with wasmparser, because
//! `waven_runtime::Module` does not expose them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use waven_environ::artifact::Artifact;
use waven_environ::code::MemoryLowering;
use waven_runtime::{Config, Engine, EngineKind, ExternType, Module};

/// Every function of the `waven` import module (DESIGN.md section 4), in
/// the order of the design's table.
pub const WAVEN_ABI: [&str; 14] = [
    "page_size",
    "protect",
    "unmap",
    "map_anon",
    "discard",
    "share",
    "grant",
    "revoke",
    "open",
    "map",
    "region_size",
    "close",
    "wait",
    "notify",
];

/// Arguments of `waven inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The module: a .wasm binary, a .wat text file or a .cwasm artifact.
    module: PathBuf,
}

/// A memory's limits in 64 KiB Wasm pages.
#[derive(Debug, PartialEq, Eq)]
struct MemoryLimits {
    imported: bool,
    initial: u64,
    maximum: Option<u64>,
}

/// Runs `waven inspect`.
pub fn run(args: InspectArgs) -> Result<ExitCode> {
    let file = std::fs::read(&args.module)
        .with_context(|| format!("cannot read {}", args.module.display()))?;
    // An artifact is described by its header and the module it carries
    // (whose SHA-256 is the measurement); none of its code is loaded.
    let (bytes, artifact) = if Module::is_artifact(&file) {
        let artifact = Artifact::from_bytes(&file)
            .map_err(|e| anyhow!("cannot read the artifact {}: {e}", args.module.display()))?;
        let header = artifact_header(&artifact, &file);
        (artifact.module, Some(header))
    } else {
        (file, None)
    };
    let wasm = wat::parse_bytes(&bytes).map_err(|mut e| {
        e.set_path(&args.module);
        anyhow!("{}: {e}", args.module.display())
    })?;
    // Inspecting instantiates nothing: an empty frame pool will do, and
    // the interpreter's engine validates without compiling.
    let engine = Engine::new(Config {
        engine: EngineKind::Interpreter,
        frame_budget: 0,
        ..Config::default()
    })
    .context("cannot create the engine")?;
    let module = Module::new(&engine, &wasm)
        .with_context(|| format!("cannot load {}", args.module.display()))?;
    let memories = memories(&wasm)?;
    let mut out = describe(&args.module, &bytes, &module, &memories);
    if let Some(header) = artifact {
        let first_line = out.find('\n').map_or(out.len(), |i| i + 1);
        out.insert_str(first_line, &header);
    }
    crate::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// What an artifact was compiled for, as lines under the module's.
fn artifact_header(artifact: &Artifact, file: &[u8]) -> String {
    let header = &artifact.header;
    let sha256: String = waven_platform::run::measure(file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "precompiled artifact: {} bytes, artifact_sha256 {sha256}\n\
         compiled by waven {} for {}, memory {}, fuel {}, CPU features: {}\n",
        file.len(),
        header.waven_version,
        header.target,
        match header.settings.memory {
            MemoryLowering::Virtual => "virtual",
            MemoryLowering::Plain => "plain",
        },
        if header.settings.fuel { "on" } else { "off" },
        header.cpu_features.join(" ")
    )
}

/// The whole description, as printed.
fn describe(path: &Path, bytes: &[u8], module: &Module, memories: &[MemoryLimits]) -> String {
    let measurement = waven_platform::run::measurement_text(&waven_platform::run::measure(bytes));
    let mut out = format!(
        "module {}: {} bytes, {measurement}\n",
        path.display(),
        bytes.len()
    );
    let imports: Vec<(&str, &str, ExternType)> = module.imports().collect();
    out.push_str(&format!("\nimports ({}):\n", imports.len()));
    for (module_name, name, kind) in &imports {
        out.push_str(&format!(
            "  {:<7} {module_name}::{name}\n",
            kind_name(*kind)
        ));
    }
    let exports: Vec<(&str, ExternType)> = module.exports().collect();
    out.push_str(&format!("\nexports ({}):\n", exports.len()));
    for (name, kind) in &exports {
        out.push_str(&format!("  {:<7} {name}\n", kind_name(*kind)));
    }
    out.push_str(&format!("\nmemories ({}):\n", memories.len()));
    for (index, memory) in memories.iter().enumerate() {
        let maximum = memory.maximum.map_or_else(
            || "no maximum".to_owned(),
            |max| format!("maximum {max} pages"),
        );
        out.push_str(&format!(
            "  memory {index}{}: initial {} pages ({} KiB), {maximum} (Wasm pages of 64 KiB)\n",
            if memory.imported { " (imported)" } else { "" },
            memory.initial,
            memory.initial * 64,
        ));
    }
    out.push_str(&abi_usage(&imports));
    out
}

/// Which `waven` functions are imported, and any unknown `waven` import.
fn abi_usage(imports: &[(&str, &str, ExternType)]) -> String {
    let used: Vec<&str> = imports
        .iter()
        .filter(|(module, _, _)| *module == waven_platform::abi::MODULE)
        .map(|(_, name, _)| *name)
        .collect();
    let known: Vec<&str> = WAVEN_ABI
        .iter()
        .copied()
        .filter(|f| used.contains(f))
        .collect();
    let mut out = format!(
        "\nwaven ABI: {} of {} functions imported",
        known.len(),
        WAVEN_ABI.len()
    );
    if known.is_empty() {
        out.push_str(" (the module does not use the waven ABI)\n");
    } else {
        out.push_str(&format!(": {}\n", known.join(", ")));
    }
    for name in used.iter().filter(|name| !WAVEN_ABI.contains(name)) {
        out.push_str(&format!(
            "  unknown: waven::{name} is not part of the ABI (the module will not link)\n"
        ));
    }
    out
}

fn kind_name(kind: ExternType) -> &'static str {
    match kind {
        ExternType::Func => "func",
        ExternType::Table => "table",
        ExternType::Memory => "memory",
        ExternType::Global => "global",
    }
}

/// The memories' limits, imported ones first (index order).
fn memories(wasm: &[u8]) -> Result<Vec<MemoryLimits>> {
    use wasmparser::{Parser, Payload, TypeRef};
    let mut memories = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    if let TypeRef::Memory(ty) = import?.ty {
                        memories.push(MemoryLimits {
                            imported: true,
                            initial: ty.initial,
                            maximum: ty.maximum,
                        });
                    }
                }
            }
            Payload::MemorySection(section) => {
                for ty in section {
                    let ty = ty?;
                    memories.push(MemoryLimits {
                        imported: false,
                        initial: ty.initial,
                        maximum: ty.maximum,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(memories)
}

#[cfg(test)]
mod tests {
    use super::*;
    use waven_runtime::{Error, FuncType, Linker, Val, ValType};

    #[test]
    fn the_list_names_functions_the_abi_defines() {
        let mut linker: Linker<waven_platform::abi::GuestContext> = Linker::new();
        waven_platform::abi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
        for name in WAVEN_ABI {
            let again = linker.func_new(
                waven_platform::abi::MODULE,
                name,
                FuncType::new([], [ValType::I32]),
                |_, _, results: &mut [Val]| {
                    results[0] = Val::I32(0);
                    Ok(())
                },
            );
            assert!(
                matches!(again, Err(Error::DuplicateDefinition { .. })),
                "{name} is not defined by the ABI"
            );
        }
    }

    #[test]
    fn describes_imports_exports_memories_and_abi_use() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "waven" "share" (func (param i32 i32 i32 i32 i32) (result i32)))
                 (import "waven" "grant" (func (param i32 i32 i32 i32) (result i32)))
                 (import "waven" "bogus" (func))
                 (memory (export "mem") 2 5)
                 (func (export "run")))"#,
        )
        .unwrap();
        let engine = Engine::new(Config {
            frame_budget: 0,
            ..Config::default()
        })
        .unwrap();
        let module = Module::new(&engine, &wasm).unwrap();
        let memories = memories(&wasm).unwrap();
        assert_eq!(
            memories,
            [MemoryLimits {
                imported: false,
                initial: 2,
                maximum: Some(5)
            }]
        );
        let text = describe(Path::new("m.wasm"), &wasm, &module, &memories);
        assert!(text.contains("  func    waven::share\n"), "{text}");
        assert!(text.contains("  memory  mem\n"), "{text}");
        assert!(text.contains("memory 0: initial 2 pages (128 KiB), maximum 5 pages"));
        assert!(text.contains("waven ABI: 2 of 14 functions imported: share, grant\n"));
        assert!(text.contains("unknown: waven::bogus"), "{text}");
    }
}
