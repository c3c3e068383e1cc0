//! The contract between compiled code and the runtime that runs it: the
//! layout of the structures compiled code reads and writes, the runtime
//! functions (*libcalls*) it calls, and how traps travel.
//!
//! The compiler (`waven-cranelift`) emits code against these definitions;
//! the runtime (`waven-runtime`) builds the structures and provides the
//! libcalls. Neither sees the other's code, so everything they share is
//! here, with byte offsets fixed by `#[repr(C)]` and checked by tests.
//!
//! ```text
//!  VMContext (one per instance)          VMRuntime (one per store)
//!  ├─ runtime ─────────────────────────► ├─ fuel, depth_left, stack_limit
//!  ├─ memory0 ──► VMMemory               ├─ doorbell ──► u8 (waven_mmu::Doorbell)
//!  ├─ memories ─► [*mut VMMemory]        ├─ trap (pending trap code)
//!  ├─ globals ──► [*mut VMGlobal]        ├─ funcrefs ──► [VMFuncRef] by store index
//!  ├─ funcs ────► [VMFuncRef] by func index
//!  ├─ tables ───► [*mut VMTable]         └─ libcalls ──► [fn ptr] by Libcall
//!  └─ sig_ids ──► [u32] by type index
//! ```
//!
//! # Values
//!
//! Every value crosses the boundary as a 16-byte [`VMVal`] slot (room for
//! `v128`): `i32` and `f32` in the low 4 bytes (little-endian), `i64` and
//! `f64` in the low 8, references as a `u64` *cell*: 0 is null, otherwise a
//! `funcref` is the store's function index plus one, an `externref` the
//! host's number plus one. Table elements and globals hold the same cells.
//! In compiled code references are `i64`.
//!
//! # Calls
//!
//! Compiled Wasm functions have a calling convention of the compiler's
//! choosing (only compiled code calls them) with two leading pointer
//! parameters, the callee's and the caller's `VMContext`, then the Wasm
//! parameters; they return the Wasm results. The runtime enters compiled
//! code only through *entry trampolines*, one per type index of a module,
//! with the platform's C calling convention and the signature of
//! [`EntryTrampoline`]: it loads the arguments from `values`, calls `code`,
//! and stores the results to `values` (which has room for
//! `max(params, results)` slots).
//!
//! A [`VMFuncRef`] with a null `code` is a host function: compiled code
//! calls [`Libcall::HostCall`] with its store index and the arguments
//! spilled to a `VMVal` array, then reads the results from that array.
//!
//! # Traps
//!
//! No signal, no unwinding. Compiled code never executes a trapping
//! machine instruction on purpose: it tests every trap condition (bounds,
//! division by zero, overflow, conversions, null and mismatched indirect
//! calls, stack and depth, fuel, interrupts) with ordinary branches. To
//! trap it stores a [`TrapCode`] in [`VMRuntime::trap`] (if none is there
//! yet) and returns from the function with zero results. After every call
//! (of a Wasm function or of a libcall that may trap) it tests
//! `VMRuntime::trap` and, if non-zero, returns at once likewise. The entry
//! trampoline returns normally; the runtime reads the trap. Libcalls that
//! trap set `trap` themselves (host traps with their message are kept by
//! the runtime; the code is then [`TrapCode::Host`]).
//!
//! # Stack and depth
//!
//! At entry every function decrements [`VMRuntime::depth_left`] and traps
//! with [`TrapCode::StackExhausted`] if it was 0 (the interpreter's call
//! depth limit, so both engines exhaust at the same depth), and traps
//! likewise if the native stack pointer minus the function's frame size
//! (an upper bound the compiler knows) is below
//! [`VMRuntime::stack_limit`]. Every return (normal or trap) increments
//! `depth_left` again.
//!
//! # Safepoints, fuel and interrupts
//!
//! At function entry and at every loop header compiled code:
//! 1. when fuel is on, charges the segment's cost as [`crate::fuel`] says:
//!    if `fuel < cost` it traps with [`TrapCode::OutOfFuel`] leaving `fuel`
//!    unchanged, else it subtracts;
//! 2. loads the store's doorbell byte ([`VMRuntime::doorbell`], an atomic
//!    load, which also keeps Cranelift from reusing a table entry loaded
//!    before the safepoint) and, if it is non-zero, calls
//!    [`Libcall::Safepoint`]: the runtime acknowledges the shootdowns the
//!    MMU asked of the store's pins (the MMU rings the doorbell after each
//!    request) and, if the store was interrupted (the interrupt handle
//!    rings it too), records a trap of kind "interrupted" raised by the
//!    host ([`TrapCode::Host`]), which the caller's trap test then sees.
//!    After the acknowledgement no access translated before the safepoint
//!    is in flight, which is what makes revocation final on compiled code; see
//!    `waven_mmu::Doorbell` for why no request is missed.
//!
//! # Memory accesses
//!
//! The effective address is `u64`: the zero-extended `i32` index plus the
//! static offset (no overflow is possible for 32-bit memories).
//!
//! *Virtual* memory ([`VMMemory`] tables of the software MMU), an access of
//! `n` bytes at `addr`:
//! ```text
//!   leaf = directory[addr >> 21]          (never null: a shared zero leaf)
//!   p = leaf[(addr >> 12) & 511]          (+ 4096 bytes for stores)
//!   if p == 0                             → slow path
//!   if (addr & 0xfff) > 4096 - n          → slow path   (may cross a page)
//!   access p + (addr & 0xfff)
//! ```
//! The directory has an entry for every address below 2^33, which covers
//! every access of a 32-bit memory, so there is no bounds check (see
//! [`TABLE_DIRECTORY_SHIFT`] and the MMU's `tables.rs`).
//! The slow path is [`SlowPathStub::Load`] / [`SlowPathStub::Store`]
//! (calling [`Libcall::LoadSlow`] / [`Libcall::StoreSlow`]), which goes
//! through the MMU (page crossing, zero and copy-on-write pages, faults,
//! bounds) and may trap.
//!
//! *Plain* memory: `if addr + n > bound → trap MemoryOutOfBounds`, else
//! access `base + addr`.
//!
//! The directory pointer of a virtual memory never changes while its
//! instance lives (each activation writes the same value): compiled code
//! loads it once per call. Directory entries change only from the zero
//! leaf to a leaf of the space's own, which then lives as long as the
//! space, so an entry loaded before a slow path is stale at worst (the
//! zero leaf: the slow path again), never dangling. `base` and `bound` of a plain memory may change at any call (host
//! calls, `memory.grow`): compiled code reloads them after calls and
//! control-flow joins.

