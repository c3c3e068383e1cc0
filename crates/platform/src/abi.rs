//! The guest ABI: import module `"waven"` (DESIGN.md section 4).
//!
//! Every function takes and returns `i32` (but `wait`'s `i64` timeout). A
//! result in `-4095..=-1` is a negated errno; any other value is success,
//! so `map` returns addresses at or above 2 GiB (negative as `i32`). A call
//! that fails changes nothing. Every value the guest passes is untrusted:
//! addresses and lengths are checked by the MMU, strings are read through
//! the guest's own rights (`EFAULT`), names are UTF-8 of at most
//! [`MAX_NAME`] bytes per part (`EINVAL`).
//!
//! Region names are scoped by their owner (see [`crate::registry`]):
//! `share` takes a name without `/` in the caller's namespace; `open`
//! takes `name` (the caller's own) or `owner/name`.
//!
//! What a guest makes the host keep (handles, waiters, and through the
//! registry regions and grants) is bounded by its tenant's
//! [`TenantLimits`]; beyond, the call returns `ENOMEM`.

use std::time::Duration;

use waven_mmu::{AddressSpace, Errno, PageKind, Rights, PAGE_SIZE};
use waven_runtime::{Caller, Error, FuncType, Linker, Trap, TrapKind, Val, ValType};

use crate::futex::{FutexKey, WaitOutcome, Waiter};
use crate::limits::TenantLimits;
use crate::registry::{Owner, Platform, RegionPath};

pub use crate::registry::MAX_NAME;

/// The import module name of the ABI.
pub const MODULE: &str = "waven";

/// The longest name `open` takes: `owner/name`, each part at most
/// [`MAX_NAME`] bytes.
pub const MAX_PATH: u32 = 2 * MAX_NAME + 1;

/// A flag of `map`'s rights argument: set the translation of every page
/// of the mapping now (the MMU's `AddressSpace::prefault`) instead of on
/// each 2 MiB stretch's first touch. Best effort: if the host cannot hold
/// the page state, the mapping stays and fills on touch.
pub const MAP_PREFAULT: u32 = 0x100;

/// One instance's view of the platform: who it is, its tenant's limits,
/// and its open region handles.
pub struct GuestContext {
    platform: Platform,
    instance: String,
    tenant: String,
    limits: TenantLimits,
    /// Full region names (`owner/name`) by handle; `None` for a closed one.
    handles: Vec<Option<String>>,
    /// Closed handles, reused before the table grows (O(1) allocation).
    free: Vec<u32>,
    /// Handles open now.
    open: usize,
}

impl GuestContext {
    /// The context of instance `instance` of `platform`, with the limits
    /// of its tenant as [`Platform::add_instance`] registered them (the
    /// defaults for an instance not registered yet).
    pub fn new(platform: Platform, instance: impl Into<String>) -> GuestContext {
        let instance = instance.into();
        let (tenant, limits) = platform
            .tenant_of(&instance)
            .unwrap_or_else(|| (instance.clone(), TenantLimits::default()));
        GuestContext {
            platform,
            instance,
            tenant,
            limits,
            handles: Vec::new(),
            free: Vec::new(),
            open: 0,
        }
    }

    /// The instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// How many handles are open.
    pub fn open_handles(&self) -> usize {
        self.open
    }

