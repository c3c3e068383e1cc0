//! Shared test harness: a guest that re-exports every WASI import as a
//! thin wrapper, so that a test can call any function with any arguments
//! and inspect guest memory; scratch directories under the temp dir.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use waven_runtime::{
    Config, Engine, Error, Instance, Linker, Memory, MemoryBackend, Module, Store, Val,
};
use waven_wasi::{WasiCtx, WasiCtxBuilder};

/// Both memory backends, for tests that must hold on each.
/// The memory backends to run on: both, or only virtual memory in the
/// enclave profile (which has no plain backend).
pub const BACKENDS: &[MemoryBackend] = if waven_runtime::ENCLAVE_PROFILE {
    &[MemoryBackend::Virtual]
} else {
    &[MemoryBackend::Virtual, MemoryBackend::Plain]
};

/// Every preview-1 function and its parameter types (`i`: i32, `I`:
/// i64); all return an i32 errno except `proc_exit`. Written from the
/// witx independently of the crate, so that instantiation checks the
/// crate's signatures.
pub const SIGNATURES: &[(&str, &str)] = &[
    ("args_get", "ii"),
    ("args_sizes_get", "ii"),
    ("environ_get", "ii"),
    ("environ_sizes_get", "ii"),
    ("clock_res_get", "ii"),
    ("clock_time_get", "iIi"),
    ("fd_advise", "iIIi"),
    ("fd_allocate", "iII"),
    ("fd_close", "i"),
    ("fd_datasync", "i"),
    ("fd_fdstat_get", "ii"),
    ("fd_fdstat_set_flags", "ii"),
    ("fd_fdstat_set_rights", "iII"),
    ("fd_filestat_get", "ii"),
    ("fd_filestat_set_size", "iI"),
    ("fd_filestat_set_times", "iIIi"),
    ("fd_pread", "iiiIi"),
    ("fd_prestat_get", "ii"),
    ("fd_prestat_dir_name", "iii"),
    ("fd_pwrite", "iiiIi"),
    ("fd_read", "iiii"),
    ("fd_readdir", "iiiIi"),
    ("fd_renumber", "ii"),
    ("fd_seek", "iIii"),
    ("fd_sync", "i"),
    ("fd_tell", "ii"),
    ("fd_write", "iiii"),
    ("path_create_directory", "iii"),
    ("path_filestat_get", "iiiii"),
    ("path_filestat_set_times", "iiiiIIi"),
    ("path_link", "iiiiiii"),
    ("path_open", "iiiiiIIii"),
    ("path_readlink", "iiiiii"),
    ("path_remove_directory", "iii"),
    ("path_rename", "iiiiii"),
    ("path_symlink", "iiiii"),
    ("path_unlink_file", "iii"),
    ("poll_oneoff", "iiii"),
    ("proc_raise", "i"),
    ("sched_yield", ""),
    ("random_get", "ii"),
    ("sock_accept", "iii"),
    ("sock_recv", "iiiiii"),
    ("sock_send", "iiiii"),
    ("sock_shutdown", "ii"),
];

/// A module of 2 Wasm pages (128 KiB) of memory that exports a wrapper
/// `name` around every WASI import `name`, and `proc_exit`.
pub fn wrapper_wat() -> String {
    let mut wat = String::from("(module\n");
    for (name, params) in SIGNATURES {
        let params: Vec<&str> = params
            .chars()
            .map(|c| if c == 'I' { "i64" } else { "i32" })
            .collect();
        let list = params.join(" ");
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {list}) (result i32)))\n"
        );
    }
    wat += "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n";
    wat += "  (memory (export \"memory\") 2)\n";
    for (name, params) in SIGNATURES {
        let types: Vec<&str> = params
            .chars()
            .map(|c| if c == 'I' { "i64" } else { "i32" })
            .collect();
        let gets: String = (0..types.len())
            .map(|i| format!(" (local.get {i})"))
            .collect();
        wat += &format!(
            "  (func (export \"{name}\") (param {}) (result i32) (call ${name}{gets}))\n",
            types.join(" ")
        );
    }
    wat += "  (func (export \"proc_exit\") (param i32) (call $proc_exit (local.get 0)))\n)";
    wat
}

/// An engine of `backend` with a small frame budget.
/// Its engine kind is this run's (see `waven_test_support`).
pub fn engine(backend: MemoryBackend) -> Engine {
    waven_test_support::engine(Config {
        memory: backend,
        frame_budget: 64 << 20,
        ..Config::default()
    })
}

/// An instance of a module with WASI linked, and its memory.
pub struct Guest {
    pub store: Store<WasiCtx>,
    pub instance: Instance,
    pub memory: Memory,
}

impl Guest {
    /// Instantiates `wat` with `ctx`.
    pub fn from_wat(backend: MemoryBackend, wat: &str, ctx: WasiCtx) -> Guest {
        Guest::from_binary(backend, &wat::parse_str(wat).unwrap(), ctx)
    }

