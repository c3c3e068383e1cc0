//! The guest ABI: import module `"waven"` (DESIGN.md section 4).
//!
//! Every function takes and returns `i32` (but `wait`'s `i64` timeout);
//! results are `>= 0` on success or a negated errno. Every value the guest
//! passes is untrusted: addresses and lengths are checked by the MMU,
//! strings are read through the guest's own rights (`EFAULT`), names are
//! at most [`MAX_NAME`] bytes of UTF-8 (`EINVAL`).

use std::time::Duration;

use waven_mmu::{AddressSpace, Errno, Rights, PAGE_SIZE};
use waven_runtime::{Caller, Error, FuncType, Linker, Trap, Val, ValType};

use crate::futex::WaitOutcome;
use crate::registry::{Owner, Platform};

/// The import module name of the ABI.
pub const MODULE: &str = "waven";

/// The longest region or instance name, in bytes.
pub const MAX_NAME: u32 = 256;

/// One instance's view of the platform: who it is, and its open region
/// handles.
pub struct GuestContext {
    platform: Platform,
    instance: String,
    handles: Vec<Option<String>>,
}

impl GuestContext {
    /// The context of instance `instance` of `platform`.
    pub fn new(platform: Platform, instance: impl Into<String>) -> GuestContext {
        GuestContext {
            platform,
            instance: instance.into(),
            handles: Vec::new(),
        }
    }

    /// The instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn add_handle(&mut self, region: String) -> i32 {
        match self.handles.iter().position(Option::is_none) {
            Some(free) => {
                self.handles[free] = Some(region);
                free as i32
            }
            None => {
                self.handles.push(Some(region));
                self.handles.len() as i32 - 1
            }
        }
    }

    fn region(&self, handle: u32) -> Result<String, Errno> {
        self.handles
            .get(handle as usize)
            .and_then(Clone::clone)
            .ok_or(Errno::EBADF)
    }
}

type AbiResult = Result<i32, Errno>;

/// Finds an instance's context in the store's host state.
type GetContext<T> = fn(&mut T) -> &mut GuestContext;

/// The body of one ABI function.
type Body<T> = fn(&mut Caller<'_, T>, GetContext<T>, &Args<'_>) -> AbiResult;

/// The arguments of a call, as the ABI reads them.
struct Args<'a>(&'a [Val]);

impl Args<'_> {
    fn u32(&self, i: usize) -> u32 {
        match self.0[i] {
            Val::I32(v) => v as u32,
            _ => 0,
        }
    }

    fn i64(&self, i: usize) -> i64 {
        match self.0[i] {
            Val::I64(v) => v,
            _ => 0,
        }
    }

    fn rights(&self, i: usize) -> Result<Rights, Errno> {
        Rights::try_from(self.u32(i)).map_err(|_| Errno::EINVAL)
    }
}

/// The caller's address space (`ENOSYS` on plain memory).
fn space<T>(caller: &mut Caller<'_, T>) -> Result<AddressSpace, Errno> {
    let memory = caller.memory().ok_or(Errno::ENOSYS)?;
    memory.address_space(caller.store()).ok_or(Errno::ENOSYS)
}

/// Reads a name from guest memory with the guest's rights.
fn read_name<T>(caller: &mut Caller<'_, T>, ptr: u32, len: u32) -> Result<String, Errno> {
    if len == 0 || len > MAX_NAME {
        return Err(Errno::EINVAL);
    }
    let space = space(caller)?;
    let mut bytes = vec![0; len as usize];
    space
        .read_bytes(ptr as u64, &mut bytes)
        .map_err(|fault| fault.errno())?;
    String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}

fn define<T: 'static>(
    linker: &mut Linker<T>,
    name: &str,
    params: &[ValType],
    get: GetContext<T>,
    body: Body<T>,
) -> Result<(), Error> {
    let ty = FuncType::new(params.iter().copied(), [ValType::I32]);
    linker.func_new(MODULE, name, ty, move |mut caller, args, results| {
        let value = match body(&mut caller, get, &Args(args)) {
            Ok(value) => value,
            Err(errno) => -(errno.0 as i32),
        };
        results[0] = Val::I32(value);
        Ok::<(), Trap>(())
    })
}

