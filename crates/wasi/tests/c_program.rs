//! A C program built with clang and wasi-libc (committed as
//! `tests/programs/fs_tour.wasm`; `scripts/check-guest-builds.sh` checks it
//! is what `fs_tour.c` builds to) tours the POSIX layer over waven's WASI on
//! both memory backends.

mod common;

use std::sync::{Arc, Mutex};

use common::{Guest, Scratch, BACKENDS};
use waven_runtime::{Error, Trap, TrapKind};
use waven_wasi::{Output, WasiCtxBuilder};

#[test]
fn the_fs_tour_passes_on_both_backends() {
    let wasm: &[u8] = include_bytes!("programs/fs_tour.wasm");
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
        let mut guest = Guest::from_binary(backend, wasm, ctx);
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

#[test]
fn every_test_passes_on_the_compiled_engine() {
    waven_test_support::rerun_on_the_compiled_engine("every_test_passes_on_the_compiled_engine");
}
