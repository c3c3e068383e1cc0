//! Compiled code as the compiler produces it and the runtime loads it:
//! one text section holding every function and entry trampoline, and the
//! relocations the loader applies once it knows where the text lives.
//!
//! This is the unit both ways of getting code share: the JIT hands it to
//! the loader in process, an artifact carries it in a file.

use std::ops::Range;

/// The machine code of one module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledCode {
    /// The text section: every function and trampoline, back to back.
    pub text: Vec<u8>,
    /// Byte range in `text` of each defined function (defined index `i`
    /// is function `num_imported_funcs + i`), followed by the module's
    /// [`crate::vm::SlowPathStub`]s.
    pub funcs: Vec<Range<u32>>,
    /// Byte offset in `text` of the entry trampoline of each type index
    /// (see [`crate::vm::EntryTrampoline`]).
    pub trampolines: Vec<u32>,
    /// Places in `text` to patch once its address is known.
    pub relocs: Vec<Reloc>,
}

/// One place to patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Byte offset in the text section of the bytes to patch.
    pub offset: u32,
    /// How to patch them.
    pub kind: RelocKind,
    /// What they refer to.
    pub target: RelocTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// How a relocation is applied (`P` = the patched place's address, `S` =
/// the target's address, `A` = the addend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocKind {
    /// x86-64: 4 bytes, `S + A - P` (calls and RIP-relative operands).
    X86PcRel4,
    /// 8 bytes, `S + A` (an absolute address).
    Abs8,
    /// AArch64: the 26-bit word offset of a `bl`, `(S + A - P) >> 2`.
    Arm64Call26,
}

/// What a relocation refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    /// Defined function `i` of the same text.
    Func(u32),
    /// A math routine the code generator calls for lack of an instruction.
    Math(MathFunc),
}

/// Math routines compiled code may call (the runtime provides them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathFunc {
    /// `f32::ceil`.
    CeilF32,
    /// `f64::ceil`.
    CeilF64,
    /// `f32::floor`.
    FloorF32,
    /// `f64::floor`.
    FloorF64,
    /// `f32::trunc`.
    TruncF32,
    /// `f64::trunc`.
    TruncF64,
    /// Round to nearest, ties to even (`f32`).
    NearestF32,
    /// Round to nearest, ties to even (`f64`).
    NearestF64,
    /// Fused multiply-add (`f32`).
    FmaF32,
    /// Fused multiply-add (`f64`).
    FmaF64,
}

/// How compiled code reaches linear memory: which lowering the compiler
/// emitted (recorded in artifacts; a runtime runs code only on the backend
/// it was compiled for).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryLowering {
    /// The software MMU's tables, inline, with a slow path.
    Virtual,
    /// A contiguous array with an explicit bounds check.
    Plain,
}

/// What code was compiled for, besides the module: part of an artifact's
/// header, checked before it is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CodegenSettings {
    /// The memory lowering.
    pub memory: MemoryLowering,
    /// Whether fuel is charged.
    pub fuel: bool,
}
