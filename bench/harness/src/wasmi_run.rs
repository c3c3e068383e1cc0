//! `waven-bench wasmi-run FILE [ARGS]`: runs a WASI command module on
//! wasmi with the few WASI functions the kernels use.
//!
//! wasmi's own WASI crate pulls in a large dependency tree; the kernels
//! need only arguments, stdout/stderr, a monotonic clock and exit, so this
//! shim provides those and answers every other WASI import with ENOSYS.
//! The kernels' timed sections make no WASI calls, so the shim does not
//! affect the figures.

use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use wasmi::{Caller, CompilationMode, Config, Engine, Extern, Linker, Module, Store, Val};

const WASI: &str = "wasi_snapshot_preview1";
/// The WASI functions [`define`] provides.
const PROVIDED: [&str; 10] = [
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "fd_write",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_close",
    "clock_time_get",
    "proc_exit",
];
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;

/// State of one run.
struct RunState {
    args: Vec<Vec<u8>>,
    started: Instant,
}

/// Runs `file`'s `_start` with `args` (the program's argv after argv[0]);
/// returns its exit status.
pub fn run(file: &str, args: &[String]) -> Result<i32> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    // Eager translation, so that wasmi's compilation happens before the
    // kernel's clock starts (its default translates each function lazily,
    // on first call).
    let mut config = Config::default();
    config.compilation_mode(CompilationMode::Eager);
    // Recursion as deep as waven and wasmtime allow by default (wasmi's
    // default stops at 1,000 frames; the ackermann kernel needs 4,096).
    config.set_max_recursion_depth(10_000);
    config.set_max_stack_height(8_000_000);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, &bytes).map_err(|e| anyhow!("{file}: {e}"))?;
    let mut argv = vec![file.as_bytes().to_vec()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let mut store = Store::new(
        &engine,
        RunState {
            args: argv,
            started: Instant::now(),
        },
    );
    let mut linker = Linker::new(&engine);
    define(&mut linker)?;
    for import in module.imports() {
        if import.module() == WASI && !PROVIDED.contains(&import.name()) {
            if let wasmi::ExternType::Func(ty) = import.ty() {
                let returns_errno = ty.results().len() == 1;
                let name = import.name().to_owned();
                linker
                    .func_new(WASI, import.name(), ty.clone(), move |_, _, results| {
                        if returns_errno {
                            results[0] = Val::I32(ENOSYS);
                            Ok(())
                        } else {
                            Err(wasmi::Error::new(format!("{name} is not provided")))
                        }
                    })
                    .map_err(|e| anyhow!("{e}"))?;
            }
        }
    }
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .map_err(|e| anyhow!("{e}"))?;
    let start = instance
        .get_typed_func::<(), ()>(&store, "_start")
        .map_err(|e| anyhow!("_start: {e}"))?;
    match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(error) => match error.i32_exit_status() {
            Some(status) => Ok(status),
            None => Err(anyhow!("trap: {error}")),
        },
    }
}

