//! Memory backends of the interpreter.
//!
//! The interpreter is generic over [`Backend`] and monomorphized for each,
//! so the virtual and the plain memory do not pay for each other. While a
//! frame runs, its instance's memory is *active*: for virtual memory a
//! [`Pinned`] address space (lock-free translation), for plain memory the
//! [`PlainMemory`] itself, lent by the store and given back around host
//! calls and when execution ends.

use waven_mmu::{MemoryFault, MmuError, Pinned, PlainMemory};

use crate::error::TrapKind;
use crate::store::Backing;

/// How the interpreter reaches linear memory.
pub(crate) trait Backend: 'static {
    /// A memory while code runs on it.
    type Active;

    /// Makes the memory in `backing` active.
    fn activate(backing: &mut Backing) -> Option<Self::Active>;
    /// Gives an active memory back to its store slot.
    fn deactivate(backing: &mut Backing, active: Self::Active);
    /// A safepoint: acknowledges pending revocations (no access begun
    /// before this point is still in flight).
    fn safepoint(mem: &Self::Active);
    /// Loads `N` bytes.
    fn load<const N: usize>(mem: &Self::Active, addr: u64) -> Result<[u8; N], MemoryFault>;
    /// Stores `N` bytes.
    fn store<const N: usize>(
        mem: &mut Self::Active,
        addr: u64,
        bytes: [u8; N],
    ) -> Result<(), MemoryFault>;
    /// `memory.size` in bytes.
    fn size(mem: &Self::Active) -> u64;
    /// `memory.grow`: the old size in Wasm pages, `None` on failure.
    fn grow(mem: &mut Self::Active, delta: u64) -> Option<u64>;
    /// `memory.fill`.
    fn fill(mem: &mut Self::Active, addr: u64, value: u8, len: u64) -> Result<(), MemoryFault>;
    /// `memory.copy`.
    fn copy(mem: &mut Self::Active, dst: u64, src: u64, len: u64) -> Result<(), MemoryFault>;
    /// `memory.init` after the segment bounds check.
    fn write_bytes(mem: &mut Self::Active, addr: u64, data: &[u8]) -> Result<(), MemoryFault>;
    /// `memory.discard`.
    fn discard(mem: &mut Self::Active, addr: u64, len: u64) -> Result<(), TrapKind>;
}

/// The software MMU.
pub(crate) struct VirtualBackend;

/// Contiguous, bounds-checked memory.
pub(crate) struct PlainBackend;

impl Backend for VirtualBackend {
    type Active = Pinned;

    fn activate(backing: &mut Backing) -> Option<Pinned> {
        match backing {
            Backing::Virtual(space) => Some(space.pin()),
            _ => None,
        }
    }

    fn deactivate(_: &mut Backing, active: Pinned) {
        drop(active);
    }

    #[inline(always)]
    fn safepoint(mem: &Pinned) {
        mem.safepoint();
    }

    #[inline(always)]
    fn load<const N: usize>(mem: &Pinned, addr: u64) -> Result<[u8; N], MemoryFault> {
        mem.read::<N>(addr)
    }

    #[inline(always)]
    fn store<const N: usize>(
        mem: &mut Pinned,
        addr: u64,
        bytes: [u8; N],
    ) -> Result<(), MemoryFault> {
        mem.write::<N>(addr, bytes)
    }

    fn size(mem: &Pinned) -> u64 {
        mem.space().size_bytes()
    }

    fn grow(mem: &mut Pinned, delta: u64) -> Option<u64> {
        mem.space().grow(delta).ok()
    }

    fn fill(mem: &mut Pinned, addr: u64, value: u8, len: u64) -> Result<(), MemoryFault> {
        mem.space().fill(addr, value, len)
    }

    fn copy(mem: &mut Pinned, dst: u64, src: u64, len: u64) -> Result<(), MemoryFault> {
        mem.space().copy_within(dst, src, len)
    }

    fn write_bytes(mem: &mut Pinned, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        mem.space().write_bytes(addr, data)
    }

    fn discard(mem: &mut Pinned, addr: u64, len: u64) -> Result<(), TrapKind> {
        mem.space().discard(addr, len).map_err(discard_error)
    }
}

/// The trap of a failed `memory.discard`.
fn discard_error(error: MmuError) -> TrapKind {
    match error {
        MmuError::Unaligned { .. } | MmuError::OutOfRange { .. } => TrapKind::MemoryOutOfBounds,
        other => TrapKind::Host(other.to_string()),
    }
}

impl Backend for PlainBackend {
    type Active = PlainMemory;

    fn activate(backing: &mut Backing) -> Option<PlainMemory> {
        match std::mem::replace(backing, Backing::Lent) {
            Backing::Plain(memory) => Some(memory),
            other => {
                *backing = other;
                None
            }
        }
    }

    fn deactivate(backing: &mut Backing, active: PlainMemory) {
        *backing = Backing::Plain(active);
    }

    /// Plain memory cannot be revoked: nothing to acknowledge.
    #[inline(always)]
    fn safepoint(_: &PlainMemory) {}

    #[inline(always)]
    fn load<const N: usize>(mem: &PlainMemory, addr: u64) -> Result<[u8; N], MemoryFault> {
        mem.read::<N>(addr)
    }

    #[inline(always)]
    fn store<const N: usize>(
        mem: &mut PlainMemory,
        addr: u64,
        bytes: [u8; N],
    ) -> Result<(), MemoryFault> {
        mem.write::<N>(addr, bytes)
    }

    fn size(mem: &PlainMemory) -> u64 {
        mem.size_bytes()
    }

    fn grow(mem: &mut PlainMemory, delta: u64) -> Option<u64> {
        mem.grow(delta).ok()
    }

    fn fill(mem: &mut PlainMemory, addr: u64, value: u8, len: u64) -> Result<(), MemoryFault> {
        mem.fill(addr, value, len)
    }

    fn copy(mem: &mut PlainMemory, dst: u64, src: u64, len: u64) -> Result<(), MemoryFault> {
        mem.copy_within(dst, src, len)
    }

    fn write_bytes(mem: &mut PlainMemory, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        mem.write_bytes(addr, data)
    }

    fn discard(mem: &mut PlainMemory, addr: u64, len: u64) -> Result<(), TrapKind> {
        let page = waven_mmu::PAGE_SIZE as u64;
        if !addr.is_multiple_of(page) || !len.is_multiple_of(page) {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        Ok(mem.fill(addr, 0, len)?)
    }
}