/// The size of one value slot at the boundary.
pub const VAL_SLOT_BYTES: u32 = 16;

/// One value at the boundary (see the module docs for the encoding).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VMVal {
    /// The value's bits, little-endian, low word first.
    pub bits: [u64; 2],
}

/// The entry trampoline of one function type.
pub type EntryTrampoline = unsafe extern "C" fn(
    code: *const u8,
    callee_vmctx: *mut VMContext,
    caller_vmctx: *mut VMContext,
    values: *mut VMVal,
);

/// Why compiled code trapped (stored in [`VMRuntime::trap`]; 0 = none).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapCode {
    /// `unreachable`.
    Unreachable = 1,
    /// A memory access out of bounds (plain memory).
    MemoryOutOfBounds = 2,
    /// A table access out of bounds (`table.get`/`table.set`, bulk table
    /// operations).
    TableOutOfBounds = 3,
    /// `call_indirect` with an index beyond the table.
    UndefinedElement = 4,
    /// `call_indirect` through a null entry.
    UninitializedElement = 5,
    /// `call_indirect` to a function of another type.
    IndirectCallTypeMismatch = 6,
    /// Integer division or remainder by zero.
    IntegerDivideByZero = 7,
    /// Integer overflow (division, trapping truncation).
    IntegerOverflow = 8,
    /// Trapping truncation of NaN.
    InvalidConversionToInteger = 9,
    /// Call depth or native stack exhausted.
    StackExhausted = 10,
    /// Fuel ran out.
    OutOfFuel = 11,
    /// The store was interrupted.
    Interrupted = 12,
    /// A libcall trapped with a trap the runtime keeps (memory faults, host
    /// errors, exits).
    Host = 13,
}

impl TrapCode {
    /// The trap code with this number, if any.
    pub fn from_u32(code: u32) -> Option<TrapCode> {
        use TrapCode::*;
        Some(match code {
            1 => Unreachable,
            2 => MemoryOutOfBounds,
            3 => TableOutOfBounds,
            4 => UndefinedElement,
            5 => UninitializedElement,
            6 => IndirectCallTypeMismatch,
            7 => IntegerDivideByZero,
            8 => IntegerOverflow,
            9 => InvalidConversionToInteger,
            10 => StackExhausted,
            11 => OutOfFuel,
            12 => Interrupted,
            13 => Host,
            _ => return None,
        })
    }
}