fn define(linker: &mut Linker<RunState>) -> Result<()> {
    let e = |error: wasmi::errors::LinkerError| anyhow!("{error}");
    linker
        .func_wrap(
            WASI,
            "args_sizes_get",
            |mut c: Caller<'_, RunState>, count: i32, size: i32| {
                let n = c.data().args.len() as u32;
                let bytes: u32 = c.data().args.iter().map(|a| a.len() as u32 + 1).sum();
                errno(store_u32(&mut c, count, n).and_then(|()| store_u32(&mut c, size, bytes)))
            },
        )
        .map_err(e)?
        .func_wrap(
            WASI,
            "args_get",
            |mut c: Caller<'_, RunState>, argv: i32, buf: i32| {
                let args = c.data().args.clone();
                let mut at = buf as u32;
                let mut result = Ok(());
                for (i, arg) in args.iter().enumerate() {
                    let mut text = arg.clone();
                    text.push(0);
                    result = result
                        .and_then(|()| store_u32(&mut c, argv.wrapping_add(4 * i as i32), at))
                        .and_then(|()| store(&mut c, at, &text));
                    at = at.wrapping_add(text.len() as u32);
                }
                errno(result)
            },
        )
        .map_err(e)?
        .func_wrap(
            WASI,
            "environ_sizes_get",
            |mut c: Caller<'_, RunState>, count: i32, size: i32| {
                errno(store_u32(&mut c, count, 0).and_then(|()| store_u32(&mut c, size, 0)))
            },
        )
        .map_err(e)?
        .func_wrap(
            WASI,
            "environ_get",
            |_: Caller<'_, RunState>, _: i32, _: i32| SUCCESS,
        )
        .map_err(e)?
        .func_wrap(WASI, "fd_write", fd_write)
        .map_err(e)?
        .func_wrap(
            WASI,
            "fd_fdstat_get",
            |mut c: Caller<'_, RunState>, fd: i32, stat: i32| {
                if !(0..=2).contains(&fd) {
                    return EBADF;
                }
                // Character device, no flags, every right.
                let mut bytes = [0u8; 24];
                bytes[0] = 2;
                bytes[8..24].fill(0xff);
                errno(store(&mut c, stat as u32, &bytes))
            },
        )
        .map_err(e)?
        .func_wrap(
            WASI,
            "fd_prestat_get",
            |_: Caller<'_, RunState>, _: i32, _: i32| EBADF,
        )
        .map_err(e)?
        .func_wrap(WASI, "fd_close", |_: Caller<'_, RunState>, fd: i32| {
            if (0..=2).contains(&fd) {
                SUCCESS
            } else {
                EBADF
            }
        })
        .map_err(e)?
        .func_wrap(
            WASI,
            "clock_time_get",
            |mut c: Caller<'_, RunState>, id: i32, _: i64, time: i32| {
                let nanos = match id {
                    0 => SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64),
                    1 => c.data().started.elapsed().as_nanos() as u64,
                    _ => return EINVAL,
                };
                errno(store(&mut c, time as u32, &nanos.to_le_bytes()))
            },
        )
        .map_err(e)?
        .func_wrap(
            WASI,
            "proc_exit",
            |_: Caller<'_, RunState>, status: i32| -> Result<(), wasmi::Error> {
                Err(wasmi::Error::i32_exit(status))
            },
        )
        .map_err(e)?;
    Ok(())
}

fn fd_write(mut c: Caller<'_, RunState>, fd: i32, iovs: i32, count: i32, written: i32) -> i32 {
    let Ok(memory) = memory(&mut c) else {
        return EFAULT;
    };
    // Every range is checked against the memory before anything is
    // copied, so a guest-given length never sizes a host allocation.
    let bytes = memory.data(&c);
    let range = |at: u32, len: u32| bytes.get(at as usize..at as usize + len as usize);
    let mut data = Vec::new();
    for i in 0..count.max(0) as u32 {
        let Some(iov) = range((iovs as u32).wrapping_add(8 * i), 8) else {
            return EFAULT;
        };
        let word = |at: usize| u32::from_le_bytes([iov[at], iov[at + 1], iov[at + 2], iov[at + 3]]);
        let Some(buffer) = range(word(0), word(4)) else {
            return EFAULT;
        };
        data.extend_from_slice(buffer);
    }
    let ok = match fd {
        1 => std::io::stdout()
            .write_all(&data)
            .and_then(|()| std::io::stdout().flush()),
        2 => std::io::stderr().write_all(&data),
        _ => return EBADF,
    };
    if ok.is_err() {
        return EBADF;
    }
    errno(store_u32(&mut c, written, data.len() as u32))
}

fn memory(c: &mut Caller<'_, RunState>) -> Result<wasmi::Memory, ()> {
    c.get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or(())
}

fn store(c: &mut Caller<'_, RunState>, at: u32, bytes: &[u8]) -> Result<(), ()> {
    let memory = memory(c)?;
    memory.write(&mut *c, at as usize, bytes).map_err(|_| ())
}

fn store_u32(c: &mut Caller<'_, RunState>, at: i32, value: u32) -> Result<(), ()> {
    store(c, at as u32, &value.to_le_bytes())
}

fn errno(result: Result<(), ()>) -> i32 {
    match result {
        Ok(()) => SUCCESS,
        Err(()) => EFAULT,
    }
}