    /// Instantiates the module `wasm` with `ctx`.
    pub fn from_binary(backend: MemoryBackend, wasm: &[u8], ctx: WasiCtx) -> Guest {
        Guest::instantiate(&engine(backend), wasm, ctx)
    }

    /// Instantiates `wat` with `ctx` in a store of `engine`.
    pub fn with_engine(engine: &Engine, wat: &str, ctx: WasiCtx) -> Guest {
        Guest::instantiate(engine, &wat::parse_str(wat).unwrap(), ctx)
    }

    fn instantiate(engine: &Engine, wasm: &[u8], ctx: WasiCtx) -> Guest {
        let module = Module::new(engine, wasm).unwrap();
        let mut linker = Linker::new();
        waven_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
        let mut store = Store::new(engine, ctx);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let memory = instance.memory(&store).expect("the guest exports memory");
        Guest {
            store,
            instance,
            memory,
        }
    }

    /// The wrapper guest with `ctx`.
    pub fn wrapper(backend: MemoryBackend, ctx: WasiCtx) -> Guest {
        Guest::from_wat(backend, &wrapper_wat(), ctx)
    }

    /// The wrapper guest with a default context.
    pub fn plain(backend: MemoryBackend) -> Guest {
        Guest::wrapper(backend, WasiCtxBuilder::new().build())
    }

    /// Calls export `name` with `args`, returning its results.
    pub fn try_call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        let func = self.instance.get_func(&self.store, name).unwrap();
        let results = func.ty(&self.store).results().len();
        let mut out = vec![Val::I32(0); results];
        func.call(&mut self.store, args, &mut out)?;
        Ok(out)
    }

    /// Calls WASI function `name` with i32 arguments (i64 where the
    /// signature says so), returning the errno.
    pub fn call(&mut self, name: &str, args: &[i64]) -> i32 {
        let (_, sig) = SIGNATURES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no signature for {name}"));
        assert_eq!(
            sig.len(),
            args.len(),
            "{name} takes {} arguments",
            sig.len()
        );
        let vals: Vec<Val> = sig
            .chars()
            .zip(args)
            .map(|(c, &a)| {
                if c == 'I' {
                    Val::I64(a)
                } else {
                    Val::I32(a as i32)
                }
            })
            .collect();
        match self.try_call(name, &vals).unwrap()[..] {
            [Val::I32(errno)] => errno,
            ref other => panic!("{name} returned {other:?}"),
        }
    }

    /// Writes guest memory (as the host, with the guest's rights).
    pub fn write(&mut self, addr: u64, bytes: &[u8]) {
        self.memory.write(&mut self.store, addr, bytes).unwrap();
    }

    /// Reads guest memory.
    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.memory.read(&self.store, addr, &mut buf).unwrap();
        buf
    }

    pub fn u32_at(&self, addr: u64) -> u32 {
        u32::from_le_bytes(self.read(addr, 4).try_into().unwrap())
    }

    pub fn u64_at(&self, addr: u64) -> u64 {
        u64::from_le_bytes(self.read(addr, 8).try_into().unwrap())
    }

    /// Writes an iovec array `[(addr, len)]` at `at`.
    pub fn iovecs(&mut self, at: u64, iovs: &[(u32, u32)]) {
        let bytes: Vec<u8> = iovs
            .iter()
            .flat_map(|(a, l)| a.to_le_bytes().into_iter().chain(l.to_le_bytes()))
            .collect();
        self.write(at, &bytes);
    }

    /// Writes `path` at `at`, returning `(at, len)` as call arguments.
    pub fn path(&mut self, at: u64, path: &str) -> (i64, i64) {
        self.write(at, path.as_bytes());
        (at as i64, path.len() as i64)
    }

    /// Opens `path` relative to `dir` with `oflags`, rights and `fdflags`:
    /// the errno and the new fd. Uses memory at 0x100 (path) and 0x80 (fd).
    pub fn open(
        &mut self,
        dir: i64,
        path: &str,
        oflags: i64,
        rights: i64,
        fdflags: i64,
    ) -> (i32, u32) {
        let (p, len) = self.path(0x100, path);
        self.write(0x80, &[0xff; 4]);
        let errno = self.call(
            "path_open",
            &[dir, 1, p, len, oflags, rights, rights, fdflags, 0x80],
        );
        (errno, self.u32_at(0x80))
    }
}

/// Rights a test asks for: everything.
pub const ALL_RIGHTS: i64 = (1 << 29) - 1;
/// Rights a test asks for when it opens a directory: everything but
/// `fd_write` (asking to write a directory is `ISDIR`).
pub const DIR_RIGHTS: i64 = ALL_RIGHTS & !(1 << 6);
/// `fd_read` right alone, and read-related ones.
pub const READ_RIGHTS: i64 = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 14) | (1 << 21);

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "waven-wasi-{tag}-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).unwrap();
        Scratch {
            path: path.canonicalize().unwrap(),
        }
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