/// The slow-path stubs of a module's code: small functions the compiler
/// emits into every module's text, after the defined functions
/// (`CompiledCode::funcs[num_defined + stub as usize]`).
///
/// Guest code calls them, from the cold path of a memory access, with a
/// calling convention that preserves every register (Cranelift's
/// `preserve_all`), so that a possible slow path costs the hot path no
/// register: values stay in caller-saved registers across it instead of
/// being spilled around a C call. A stub saves what it uses, calls the
/// matching [`Libcall`] with the C convention and returns nothing:
///
/// * [`SlowPathStub::Load`] `(vmctx, memory: u32, addr: u64, size: u32)`:
///   [`Libcall::LoadSlow`], its result stored to
///   [`VMRuntime::slow_result`];
/// * [`SlowPathStub::Store`] `(vmctx, memory: u32, addr: u64, size: u32,
///   value: u64)`: [`Libcall::StoreSlow`];
/// * [`SlowPathStub::Safepoint`] `(vmctx)`: [`Libcall::Safepoint`], when
///   the doorbell rang at a safepoint.
///
/// All may trap like their libcalls (the caller tests
/// [`VMRuntime::trap`] afterwards).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowPathStub {
    /// A load through the MMU.
    Load = 0,
    /// A store through the MMU.
    Store = 1,
    /// A safepoint whose doorbell rang.
    Safepoint = 2,
}

impl SlowPathStub {
    /// How many stubs every module's code has.
    pub const COUNT: u32 = 3;

    /// Every stub, in text order.
    pub const ALL: [SlowPathStub; 3] = [
        SlowPathStub::Load,
        SlowPathStub::Store,
        SlowPathStub::Safepoint,
    ];

    /// The libcall the stub calls.
    pub fn libcall(self) -> Libcall {
        match self {
            SlowPathStub::Load => Libcall::LoadSlow,
            SlowPathStub::Store => Libcall::StoreSlow,
            SlowPathStub::Safepoint => Libcall::Safepoint,
        }
    }
}

/// The runtime functions compiled code calls, through
/// [`VMRuntime::libcalls`] (index = discriminant). All use the platform's C
/// calling convention; `vmctx` is the calling instance's context, memory,
/// table, data and element indices are the calling module's. Those marked
/// "may trap" set [`VMRuntime::trap`] on failure and return 0.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libcall {
    /// `fn(vmctx, memory: u32, addr: u64, size: u32) -> u64`: loads `size`
    /// (1, 2, 4 or 8) bytes through the MMU, zero-extended. May trap.
    LoadSlow = 0,
    /// `fn(vmctx, memory: u32, addr: u64, size: u32, value: u64)`: stores
    /// the low `size` bytes of `value` through the MMU. May trap.
    StoreSlow = 1,
    /// `fn(vmctx, memory: u32) -> u64`: `memory.size` in Wasm pages.
    MemorySize = 2,
    /// `fn(vmctx, memory: u32, delta: u64) -> u64`: `memory.grow`; the old
    /// size in Wasm pages, or `u64::MAX` if it cannot grow.
    MemoryGrow = 3,
    /// `fn(vmctx, memory: u32, dst: u64, value: u32, len: u64)`:
    /// `memory.fill`. May trap.
    MemoryFill = 4,
    /// `fn(vmctx, dst_memory: u32, src_memory: u32, dst: u64, src: u64,
    /// len: u64)`: `memory.copy`. May trap.
    MemoryCopy = 5,
    /// `fn(vmctx, memory: u32, data: u32, dst: u64, src: u32, len: u32)`:
    /// `memory.init`. May trap.
    MemoryInit = 6,
    /// `fn(vmctx, data: u32)`: `data.drop`.
    DataDrop = 7,
    /// `fn(vmctx, memory: u32, addr: u64, len: u64)`: `memory.discard`.
    /// May trap.
    MemoryDiscard = 8,
    /// `fn(vmctx, table: u32, delta: u32, init: u64) -> u32`:
    /// `table.grow`; the old size or `u32::MAX`.
    TableGrow = 9,
    /// `fn(vmctx, table: u32, dst: u32, value: u64, len: u32)`:
    /// `table.fill`. May trap.
    TableFill = 10,
    /// `fn(vmctx, dst_table: u32, src_table: u32, dst: u32, src: u32,
    /// len: u32)`: `table.copy`. May trap.
    TableCopy = 11,
    /// `fn(vmctx, table: u32, elem: u32, dst: u32, src: u32, len: u32)`:
    /// `table.init`. May trap.
    TableInit = 12,
    /// `fn(vmctx, elem: u32)`: `elem.drop`.
    ElemDrop = 13,
    /// `fn(vmctx, store_func: u32, values: *mut VMVal)`: calls host
    /// function `store_func` (a store index) with the arguments in
    /// `values`, leaving its results there. May trap.
    HostCall = 14,
    /// `fn(vmctx, func: u32)`: a frame of function `func` (an index of
    /// the calling module) leaves with a trap pending; called once per
    /// frame, innermost first, so that the runtime can report the trap's
    /// backtrace. Only on the way out of a trap.
    TrapFrame = 15,
    /// `fn(vmctx)`: the doorbell rang (see "Safepoints" above):
    /// acknowledges shootdowns and tests the interrupt. May trap.
    Safepoint = 16,
}

