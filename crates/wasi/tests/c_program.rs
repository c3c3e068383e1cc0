//! A C program built with clang and wasi-libc (when they are installed,
//! as CI installs them) tours the POSIX layer over waven's WASI on both
//! memory backends.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Guest, Scratch, BACKENDS};
use waven_runtime::{Error, Trap, TrapKind};
use waven_wasi::{Output, WasiCtxBuilder};

/// Compiles `tests/programs/<name>.c`, or `None` if the toolchain is
/// missing.
fn build(name: &str, out: &Scratch) -> Option<Vec<u8>> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/programs/{name}.c"));
    let wasm = out.join(format!("{name}.wasm"));
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "clang".into()))
        .args([
            "--target=wasm32-wasi",
            "-O2",
            "-fuse-ld=lld",
            "-Wall",
            "-Wextra",
            "-o",
        ])
        .arg(&wasm)
        .arg(&source)
        .status();
    match status {
        Ok(status) if status.success() => Some(std::fs::read(wasm).unwrap()),
        Ok(status) => panic!("clang failed on {name}.c: {status}"),
        Err(error) => panic!(
            "cannot run clang ({error}): install clang lld wasi-libc \
             libclang-rt-14-dev-wasm32 (.ci/run does)"
        ),
    }
}

#[test]
fn the_fs_tour_passes_on_both_backends() {
    let build_dir = Scratch::new("c-build");
    let Some(wasm) = build("fs_tour", &build_dir) else {
        return;
    };
    for &backend in BACKENDS {
        let sandbox = Scratch::new("c-tour");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let ctx = WasiCtxBuilder::new()
            .args(["fs_tour", "arg"])
            .env("TOUR", "yes")
            .preopened_dir(&sandbox.path, ".")
            .unwrap()
            .stdout(Output::Capture(stdout.clone()))
            .build();
        let mut guest = Guest::from_binary(backend, &wasm, ctx);
        let outcome = guest.try_call("_start", &[]);
        let printed = String::from_utf8_lossy(&stdout.lock().unwrap()).into_owned();
        match outcome {
            Ok(_)
            | Err(Error::Trap(Trap {
                kind: TrapKind::Exit(0),
                ..
            })) => {}
            Err(error) => panic!("{backend:?}: {error}; output: {printed}"),
        }
        assert_eq!(printed, "tour ok\n", "{backend:?}");
        assert_eq!(std::fs::read_dir(&sandbox.path).unwrap().count(), 0);
    }
}
