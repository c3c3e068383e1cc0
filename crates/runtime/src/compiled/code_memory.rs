//! Executable memory for compiled code.
//!
//! ```text
//!  CompiledCode ──► mmap (read-write) ──► copy text ──► apply relocations
//!                                                            │
//!  CodeMemory { text_base, funcs, trampolines } ◄── mprotect (read-execute)
//! ```
//!
//! The text is never writable and executable at once: it is written while
//! read-write, then made read-execute for good, and unmapped when the
//! [`CodeMemory`] is dropped. In the enclave profile this happens once per
//! module at start-up, after the artifact was checked against its hash
//! (DESIGN.md section 6).
//!
//! Every relocation and every function and trampoline offset is checked
//! against the text again here, whatever checked it before (the artifact
//! parser does): a bad one is an error, never a write or a pointer outside
//! the mapping.
//!
//! All of the compiled engine's unsafe memory management is in this file.
//!
//! On AArch64 the instruction cache is not yet synchronized after the text
//! is written (the compiled engine targets x86-64 first).
// Used by the compiled engine, which is being written alongside.

use std::ffi::c_void;
use std::ops::Range;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};
use thiserror::Error;
use waven_environ::artifact::reloc_width;
use waven_environ::code::{CompiledCode, MathFunc, Reloc, RelocKind, RelocTarget};

use crate::Error;

/// Why compiled code could not be loaded. It reaches users as
/// [`Error::Code`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub(crate) enum CodeMemoryError {
    /// The system refused the mapping.
    #[error("cannot map {len} bytes for compiled code: {errno}")]
    Map {
        /// The mapping's size.
        len: usize,
        /// The system's error.
        errno: rustix::io::Errno,
    },
    /// The text is too large to map at all.
    #[error("the compiled code's text ({len} bytes) is too large to map")]
    TooLarge {
        /// The text's size.
        len: usize,
    },
    /// The system refused to make the text executable.
    #[error("cannot make compiled code executable: {errno}")]
    Protect {
        /// The system's error.
        errno: rustix::io::Errno,
    },
    /// A function's range is empty or not inside the text.
    #[error(
        "defined function {index} has code range {range:?}, not inside the {text_len}-byte text"
    )]
    FuncOutOfText {
        /// The defined function's index.
        index: usize,
        /// Its range.
        range: Range<u32>,
        /// The text's size.
        text_len: usize,
    },
    /// A trampoline is not inside the text.
    #[error(
        "the trampoline of type {type_index} is at {offset}, not inside the {text_len}-byte text"
    )]
    TrampolineOutOfText {
        /// The type index.
        type_index: usize,
        /// Its offset.
        offset: u32,
        /// The text's size.
        text_len: usize,
    },
    /// A relocation patches bytes outside the text.
    #[error(
        "relocation {index} patches {width} bytes at {offset}, not inside the {text_len}-byte text"
    )]
    RelocOutOfText {
        /// The relocation's position in the list.
        index: usize,
        /// Its offset.
        offset: u32,
        /// How many bytes it patches.
        width: u32,
        /// The text's size.
        text_len: usize,
    },
    /// A relocation refers to a function the text does not have.
    #[error("relocation {index} refers to defined function {func}, but there are {num_funcs}")]
    RelocTargetOutOfRange {
        /// The relocation's position in the list.
        index: usize,
        /// The function it refers to.
        func: u32,
        /// How many functions there are.
        num_funcs: usize,
    },
    /// The value a relocation must store does not fit its field (a
    /// PC-relative displacement beyond ±2 GiB, an AArch64 call beyond
    /// ±128 MiB or not a multiple of 4, an address that overflows).
    #[error("relocation {index} ({kind:?}) cannot encode {value}: out of range or misaligned")]
    Unencodable {
        /// The relocation's position in the list.
        index: usize,
        /// Its kind.
        kind: RelocKind,
        /// The value it would store (before shifting, for AArch64).
        value: i128,
    },
}

impl From<CodeMemoryError> for Error {
    fn from(error: CodeMemoryError) -> Error {
        Error::Code(error.to_string())
    }
}