/// Defines every function of the `waven` module in `linker`; `get` finds
/// the instance's [`GuestContext`] in the store's host state.
///
/// # Errors
///
/// [`Error::DuplicateDefinition`] if the linker defines them already.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut GuestContext,
) -> Result<(), Error> {
    use ValType::{I32, I64};
    define(
        linker,
        "page_size",
        &[],
        get,
        |_, _, _| Ok(PAGE_SIZE as i32),
    )?;
    define(
        linker,
        "protect",
        &[I32, I32, I32],
        get,
        |caller, _, args| {
            let rights = args.rights(2)?;
            let space = space(caller)?;
            space
                .protect(args.u32(0) as u64, args.u32(1) as u64, rights)
                .map_err(|e| e.errno())?;
            Ok(0)
        },
    )?;
    define(linker, "unmap", &[I32, I32], get, |caller, _, args| {
        let space = space(caller)?;
        space
            .unmap(args.u32(0) as u64, args.u32(1) as u64)
            .map_err(|e| e.errno())?;
        Ok(0)
    })?;
    define(
        linker,
        "map_anon",
        &[I32, I32, I32],
        get,
        |caller, _, args| {
            let rights = args.rights(2)?;
            let space = space(caller)?;
            space
                .map_anon(args.u32(0) as u64, args.u32(1) as u64, rights)
                .map_err(|e| e.errno())?;
            Ok(0)
        },
    )?;
    define(linker, "discard", &[I32, I32], get, |caller, _, args| {
        let space = space(caller)?;
        space
            .discard(args.u32(0) as u64, args.u32(1) as u64)
            .map_err(|e| e.errno())?;
        Ok(0)
    })?;
    define(
        linker,
        "share",
        &[I32, I32, I32, I32, I32],
        get,
        |caller, get, args| {
            let max_rights = args.rights(4)?;
            let name = read_name(caller, args.u32(2), args.u32(3))?;
            let space = space(caller)?;
            let ctx = get(caller.data_mut());
            let platform = ctx.platform.clone();
            let instance = ctx.instance.clone();
            let (addr, len) = (args.u32(0) as u64, args.u32(1) as u64);
            platform.share(&instance, &space, addr, len, &name, max_rights)?;
            Ok(get(caller.data_mut()).add_handle(name))
        },
    )?;
    define(
        linker,
        "grant",
        &[I32, I32, I32, I32],
        get,
        |caller, get, args| {
            let rights = args.rights(3)?;
            let who = read_name(caller, args.u32(1), args.u32(2))?;
            let ctx = get(caller.data_mut());
            let region = ctx.region(args.u32(0))?;
            let owner = Owner::Instance(ctx.instance.clone());
            ctx.platform.grant(&owner, &region, &who, rights, None)?;
            Ok(0)
        },
    )?;
    define(
        linker,
        "revoke",
        &[I32, I32, I32],
        get,
        |caller, get, args| {
            let who = read_name(caller, args.u32(1), args.u32(2))?;
            let ctx = get(caller.data_mut());
            let region = ctx.region(args.u32(0))?;
            let owner = Owner::Instance(ctx.instance.clone());
            ctx.platform.revoke(&owner, &region, &who)?;
            Ok(0)
        },
    )?;
    define(linker, "open", &[I32, I32], get, |caller, get, args| {
        let name = read_name(caller, args.u32(0), args.u32(1))?;
        let ctx = get(caller.data_mut());
        ctx.platform.open(&ctx.instance, &name)?;
        Ok(ctx.add_handle(name))
    })?;
    define(linker, "map", &[I32, I32, I32], get, |caller, get, args| {
        let rights = args.rights(2)?;
        space(caller)?; // ENOSYS on plain memory
        let ctx = get(caller.data_mut());
        let region = ctx.region(args.u32(0))?;
        let (platform, instance) = (ctx.platform.clone(), ctx.instance.clone());
        let addr = match args.u32(1) {
            u32::MAX => platform.map_at_end(&instance, &region, rights)?,
            addr => {
                platform.map(&instance, &region, addr as u64, rights)?;
                addr as u64
            }
        };
        i32::try_from(addr).map_err(|_| Errno::EINVAL)
    })?;
    define(linker, "region_size", &[I32], get, |caller, get, args| {
        let ctx = get(caller.data_mut());
        let region = ctx.region(args.u32(0))?;
        let size = ctx.platform.region_size(&region)?;
        i32::try_from(size).map_err(|_| Errno::EINVAL)
    })?;
    define(linker, "close", &[I32], get, |caller, get, args| {
        let ctx = get(caller.data_mut());
        ctx.region(args.u32(0))?;
        ctx.handles[args.u32(0) as usize] = None;
        Ok(0)
    })?;
    define(
        linker,
        "wait",
        &[I32, I32, I64],
        get,
        |caller, get, args| {
            let (addr, expected, timeout) = (args.u32(0) as u64, args.u32(1), args.i64(2));
            if !addr.is_multiple_of(4) {
                return Err(Errno::EINVAL);
            }
            let space = space(caller)?;
            space.read::<4>(addr).map_err(|fault| fault.errno())?;
            let key = futex_key(&space, addr);
            let platform = get(caller.data_mut()).platform.clone();
            let still_expected =
                || space.read::<4>(addr).map(u32::from_le_bytes).ok() == Some(expected);
            let timeout = u64::try_from(timeout).ok().map(Duration::from_nanos);
            let outcome = platform.shared.futex.wait(key, still_expected, timeout);
            Ok(outcome as i32)
        },
    )?;
    define(linker, "notify", &[I32, I32], get, |caller, get, args| {
        let addr = args.u32(0) as u64;
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let space = space(caller)?;
        space.read::<4>(addr).map_err(|fault| fault.errno())?;
        let key = futex_key(&space, addr);
        let platform = get(caller.data_mut()).platform.clone();
        Ok(platform.shared.futex.notify(key, args.u32(1)) as i32)
    })?;
    Ok(())
}

/// The futex key of an address: its frame and offset, or, for a page
/// without a frame of its own (a zero page, shared with nobody), a key
/// outside the frames' range (waiters there may only time out or be
/// woken spuriously).
fn futex_key(space: &AddressSpace, addr: u64) -> u64 {
    space.frame_key(addr).unwrap_or(u64::MAX - addr)
}

impl From<WaitOutcome> for i32 {
    fn from(outcome: WaitOutcome) -> i32 {
        outcome as i32
    }
}