impl Libcall {
    /// How many libcalls there are.
    pub const COUNT: usize = 17;
}

/// What compiled code reaches of its store.
#[repr(C)]
#[derive(Debug)]
pub struct VMRuntime {
    /// Fuel left (when the module was compiled with fuel).
    pub fuel: u64,
    /// Calls left before the depth limit.
    pub depth_left: u64,
    /// The lowest native stack address compiled code may use.
    pub stack_limit: usize,
    /// The store's doorbell (a byte: non-zero = call
    /// [`Libcall::Safepoint`] at the next safepoint).
    pub doorbell: *const u8,
    /// The pending trap code (0: none).
    pub trap: u32,
    /// Padding.
    pub _pad: u32,
    /// The store's function references, by store function index.
    pub funcrefs: *const VMFuncRef,
    /// Libcall addresses, by [`Libcall`] discriminant.
    pub libcalls: *const usize,
    /// What [`SlowPathStub::Load`] loaded, for the code that called it.
    pub slow_result: u64,
}

/// A function reference: what a call through it needs.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VMFuncRef {
    /// The compiled function, or null for a host function.
    pub code: *const u8,
    /// The callee's context (null for a host function).
    pub vmctx: *mut VMContext,
    /// The canonical signature id (compared by `call_indirect`).
    pub sig: u32,
    /// The function's index in its store (for host calls).
    pub store_index: u32,
}

/// The shift from a guest address to its entry in a virtual memory's
/// directory (page offset and leaf index bits); the runtime checks that
/// the MMU agrees.
pub const TABLE_DIRECTORY_SHIFT: u32 = 21;

/// Pages per leaf of a virtual memory's tables.
pub const TABLE_LEAF_PAGES: u64 = 512;

/// Bytes from a leaf's read entry of a page to its write entry.
pub const TABLE_LEAF_WRITE_OFFSET: i32 = 4096;

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemory {
    /// Virtual: the directory of the translation tables (see the module
    /// docs).
    pub directory: *const usize,
    /// Plain: the first byte.
    pub base: *mut u8,
    /// Plain: the size in bytes.
    pub bound: u64,
}

/// A table as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMTable {
    /// The elements (cells).
    pub base: *mut u64,
    /// The number of elements.
    pub len: u64,
}

/// A global's cell (16 bytes, room for `v128`).
#[repr(C, align(16))]
#[derive(Debug, Default)]
pub struct VMGlobal {
    /// The value, encoded as a [`VMVal`].
    pub bits: [u64; 2],
}

/// The header of an instance's context. The runtime may keep more after
/// it; compiled code reads only these fields.
#[repr(C)]
#[derive(Debug)]
pub struct VMContext {
    /// The store's runtime block.
    pub runtime: *mut VMRuntime,
    /// Memory 0, or null if the instance has none.
    pub memory0: *mut VMMemory,
    /// Every memory, by memory index.
    pub memories: *const *mut VMMemory,
    /// Every global's cell, by global index.
    pub globals: *const *mut VMGlobal,
    /// Every function, by function index (imported ones first).
    pub funcs: *const VMFuncRef,
    /// Every table, by table index.
    pub tables: *const *mut VMTable,
    /// The canonical signature id of each type index.
    pub sig_ids: *const u32,
}

/// Byte offsets of the fields compiled code uses.
pub mod offsets {
    use std::mem::offset_of;

    use super::*;