/// A module's text, mapped read-execute, with where its functions and
/// entry trampolines start.
pub(crate) struct CodeMemory {
    /// The mapping's first byte; the text starts here.
    base: NonNull<u8>,
    /// The mapping's size: the text's rounded up to whole pages, at least
    /// one page.
    map_len: usize,
    /// Each defined function's range in the text (checked inside it).
    funcs: Vec<Range<u32>>,
    /// Each type's trampoline offset in the text (checked inside it).
    trampolines: Vec<u32>,
}

// SAFETY: `CodeMemory` owns its mapping exclusively (no other value refers
// to it), and after `load` returns the mapping is read-execute and never
// written again, so sharing or moving it across threads cannot race.
unsafe impl Send for CodeMemory {}
// SAFETY: as for `Send`: every `&self` method only reads the (immutable)
// offsets and hands out pointers; the memory itself is never written.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Maps fresh memory read-write, copies `code.text` into it, applies
    /// every relocation (a function target is the text's base plus the
    /// function's start, a math target the address `math` gives), then
    /// makes it read-execute.
    ///
    /// # Errors
    ///
    /// [`CodeMemoryError`]: a function, trampoline or relocation outside
    /// the text, a relocation to a function that does not exist, a value a
    /// relocation cannot encode, or the system refusing the mapping or the
    /// protection change.
    pub(crate) fn load(
        code: &CompiledCode,
        math: impl Fn(MathFunc) -> usize,
    ) -> Result<CodeMemory, CodeMemoryError> {
        let text_len = code.text.len();
        check_offsets(code)?;

        let page = rustix::param::page_size();
        let map_len = text_len
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or(CodeMemoryError::TooLarge { len: text_len })?;
        // SAFETY: a null hint lets the kernel choose where to map, so no
        // existing memory is affected; `map_len` is non-zero.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                map_len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .map_err(|errno| CodeMemoryError::Map {
            len: map_len,
            errno,
        })?;
        let base = NonNull::new(ptr.cast::<u8>()).ok_or(CodeMemoryError::Map {
            len: map_len,
            errno: rustix::io::Errno::NOMEM,
        })?;
        // From here on, dropping `memory` (on an error too) unmaps.
        let memory = CodeMemory {
            base,
            map_len,
            funcs: code.funcs.clone(),
            trampolines: code.trampolines.clone(),
        };

        {
            // SAFETY: `base` is the start of a fresh private read-write
            // mapping of `map_len >= text_len` bytes that nothing else
            // refers to; the slice lives only in this block, before the
            // mapping becomes read-execute.
            let text = unsafe { std::slice::from_raw_parts_mut(base.as_ptr(), text_len) };
            text.copy_from_slice(&code.text);
            let text_base = base.as_ptr() as usize;
            for (index, reloc) in code.relocs.iter().enumerate() {
                let target = match reloc.target {
                    RelocTarget::Func(func) => {
                        let range = usize::try_from(func)
                            .ok()
                            .and_then(|func| code.funcs.get(func))
                            .ok_or(CodeMemoryError::RelocTargetOutOfRange {
                                index,
                                func,
                                num_funcs: code.funcs.len(),
                            })?;
                        // In the mapping (checked above), so no overflow.
                        text_base + range.start as usize
                    }
                    RelocTarget::Math(func) => math(func),
                };
                apply(text, text_base, index, reloc, target)?;
            }
        }

        // SAFETY: `base`/`map_len` is exactly the mapping made above, and
        // no reference into it remains (the slice's block has ended).
        unsafe {
            rustix::mm::mprotect(
                base.as_ptr().cast::<c_void>(),
                map_len,
                MprotectFlags::READ | MprotectFlags::EXEC,
            )
        }
        .map_err(|errno| CodeMemoryError::Protect { errno })?;
        Ok(memory)
    }

    /// The text's first byte.
    pub(crate) fn text_base(&self) -> *const u8 {
        self.base.as_ptr()
    }

    /// The first instruction of defined function `defined_index`, if it
    /// exists.
    pub(crate) fn func_ptr(&self, defined_index: u32) -> Option<*const u8> {
        let range = self.funcs.get(usize::try_from(defined_index).ok()?)?;
        Some(self.at(range.start))
    }

    /// The entry trampoline of type `type_index`, if it exists.
    pub(crate) fn trampoline_ptr(&self, type_index: u32) -> Option<*const u8> {
        let offset = *self.trampolines.get(usize::try_from(type_index).ok()?)?;
        Some(self.at(offset))
    }

    /// The address of `offset` in the text (an offset `check_offsets`
    /// found inside it, so the pointer stays in the mapping).
    fn at(&self, offset: u32) -> *const u8 {
        self.text_base().wrapping_add(offset as usize)
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` is the mapping `load` made, owned by
        // this value alone; no pointer handed out may be used after the
        // `CodeMemory` is dropped (its users keep it alive while code
        // runs), so unmapping cannot pull memory from under a reader.
        let result =
            unsafe { rustix::mm::munmap(self.base.as_ptr().cast::<c_void>(), self.map_len) };
        // Unmapping our own mapping only fails on a bug; leaking is the
        // safe outcome then.
        debug_assert!(result.is_ok(), "munmap of compiled code: {result:?}");
    }
}

/// Checks that every function range is non-empty and inside the text and
/// every trampoline starts inside it.
fn check_offsets(code: &CompiledCode) -> Result<(), CodeMemoryError> {
    let text_len = code.text.len();
    let inside = |offset: u32| usize::try_from(offset).is_ok_and(|o| o < text_len);
    for (index, range) in code.funcs.iter().enumerate() {
        let end_inside = usize::try_from(range.end).is_ok_and(|end| end <= text_len);
        if range.start >= range.end || !end_inside {
            return Err(CodeMemoryError::FuncOutOfText {
                index,
                range: range.clone(),
                text_len,
            });
        }
    }
    for (type_index, &offset) in code.trampolines.iter().enumerate() {
        if !inside(offset) {
            return Err(CodeMemoryError::TrampolineOutOfText {
                type_index,
                offset,
                text_len,
            });
        }
    }
    Ok(())
}

/// Applies relocation `index` to `text` (which will live at `text_base`),
/// with `target` the address it refers to.
fn apply(
    text: &mut [u8],
    text_base: usize,
    index: usize,
    reloc: &Reloc,
    target: usize,
) -> Result<(), CodeMemoryError> {
    let width = reloc_width(reloc.kind);
    let text_len = text.len();
    let field = usize::try_from(reloc.offset)
        .ok()
        .and_then(|start| Some(start..start.checked_add(width as usize)?))
        .and_then(|range| text.get_mut(range))
        .ok_or(CodeMemoryError::RelocOutOfText {
            index,
            offset: reloc.offset,
            width,
            text_len,
        })?;
    // i128 holds every sum and difference of addresses and addends.
    let value = target as i128 + i128::from(reloc.addend);
    let place = text_base as i128 + i128::from(reloc.offset);
    let unencodable = |value| CodeMemoryError::Unencodable {
        index,
        kind: reloc.kind,
        value,
    };
    match reloc.kind {
        RelocKind::X86PcRel4 => {
            let displacement = value - place;
            let displacement =
                i32::try_from(displacement).map_err(|_| unencodable(displacement))?;
            field.copy_from_slice(&displacement.to_le_bytes());
        }
        RelocKind::Abs8 => {
            let address = u64::try_from(value).map_err(|_| unencodable(value))?;
            field.copy_from_slice(&address.to_le_bytes());
        }
        RelocKind::Arm64Call26 => {
            let displacement = value - place;
            let reach = 1i128 << 27;
            if displacement % 4 != 0 || !(-reach..reach).contains(&displacement) {
                return Err(unencodable(displacement));
            }
            // In range, so the word offset fits 26 bits (two's complement).
            let imm26 = ((displacement >> 2) as u32) & 0x03ff_ffff;
            let mut insn = [0; 4];
            insn.copy_from_slice(field);
            let insn = (u32::from_le_bytes(insn) & 0xfc00_0000) | imm26;
            field.copy_from_slice(&insn.to_le_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reloc(offset: u32, kind: RelocKind, target: RelocTarget, addend: i64) -> Reloc {
        Reloc {
            offset,
            kind,
            target,
            addend,
        }
    }

    fn no_math(_: MathFunc) -> usize {
        0
    }

    #[test]
    fn patches_each_kind() {
        let mut text = [0u8; 32];
        let base = 0x1000;
        let call = reloc(4, RelocKind::X86PcRel4, RelocTarget::Func(0), -4);
        apply(&mut text, base, 0, &call, base + 20).unwrap();
        // Target 0x1014, place 0x1004: 0x1014 - 4 - 0x1004 = 12.
        assert_eq!(text[4..8], 12i32.to_le_bytes());
        let abs = reloc(8, RelocKind::Abs8, RelocTarget::Math(MathFunc::CeilF32), 3);
        apply(&mut text, base, 1, &abs, 0xdead_0000).unwrap();
        assert_eq!(text[8..16], 0xdead_0003u64.to_le_bytes());
        // `bl` backwards by 8 bytes: imm26 = -2.
        text[16..20].copy_from_slice(&0x9400_0000u32.to_le_bytes());
        let bl = reloc(16, RelocKind::Arm64Call26, RelocTarget::Func(0), 0);
        apply(&mut text, base, 2, &bl, base + 8).unwrap();
        assert_eq!(text[16..20], 0x97ff_fffeu32.to_le_bytes());
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut text = [0u8; 16];
        let base = 0x1000;
        let far = reloc(0, RelocKind::X86PcRel4, RelocTarget::Func(0), 0);
        assert!(matches!(
            apply(&mut text, base, 0, &far, base + (1 << 31)),
            Err(CodeMemoryError::Unencodable { index: 0, .. })
        ));
        apply(&mut text, base, 0, &far, base + (1 << 31) - 1).unwrap();
        let negative = reloc(0, RelocKind::Abs8, RelocTarget::Func(0), -1);
        assert!(matches!(
            apply(&mut text, base, 1, &negative, 0),
            Err(CodeMemoryError::Unencodable { index: 1, .. })
        ));
        let misaligned = reloc(0, RelocKind::Arm64Call26, RelocTarget::Func(0), 2);
        assert!(matches!(
            apply(&mut text, base, 2, &misaligned, base),
            Err(CodeMemoryError::Unencodable { index: 2, .. })
        ));
        let beyond = reloc(0, RelocKind::Arm64Call26, RelocTarget::Func(0), 1 << 27);
        assert!(matches!(
            apply(&mut text, base, 3, &beyond, base),
            Err(CodeMemoryError::Unencodable { index: 3, .. })
        ));
        for (offset, kind) in [
            (13, RelocKind::X86PcRel4),
            (9, RelocKind::Abs8),
            (u32::MAX, RelocKind::Abs8),
        ] {
            let outside = reloc(offset, kind, RelocTarget::Func(0), 0);
            assert!(matches!(
                apply(&mut text, base, 4, &outside, base),
                Err(CodeMemoryError::RelocOutOfText { index: 4, .. })
            ));
        }
        assert_eq!(text[..4], i32::MAX.to_le_bytes());
        assert_eq!(text[4..], [0; 12]);
    }

    #[test]
    fn load_refuses_bad_offsets_and_targets() {
        // Functions as (start, end) pairs.
        let code = |funcs: &[(u32, u32)], trampolines: &[u32], relocs: &[Reloc]| CompiledCode {
            text: vec![0xc3; 64],
            funcs: funcs.iter().map(|&(start, end)| start..end).collect(),
            trampolines: trampolines.to_vec(),
            relocs: relocs.to_vec(),
        };
        let load = |code: &CompiledCode| CodeMemory::load(code, no_math).err();
        assert!(matches!(
            load(&code(&[(0, 8), (8, 8)], &[], &[])),
            Some(CodeMemoryError::FuncOutOfText { index: 1, .. })
        ));
        assert!(matches!(
            load(&code(&[(0, 65)], &[], &[])),
            Some(CodeMemoryError::FuncOutOfText { index: 0, .. })
        ));
        assert!(matches!(
            load(&code(&[(0, 64)], &[0, 64], &[])),
            Some(CodeMemoryError::TrampolineOutOfText { type_index: 1, .. })
        ));
        let to_func_1 = reloc(0, RelocKind::X86PcRel4, RelocTarget::Func(1), -4);
        assert!(matches!(
            load(&code(&[(0, 64)], &[], &[to_func_1])),
            Some(CodeMemoryError::RelocTargetOutOfRange {
                index: 0,
                func: 1,
                num_funcs: 1
            })
        ));
        let outside = reloc(60, RelocKind::Abs8, RelocTarget::Func(0), 0);
        let error = load(&code(&[(0, 64)], &[], &[outside])).unwrap();
        assert!(matches!(error, CodeMemoryError::RelocOutOfText { .. }));
        assert!(matches!(Error::from(error), Error::Code(_)));
    }

    #[test]
    fn empty_code_loads() {
        let memory = CodeMemory::load(&CompiledCode::default(), no_math).unwrap();
        assert!(!memory.text_base().is_null());
        assert_eq!(memory.func_ptr(0), None);
        assert_eq!(memory.trampoline_ptr(0), None);
    }

    #[test]
    fn code_memory_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<CodeMemory>();
    }

    #[cfg(target_arch = "x86_64")]
    mod x86_64 {
        use super::*;

        /// `mov eax, 42; ret`
        const RETURN_42: [u8; 6] = [0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3];
        /// `call rel32; ret` (the displacement to patch at byte 1).
        const CALL_AND_RETURN: [u8; 6] = [0xe8, 0, 0, 0, 0, 0xc3];
        /// `mov rax, imm64; jmp rax` (the address to patch at byte 2).
        const JUMP_ABSOLUTE: [u8; 12] = [0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xe0];

        extern "C" fn ceil_f64(x: f64) -> f64 {
            x.ceil()
        }

        fn math(func: MathFunc) -> usize {
            match func {
                MathFunc::CeilF64 => ceil_f64 as extern "C" fn(f64) -> f64 as usize,
                _ => 0,
            }
        }

        /// Three functions, padded apart: 0 returns 42, 1 calls 0, 2 jumps
        /// to `ceil_f64`.
        fn code() -> CompiledCode {
            let mut text = Vec::new();
            let mut funcs = Vec::new();
            for body in [&RETURN_42[..], &CALL_AND_RETURN, &JUMP_ABSOLUTE] {
                let start = text.len() as u32;
                text.extend_from_slice(body);
                funcs.push(start..text.len() as u32);
                // int3 padding, as a compiler aligns functions.
                text.resize(text.len().next_multiple_of(16), 0xcc);
            }
            CompiledCode {
                relocs: vec![
                    reloc(
                        funcs[1].start + 1,
                        RelocKind::X86PcRel4,
                        RelocTarget::Func(0),
                        -4,
                    ),
                    reloc(
                        funcs[2].start + 2,
                        RelocKind::Abs8,
                        RelocTarget::Math(MathFunc::CeilF64),
                        0,
                    ),
                ],
                trampolines: vec![funcs[1].start],
                text,
                funcs,
            }
        }

        #[test]
        fn calls_loaded_functions() {
            let memory = CodeMemory::load(&code(), math).unwrap();
            let f0 = memory.func_ptr(0).unwrap();
            let f1 = memory.func_ptr(1).unwrap();
            let f2 = memory.func_ptr(2).unwrap();
            assert_eq!(f0, memory.text_base());
            assert_eq!(memory.func_ptr(3), None);
            assert_eq!(memory.trampoline_ptr(0), Some(f1));
            assert_eq!(memory.trampoline_ptr(1), None);

            // SAFETY: f0 points at `mov eax, 42; ret` in `memory`, which is
            // read-execute and outlives the call: a C function of no
            // arguments returning a u32 in eax.
            let return_42: extern "C" fn() -> u32 = unsafe { std::mem::transmute(f0) };
            assert_eq!(return_42(), 42);
            // SAFETY: f1 is `call f0; ret` (patched by `load`), so it too
            // returns 42 in eax, and `memory` outlives the call.
            let call_0: extern "C" fn() -> u32 = unsafe { std::mem::transmute(f1) };
            assert_eq!(call_0(), 42);
            // SAFETY: f2 is `mov rax, ceil_f64; jmp rax`: a tail call of
            // `ceil_f64` with the argument still in xmm0 and the stack as
            // the caller left it, so it behaves as `ceil_f64`.
            let ceil: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(f2) };
            assert_eq!(ceil(2.25), 3.0);
            assert_eq!(ceil(-2.25), -2.0);
        }

        #[test]
        fn patched_bytes_are_the_addresses() {
            let code = code();
            let memory = CodeMemory::load(&code, math).unwrap();
            let base = memory.text_base();
            // SAFETY: the text is `code.text.len()` readable bytes at `base`
            // (read-execute), alive as long as `memory`.
            let text = unsafe { std::slice::from_raw_parts(base, code.text.len()) };
            let f1 = code.funcs[1].start as usize;
            let f2 = code.funcs[2].start as usize;
            let displacement = 0 - (f1 as i32 + 1) - 4;
            assert_eq!(text[f1 + 1..f1 + 5], displacement.to_le_bytes());
            // The absolute address is `ceil_f64`'s. Rust does not promise
            // one address per function (an optimized build may have copies
            // in several code units), so the patched one is called instead
            // of compared.
            let patched = u64::from_le_bytes(text[f2 + 2..f2 + 10].try_into().unwrap());
            assert_ne!(patched, 0);
            // SAFETY: `patched` is what `load` wrote for
            // `RelocTarget::Math(CeilF64)`: the address `math` returned,
            // an `extern "C" fn(f64) -> f64`.
            let ceil: extern "C" fn(f64) -> f64 =
                unsafe { std::mem::transmute(patched as usize as *const ()) };
            assert_eq!(ceil(2.25), 3.0);
            // Everything else is the text as compiled.
            assert_eq!(text[..f1 + 1], code.text[..f1 + 1]);
            assert_eq!(text[f1 + 5..f2 + 2], code.text[f1 + 5..f2 + 2]);
            assert_eq!(text[f2 + 10..], code.text[f2 + 10..]);
        }

        #[test]
        fn relocation_outside_the_text_is_refused() {
            let mut code = code();
            code.relocs[0].offset = code.text.len() as u32 - 3;
            assert!(matches!(
                CodeMemory::load(&code, math),
                Err(CodeMemoryError::RelocOutOfText { index: 0, .. })
            ));
            let mut code = self::code();
            code.relocs[1].offset = u32::MAX - 4;
            assert!(matches!(
                CodeMemory::load(&code, math),
                Err(CodeMemoryError::RelocOutOfText { index: 1, .. })
            ));
        }

        #[test]
        fn math_address_beyond_reach_is_refused() {
            let mut code = code();
            code.relocs.push(reloc(
                code.funcs[0].start + 1,
                RelocKind::X86PcRel4,
                RelocTarget::Math(MathFunc::FloorF64),
                i64::MAX,
            ));
            assert!(matches!(
                CodeMemory::load(&code, math),
                Err(CodeMemoryError::Unencodable { index: 2, .. })
            ));
        }

        /// The permissions `/proc/self/maps` gives the mapping holding
        /// `address` (like `r-xp`).
        fn permissions(address: usize) -> String {
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            for line in maps.lines() {
                let mut fields = line.split_whitespace();
                let range = fields.next().unwrap();
                let perms = fields.next().unwrap();
                let (start, end) = range.split_once('-').unwrap();
                let start = usize::from_str_radix(start, 16).unwrap();
                let end = usize::from_str_radix(end, 16).unwrap();
                if (start..end).contains(&address) {
                    return perms.to_owned();
                }
            }
            panic!("{address:#x} is not mapped");
        }

        #[test]
        fn text_is_read_execute_not_writable() {
            let memory = CodeMemory::load(&code(), math).unwrap();
            let base = memory.text_base() as usize;
            let perms = permissions(base);
            assert!(perms.starts_with("r-x"), "{perms}");
            assert!(!perms.contains('w'), "{perms}");
        }
    }
}