    /// `ENOMEM` when the tenant's handle limit is reached (checked before
    /// anything changes, so that `share` cannot make a region and then
    /// fail for want of a handle).
    fn reserve_handle(&self) -> Result<(), Errno> {
        // Handles are non-negative i32s, whatever the limit says.
        let limit = self.limits.handles.min(i32::MAX as usize);
        if self.open >= limit {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    fn add_handle(&mut self, region: String) -> Result<i32, Errno> {
        self.reserve_handle()?;
        self.open += 1;
        match self.free.pop() {
            Some(free) => {
                self.handles[free as usize] = Some(region);
                Ok(free as i32)
            }
            None => {
                self.handles.push(Some(region));
                Ok(self.handles.len() as i32 - 1)
            }
        }
    }

    fn region(&self, handle: u32) -> Result<String, Errno> {
        self.handles
            .get(handle as usize)
            .and_then(Clone::clone)
            .ok_or(Errno::EBADF)
    }

    fn close(&mut self, handle: u32) -> Result<(), Errno> {
        let slot = self
            .handles
            .get_mut(handle as usize)
            .filter(|slot| slot.is_some())
            .ok_or(Errno::EBADF)?;
        *slot = None;
        self.free.push(handle);
        self.open -= 1;
        Ok(())
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

/// Reads a name of at most `max` bytes from guest memory with the guest's
/// rights.
fn read_name<T>(caller: &mut Caller<'_, T>, ptr: u32, len: u32, max: u32) -> Result<String, Errno> {
    if len == 0 || len > max {
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
        // A deadline or shutdown that ended a blocking call (`wait`) stops
        // the guest instead of returning.
        if caller.interrupt_handle().is_interrupted() {
            return Err(Trap::from(TrapKind::Interrupted));
        }
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
            let name = read_name(caller, args.u32(2), args.u32(3), MAX_NAME)?;
            let space = space(caller)?;
            let ctx = get(caller.data_mut());
            ctx.reserve_handle()?;
            let platform = ctx.platform.clone();
            let instance = ctx.instance.clone();
            let (addr, len) = (args.u32(0) as u64, args.u32(1) as u64);
            platform.share(&instance, &space, addr, len, &name, max_rights)?;
            get(caller.data_mut()).add_handle(format!("{instance}/{name}"))
        },
    )?;
    define(
        linker,
        "grant",
        &[I32, I32, I32, I32],
        get,
        |caller, get, args| {
            let rights = args.rights(3)?;
            let who = read_name(caller, args.u32(1), args.u32(2), MAX_NAME)?;
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
            let who = read_name(caller, args.u32(1), args.u32(2), MAX_NAME)?;
            let ctx = get(caller.data_mut());
            let region = ctx.region(args.u32(0))?;
            let owner = Owner::Instance(ctx.instance.clone());
            ctx.platform.revoke(&owner, &region, &who)?;
            Ok(0)
        },
    )?;
    define(linker, "open", &[I32, I32], get, |caller, get, args| {
        let name = read_name(caller, args.u32(0), args.u32(1), MAX_PATH)?;
        let ctx = get(caller.data_mut());
        ctx.reserve_handle()?;
        let owner = Owner::Instance(ctx.instance.clone());
        let path = RegionPath::resolve(&name, &owner)?;
        ctx.platform.open(&ctx.instance, &name)?;
        ctx.add_handle(path.to_string())
    })?;
    define(linker, "map", &[I32, I32, I32], get, |caller, get, args| {
        let flags = args.u32(2);
        let prefault = flags & MAP_PREFAULT != 0;
        let rights = Rights::try_from(flags & !MAP_PREFAULT).map_err(|_| Errno::EINVAL)?;
        let space = space(caller)?; // ENOSYS on plain memory
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
        if prefault {
            // The region is mapped; a prefault that fails leaves its pages
            // to fill on first touch, so it is not an error.
            let size = platform.region_size(&region)?;
            let _ = space.prefault(addr, size);
        }
        // Any page-aligned address is a success value, also at or above
        // 2 GiB (negative as i32): the region is mapped by now, so this
        // must not report failure.
        Ok(addr as u32 as i32)
    })?;
    define(linker, "region_size", &[I32], get, |caller, get, args| {
        let ctx = get(caller.data_mut());
        let region = ctx.region(args.u32(0))?;
        let size = ctx.platform.region_size(&region)?;
        // Sizes are page multiples: up to 4 GiB - 4 KiB they never fall in
        // the error range.
        u32::try_from(size)
            .map(|size| size as i32)
            .map_err(|_| Errno::EINVAL)
    })?;
    define(linker, "close", &[I32], get, |caller, get, args| {
        get(caller.data_mut()).close(args.u32(0))?;
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
            let ctx = get(caller.data_mut());
            let (platform, tenant) = (ctx.platform.clone(), ctx.tenant.clone());
            let waiter = Waiter {
                tenant: &tenant,
                limit: ctx.limits.waiters,
            };
            let still_expected =
                || space.read::<4>(addr).map(u32::from_le_bytes).ok() == Some(expected);
            let timeout = u64::try_from(timeout).ok().map(Duration::from_nanos);
            let interrupt = caller.interrupt_handle().clone();
            let outcome =
                platform
                    .shared
                    .futex
                    .wait(key, &waiter, still_expected, timeout, &interrupt)?;
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

/// The futex key of an address: on a page of a region (the only frames
/// that several spaces map on purpose), the frame and offset; on any other
/// page, this space and the address. A zero page has no frame, and a
/// copy-on-write page's frame is shared with clones that may belong to
/// other tenants: keyed by frame, they would let tenants that share
/// nothing wake each other.
fn futex_key(space: &AddressSpace, addr: u64) -> FutexKey {
    let shared = matches!(
        space.page_info(addr).map(|info| info.kind),
        Some(PageKind::Shared(_))
    );
    match space.frame_key(addr) {
        Some(frame) if shared => FutexKey::Frame(frame),
        _ => FutexKey::Private(space.id(), addr),
    }
}

impl From<WaitOutcome> for i32 {
    fn from(outcome: WaitOutcome) -> i32 {
        outcome as i32
    }
}