    /// [`VMContext::runtime`].
    pub const VMCTX_RUNTIME: i32 = offset_of!(VMContext, runtime) as i32;
    /// [`VMContext::memory0`].
    pub const VMCTX_MEMORY0: i32 = offset_of!(VMContext, memory0) as i32;
    /// [`VMContext::memories`].
    pub const VMCTX_MEMORIES: i32 = offset_of!(VMContext, memories) as i32;
    /// [`VMContext::globals`].
    pub const VMCTX_GLOBALS: i32 = offset_of!(VMContext, globals) as i32;
    /// [`VMContext::funcs`].
    pub const VMCTX_FUNCS: i32 = offset_of!(VMContext, funcs) as i32;
    /// [`VMContext::tables`].
    pub const VMCTX_TABLES: i32 = offset_of!(VMContext, tables) as i32;
    /// [`VMContext::sig_ids`].
    pub const VMCTX_SIG_IDS: i32 = offset_of!(VMContext, sig_ids) as i32;

    /// [`VMRuntime::fuel`].
    pub const RUNTIME_FUEL: i32 = offset_of!(VMRuntime, fuel) as i32;
    /// [`VMRuntime::depth_left`].
    pub const RUNTIME_DEPTH_LEFT: i32 = offset_of!(VMRuntime, depth_left) as i32;
    /// [`VMRuntime::stack_limit`].
    pub const RUNTIME_STACK_LIMIT: i32 = offset_of!(VMRuntime, stack_limit) as i32;
    /// [`VMRuntime::doorbell`].
    pub const RUNTIME_DOORBELL: i32 = offset_of!(VMRuntime, doorbell) as i32;
    /// [`VMRuntime::trap`].
    pub const RUNTIME_TRAP: i32 = offset_of!(VMRuntime, trap) as i32;
    /// [`VMRuntime::funcrefs`].
    pub const RUNTIME_FUNCREFS: i32 = offset_of!(VMRuntime, funcrefs) as i32;
    /// [`VMRuntime::libcalls`].
    pub const RUNTIME_LIBCALLS: i32 = offset_of!(VMRuntime, libcalls) as i32;
    /// [`VMRuntime::slow_result`].
    pub const RUNTIME_SLOW_RESULT: i32 = offset_of!(VMRuntime, slow_result) as i32;

    /// [`VMFuncRef::code`].
    pub const FUNCREF_CODE: i32 = offset_of!(VMFuncRef, code) as i32;
    /// [`VMFuncRef::vmctx`].
    pub const FUNCREF_VMCTX: i32 = offset_of!(VMFuncRef, vmctx) as i32;
    /// [`VMFuncRef::sig`].
    pub const FUNCREF_SIG: i32 = offset_of!(VMFuncRef, sig) as i32;
    /// [`VMFuncRef::store_index`].
    pub const FUNCREF_STORE_INDEX: i32 = offset_of!(VMFuncRef, store_index) as i32;
    /// The size of a [`VMFuncRef`].
    pub const FUNCREF_SIZE: i32 = std::mem::size_of::<VMFuncRef>() as i32;

    /// [`VMMemory::directory`].
    pub const MEMORY_DIRECTORY: i32 = offset_of!(VMMemory, directory) as i32;
    /// [`VMMemory::base`].
    pub const MEMORY_BASE: i32 = offset_of!(VMMemory, base) as i32;
    /// [`VMMemory::bound`].
    pub const MEMORY_BOUND: i32 = offset_of!(VMMemory, bound) as i32;

    /// [`VMTable::base`].
    pub const TABLE_BASE: i32 = offset_of!(VMTable, base) as i32;
    /// [`VMTable::len`].
    pub const TABLE_LEN: i32 = offset_of!(VMTable, len) as i32;
}

#[cfg(test)]
mod tests {
    use super::offsets::*;
    use super::*;

    #[test]
    fn layouts_are_what_compiled_code_assumes() {
        assert_eq!(std::mem::size_of::<VMVal>(), VAL_SLOT_BYTES as usize);
        assert_eq!(std::mem::size_of::<VMGlobal>(), 16);
        assert_eq!(FUNCREF_SIZE, 24);
        assert_eq!((VMCTX_RUNTIME, VMCTX_MEMORY0, VMCTX_SIG_IDS), (0, 8, 48));
        assert_eq!((RUNTIME_FUEL, RUNTIME_TRAP, RUNTIME_LIBCALLS), (0, 32, 48));
        assert_eq!(RUNTIME_SLOW_RESULT, 56);
        assert_eq!((TABLE_BASE, TABLE_LEN), (0, 8));
    }

    #[test]
    fn trap_codes_round_trip() {
        for code in 1..=13 {
            assert_eq!(TrapCode::from_u32(code).map(|c| c as u32), Some(code));
        }
        assert_eq!(TrapCode::from_u32(0), None);
        assert_eq!(TrapCode::from_u32(14), None);
    }
}
