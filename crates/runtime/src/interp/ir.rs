//! The compiled form of a function: register-style instructions over the
//! slots of a frame.
//!
//! ```text
//!  frame (u64 cells, from the frame's base in the value stack)
//!  ┌──────────────┬────────────┬──────────────────────────────┐
//!  │ params+locals│  constants │ temporaries (operand stack)  │
//!  └──────────────┴────────────┴──────────────────────────────┘
//!  0              L            L+C                            max_slots
//! ```
//!
//! Every operand names its slot: a local, a constant of the function's
//! constant pool (copied into the frame on entry), or the temporary that
//! holds the operand-stack entry at that height. `local.get` and constants
//! cost no instruction; `i32.add` of two locals is one instruction
//! `I32Add { dst, a, b }`. Branch targets are instruction indices, resolved
//! at translation time, and the values a branch carries are moved by `Copy`
//! instructions emitted before it. A call's arguments sit in consecutive
//! temporaries; the callee's frame starts at the first of them, so
//! arguments are passed without copying, and results come back in place.
//!
//! The layout is documented for readers in docs/INTERPRETER.md.

/// A slot of the current frame.
pub(crate) type Slot = u32;

/// One instruction. Numeric instructions are named after the Wasm
/// instruction they implement; `dst` is where the result goes.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq)]
#[rustfmt::skip] // one line per instruction reads as a table
pub(crate) enum Instr {
    // Control.
    Unreachable,
    Br { to: u32 },
    BrIfNez { cond: Slot, to: u32 },
    BrIfEqz { cond: Slot, to: u32 },
    /// Branches if the i32 comparison of `a` and `b` holds (a comparison
    /// fused with the `br_if` or `if` that consumes it).
    BrI32Eq { a: Slot, b: Slot, to: u32 },
    BrI32Ne { a: Slot, b: Slot, to: u32 },
    BrI32LtS { a: Slot, b: Slot, to: u32 },
    BrI32LtU { a: Slot, b: Slot, to: u32 },
    BrI32GtS { a: Slot, b: Slot, to: u32 },
    BrI32GtU { a: Slot, b: Slot, to: u32 },
    BrI32LeS { a: Slot, b: Slot, to: u32 },
    BrI32LeU { a: Slot, b: Slot, to: u32 },
    BrI32GeS { a: Slot, b: Slot, to: u32 },
    BrI32GeU { a: Slot, b: Slot, to: u32 },
    /// Jumps to `targets[index]` (clamped to the last, the default), where
    /// `targets` is `len` entries of the function's branch table pool from
    /// `first`.
    BrTable { index: Slot, first: u32, len: u32 },
    /// Returns the `count` results that start at slot `src`.
    Return { src: Slot, count: u32 },
    /// Calls function `func` of the instance; arguments start at `base`,
    /// results are written from `base`.
    Call { func: u32, base: Slot },
    CallIndirect { ty: u32, table: u32, index: Slot, base: Slot },
    /// At the start of every loop body (and of every function body when
    /// fuel is enabled): traps if the store was interrupted, acknowledges
    /// pending revocations of the active memory (the MMU's shootdown), and
    /// consumes `fuel` (0 when fuel is disabled). Calls do the same checks
    /// when they enter a function.
    Safepoint { fuel: u32 },

    // Moves.
    Copy { dst: Slot, src: Slot },
    Select { dst: Slot, cond: Slot, a: Slot, b: Slot },
    GlobalGet { dst: Slot, global: u32 },
    GlobalSet { src: Slot, global: u32 },

    // References.
    RefFunc { dst: Slot, func: u32 },
    RefIsNull { dst: Slot, src: Slot },

    // Memory.
    I32Load { dst: Slot, addr: Slot, offset: u32 },
    I64Load { dst: Slot, addr: Slot, offset: u32 },
    F32Load { dst: Slot, addr: Slot, offset: u32 },
    F64Load { dst: Slot, addr: Slot, offset: u32 },
    I32Load8S { dst: Slot, addr: Slot, offset: u32 },
    I32Load8U { dst: Slot, addr: Slot, offset: u32 },
    I32Load16S { dst: Slot, addr: Slot, offset: u32 },
    I32Load16U { dst: Slot, addr: Slot, offset: u32 },
    I64Load8S { dst: Slot, addr: Slot, offset: u32 },
    I64Load8U { dst: Slot, addr: Slot, offset: u32 },
    I64Load16S { dst: Slot, addr: Slot, offset: u32 },
    I64Load16U { dst: Slot, addr: Slot, offset: u32 },
    I64Load32S { dst: Slot, addr: Slot, offset: u32 },
    I64Load32U { dst: Slot, addr: Slot, offset: u32 },
    I32Store { addr: Slot, value: Slot, offset: u32 },
    I64Store { addr: Slot, value: Slot, offset: u32 },
    I32Store8 { addr: Slot, value: Slot, offset: u32 },
    I32Store16 { addr: Slot, value: Slot, offset: u32 },
    I64Store8 { addr: Slot, value: Slot, offset: u32 },
    I64Store16 { addr: Slot, value: Slot, offset: u32 },
    I64Store32 { addr: Slot, value: Slot, offset: u32 },
    MemorySize { dst: Slot },
    MemoryGrow { dst: Slot, delta: Slot },
    MemoryFill { dst: Slot, value: Slot, len: Slot },
    MemoryCopy { dst: Slot, src: Slot, len: Slot },
    MemoryInit { data: u32, dst: Slot, src: Slot, len: Slot },
    DataDrop { data: u32 },
    MemoryDiscard { addr: Slot, len: Slot },

    // Tables.
    TableGet { dst: Slot, table: u32, index: Slot },
    TableSet { table: u32, index: Slot, value: Slot },
    TableSize { dst: Slot, table: u32 },
    TableGrow { dst: Slot, table: u32, init: Slot, delta: Slot },
    TableFill { table: u32, dst: Slot, value: Slot, len: Slot },
    /// `pair` indexes the function's table pair pool: (destination
    /// table, source table).
    TableCopy { pair: u32, dst: Slot, src: Slot, len: Slot },
    /// `pair` indexes the table pair pool: (table, element segment).
    TableInit { pair: u32, dst: Slot, src: Slot, len: Slot },
    ElemDrop { elem: u32 },

    // i32.
    I32Eqz { dst: Slot, src: Slot },
    I32Eq { dst: Slot, a: Slot, b: Slot },
    I32Ne { dst: Slot, a: Slot, b: Slot },
    I32LtS { dst: Slot, a: Slot, b: Slot },
    I32LtU { dst: Slot, a: Slot, b: Slot },
    I32GtS { dst: Slot, a: Slot, b: Slot },
    I32GtU { dst: Slot, a: Slot, b: Slot },
    I32LeS { dst: Slot, a: Slot, b: Slot },
    I32LeU { dst: Slot, a: Slot, b: Slot },
    I32GeS { dst: Slot, a: Slot, b: Slot },
    I32GeU { dst: Slot, a: Slot, b: Slot },
    I32Clz { dst: Slot, src: Slot },
    I32Ctz { dst: Slot, src: Slot },
    I32Popcnt { dst: Slot, src: Slot },
    I32Add { dst: Slot, a: Slot, b: Slot },
    I32Sub { dst: Slot, a: Slot, b: Slot },
    I32Mul { dst: Slot, a: Slot, b: Slot },
    I32DivS { dst: Slot, a: Slot, b: Slot },
    I32DivU { dst: Slot, a: Slot, b: Slot },
    I32RemS { dst: Slot, a: Slot, b: Slot },
    I32RemU { dst: Slot, a: Slot, b: Slot },
    I32And { dst: Slot, a: Slot, b: Slot },
    I32Or { dst: Slot, a: Slot, b: Slot },
    I32Xor { dst: Slot, a: Slot, b: Slot },
    I32Shl { dst: Slot, a: Slot, b: Slot },
    I32ShrS { dst: Slot, a: Slot, b: Slot },
    I32ShrU { dst: Slot, a: Slot, b: Slot },
    I32Rotl { dst: Slot, a: Slot, b: Slot },
    I32Rotr { dst: Slot, a: Slot, b: Slot },

    // i64.
    I64Eqz { dst: Slot, src: Slot },
    I64Eq { dst: Slot, a: Slot, b: Slot },
    I64Ne { dst: Slot, a: Slot, b: Slot },
    I64LtS { dst: Slot, a: Slot, b: Slot },
    I64LtU { dst: Slot, a: Slot, b: Slot },
    I64GtS { dst: Slot, a: Slot, b: Slot },
    I64GtU { dst: Slot, a: Slot, b: Slot },
    I64LeS { dst: Slot, a: Slot, b: Slot },
    I64LeU { dst: Slot, a: Slot, b: Slot },
    I64GeS { dst: Slot, a: Slot, b: Slot },
    I64GeU { dst: Slot, a: Slot, b: Slot },
    I64Clz { dst: Slot, src: Slot },
    I64Ctz { dst: Slot, src: Slot },
    I64Popcnt { dst: Slot, src: Slot },
    I64Add { dst: Slot, a: Slot, b: Slot },
    I64Sub { dst: Slot, a: Slot, b: Slot },
    I64Mul { dst: Slot, a: Slot, b: Slot },
    I64DivS { dst: Slot, a: Slot, b: Slot },
    I64DivU { dst: Slot, a: Slot, b: Slot },
    I64RemS { dst: Slot, a: Slot, b: Slot },
    I64RemU { dst: Slot, a: Slot, b: Slot },
    I64And { dst: Slot, a: Slot, b: Slot },
    I64Or { dst: Slot, a: Slot, b: Slot },
    I64Xor { dst: Slot, a: Slot, b: Slot },
    I64Shl { dst: Slot, a: Slot, b: Slot },
    I64ShrS { dst: Slot, a: Slot, b: Slot },
    I64ShrU { dst: Slot, a: Slot, b: Slot },
    I64Rotl { dst: Slot, a: Slot, b: Slot },
    I64Rotr { dst: Slot, a: Slot, b: Slot },

    // f32.
    F32Eq { dst: Slot, a: Slot, b: Slot },
    F32Ne { dst: Slot, a: Slot, b: Slot },
    F32Lt { dst: Slot, a: Slot, b: Slot },
    F32Gt { dst: Slot, a: Slot, b: Slot },
    F32Le { dst: Slot, a: Slot, b: Slot },
    F32Ge { dst: Slot, a: Slot, b: Slot },
    F32Abs { dst: Slot, src: Slot },
    F32Neg { dst: Slot, src: Slot },
    F32Ceil { dst: Slot, src: Slot },
    F32Floor { dst: Slot, src: Slot },
    F32Trunc { dst: Slot, src: Slot },
    F32Nearest { dst: Slot, src: Slot },
    F32Sqrt { dst: Slot, src: Slot },
    F32Add { dst: Slot, a: Slot, b: Slot },
    F32Sub { dst: Slot, a: Slot, b: Slot },
    F32Mul { dst: Slot, a: Slot, b: Slot },
    F32Div { dst: Slot, a: Slot, b: Slot },
    F32Min { dst: Slot, a: Slot, b: Slot },
    F32Max { dst: Slot, a: Slot, b: Slot },
    F32Copysign { dst: Slot, a: Slot, b: Slot },

    // f64.
    F64Eq { dst: Slot, a: Slot, b: Slot },
    F64Ne { dst: Slot, a: Slot, b: Slot },
    F64Lt { dst: Slot, a: Slot, b: Slot },
    F64Gt { dst: Slot, a: Slot, b: Slot },
    F64Le { dst: Slot, a: Slot, b: Slot },
    F64Ge { dst: Slot, a: Slot, b: Slot },
    F64Abs { dst: Slot, src: Slot },
    F64Neg { dst: Slot, src: Slot },
    F64Ceil { dst: Slot, src: Slot },
    F64Floor { dst: Slot, src: Slot },
    F64Trunc { dst: Slot, src: Slot },
    F64Nearest { dst: Slot, src: Slot },
    F64Sqrt { dst: Slot, src: Slot },
    F64Add { dst: Slot, a: Slot, b: Slot },
    F64Sub { dst: Slot, a: Slot, b: Slot },
    F64Mul { dst: Slot, a: Slot, b: Slot },
    F64Div { dst: Slot, a: Slot, b: Slot },
    F64Min { dst: Slot, a: Slot, b: Slot },
    F64Max { dst: Slot, a: Slot, b: Slot },
    F64Copysign { dst: Slot, a: Slot, b: Slot },

    // Conversions (`i32.wrap_i64` and the reinterpretations need no
    // instruction: cells hold bits, and i32 readers truncate).
    I32TruncF32S { dst: Slot, src: Slot },
    I32TruncF32U { dst: Slot, src: Slot },
    I32TruncF64S { dst: Slot, src: Slot },
    I32TruncF64U { dst: Slot, src: Slot },
    I64ExtendI32S { dst: Slot, src: Slot },
    I64ExtendI32U { dst: Slot, src: Slot },
    I64TruncF32S { dst: Slot, src: Slot },
    I64TruncF32U { dst: Slot, src: Slot },
    I64TruncF64S { dst: Slot, src: Slot },
    I64TruncF64U { dst: Slot, src: Slot },
    F32ConvertI32S { dst: Slot, src: Slot },
    F32ConvertI32U { dst: Slot, src: Slot },
    F32ConvertI64S { dst: Slot, src: Slot },
    F32ConvertI64U { dst: Slot, src: Slot },
    F32DemoteF64 { dst: Slot, src: Slot },
    F64ConvertI32S { dst: Slot, src: Slot },
    F64ConvertI32U { dst: Slot, src: Slot },
    F64ConvertI64S { dst: Slot, src: Slot },
    F64ConvertI64U { dst: Slot, src: Slot },
    F64PromoteF32 { dst: Slot, src: Slot },
    I32Extend8S { dst: Slot, src: Slot },
    I32Extend16S { dst: Slot, src: Slot },
    I64Extend8S { dst: Slot, src: Slot },
    I64Extend16S { dst: Slot, src: Slot },
    I64Extend32S { dst: Slot, src: Slot },
    I32TruncSatF32S { dst: Slot, src: Slot },
    I32TruncSatF32U { dst: Slot, src: Slot },
    I32TruncSatF64S { dst: Slot, src: Slot },
    I32TruncSatF64U { dst: Slot, src: Slot },
    I64TruncSatF32S { dst: Slot, src: Slot },
    I64TruncSatF32U { dst: Slot, src: Slot },
    I64TruncSatF64S { dst: Slot, src: Slot },
    I64TruncSatF64U { dst: Slot, src: Slot },
}

impl Instr {
    /// The slot an instruction writes its single result to, if any.
    pub(crate) fn result_slot(&self) -> Option<Slot> {
        self.clone().result_slot_mut().map(|slot| *slot)
    }

    /// The slot an instruction writes its single result to, for the
    /// translator's retargeting of `local.set` (None for instructions
    /// whose `dst` is an operand, or that write several slots).
    pub(crate) fn result_slot_mut(&mut self) -> Option<&mut Slot> {
        match self {
            Instr::Copy { dst, .. }
            | Instr::Select { dst, .. }
            | Instr::GlobalGet { dst, .. }
            | Instr::RefFunc { dst, .. }
            | Instr::MemorySize { dst, .. }
            | Instr::MemoryGrow { dst, .. }
            | Instr::TableGet { dst, .. }
            | Instr::TableSize { dst, .. }
            | Instr::TableGrow { dst, .. }
            | Instr::RefIsNull { dst, .. }
            | Instr::I32Load { dst, .. }
            | Instr::I64Load { dst, .. }
            | Instr::F32Load { dst, .. }
            | Instr::F64Load { dst, .. }
            | Instr::I32Load8S { dst, .. }
            | Instr::I32Load8U { dst, .. }
            | Instr::I32Load16S { dst, .. }
            | Instr::I32Load16U { dst, .. }
            | Instr::I64Load8S { dst, .. }
            | Instr::I64Load8U { dst, .. }
            | Instr::I64Load16S { dst, .. }
            | Instr::I64Load16U { dst, .. }
            | Instr::I64Load32S { dst, .. }
            | Instr::I64Load32U { dst, .. }
            | Instr::I32Eqz { dst, .. }
            | Instr::I32Eq { dst, .. }
            | Instr::I32Ne { dst, .. }
            | Instr::I32LtS { dst, .. }
            | Instr::I32LtU { dst, .. }
            | Instr::I32GtS { dst, .. }
            | Instr::I32GtU { dst, .. }
            | Instr::I32LeS { dst, .. }
            | Instr::I32LeU { dst, .. }
            | Instr::I32GeS { dst, .. }
            | Instr::I32GeU { dst, .. }
            | Instr::I32Clz { dst, .. }
            | Instr::I32Ctz { dst, .. }
            | Instr::I32Popcnt { dst, .. }
            | Instr::I32Add { dst, .. }
            | Instr::I32Sub { dst, .. }
            | Instr::I32Mul { dst, .. }
            | Instr::I32DivS { dst, .. }
            | Instr::I32DivU { dst, .. }
            | Instr::I32RemS { dst, .. }
            | Instr::I32RemU { dst, .. }
            | Instr::I32And { dst, .. }
            | Instr::I32Or { dst, .. }
            | Instr::I32Xor { dst, .. }
            | Instr::I32Shl { dst, .. }
            | Instr::I32ShrS { dst, .. }
            | Instr::I32ShrU { dst, .. }
            | Instr::I32Rotl { dst, .. }
            | Instr::I32Rotr { dst, .. }
            | Instr::I64Eqz { dst, .. }
            | Instr::I64Eq { dst, .. }
            | Instr::I64Ne { dst, .. }
            | Instr::I64LtS { dst, .. }
            | Instr::I64LtU { dst, .. }
            | Instr::I64GtS { dst, .. }
            | Instr::I64GtU { dst, .. }
            | Instr::I64LeS { dst, .. }
            | Instr::I64LeU { dst, .. }
            | Instr::I64GeS { dst, .. }
            | Instr::I64GeU { dst, .. }
            | Instr::I64Clz { dst, .. }
            | Instr::I64Ctz { dst, .. }
            | Instr::I64Popcnt { dst, .. }
            | Instr::I64Add { dst, .. }
            | Instr::I64Sub { dst, .. }
            | Instr::I64Mul { dst, .. }
            | Instr::I64DivS { dst, .. }
            | Instr::I64DivU { dst, .. }
            | Instr::I64RemS { dst, .. }
            | Instr::I64RemU { dst, .. }
            | Instr::I64And { dst, .. }
            | Instr::I64Or { dst, .. }
            | Instr::I64Xor { dst, .. }
            | Instr::I64Shl { dst, .. }
            | Instr::I64ShrS { dst, .. }
            | Instr::I64ShrU { dst, .. }
            | Instr::I64Rotl { dst, .. }
            | Instr::I64Rotr { dst, .. }
            | Instr::F32Eq { dst, .. }
            | Instr::F32Ne { dst, .. }
            | Instr::F32Lt { dst, .. }
            | Instr::F32Gt { dst, .. }
            | Instr::F32Le { dst, .. }
            | Instr::F32Ge { dst, .. }
            | Instr::F32Abs { dst, .. }
            | Instr::F32Neg { dst, .. }
            | Instr::F32Ceil { dst, .. }
            | Instr::F32Floor { dst, .. }
            | Instr::F32Trunc { dst, .. }
            | Instr::F32Nearest { dst, .. }
            | Instr::F32Sqrt { dst, .. }
            | Instr::F32Add { dst, .. }
            | Instr::F32Sub { dst, .. }
            | Instr::F32Mul { dst, .. }
            | Instr::F32Div { dst, .. }
            | Instr::F32Min { dst, .. }
            | Instr::F32Max { dst, .. }
            | Instr::F32Copysign { dst, .. }
            | Instr::F64Eq { dst, .. }
            | Instr::F64Ne { dst, .. }
            | Instr::F64Lt { dst, .. }
            | Instr::F64Gt { dst, .. }
            | Instr::F64Le { dst, .. }
            | Instr::F64Ge { dst, .. }
            | Instr::F64Abs { dst, .. }
            | Instr::F64Neg { dst, .. }
            | Instr::F64Ceil { dst, .. }
            | Instr::F64Floor { dst, .. }
            | Instr::F64Trunc { dst, .. }
            | Instr::F64Nearest { dst, .. }
            | Instr::F64Sqrt { dst, .. }
            | Instr::F64Add { dst, .. }
            | Instr::F64Sub { dst, .. }
            | Instr::F64Mul { dst, .. }
            | Instr::F64Div { dst, .. }
            | Instr::F64Min { dst, .. }
            | Instr::F64Max { dst, .. }
            | Instr::F64Copysign { dst, .. }
            | Instr::I32TruncF32S { dst, .. }
            | Instr::I32TruncF32U { dst, .. }
            | Instr::I32TruncF64S { dst, .. }
            | Instr::I32TruncF64U { dst, .. }
            | Instr::I64ExtendI32S { dst, .. }
            | Instr::I64ExtendI32U { dst, .. }
            | Instr::I64TruncF32S { dst, .. }
            | Instr::I64TruncF32U { dst, .. }
            | Instr::I64TruncF64S { dst, .. }
            | Instr::I64TruncF64U { dst, .. }
            | Instr::F32ConvertI32S { dst, .. }
            | Instr::F32ConvertI32U { dst, .. }
            | Instr::F32ConvertI64S { dst, .. }
            | Instr::F32ConvertI64U { dst, .. }
            | Instr::F32DemoteF64 { dst, .. }
            | Instr::F64ConvertI32S { dst, .. }
            | Instr::F64ConvertI32U { dst, .. }
            | Instr::F64ConvertI64S { dst, .. }
            | Instr::F64ConvertI64U { dst, .. }
            | Instr::F64PromoteF32 { dst, .. }
            | Instr::I32Extend8S { dst, .. }
            | Instr::I32Extend16S { dst, .. }
            | Instr::I64Extend8S { dst, .. }
            | Instr::I64Extend16S { dst, .. }
            | Instr::I64Extend32S { dst, .. }
            | Instr::I32TruncSatF32S { dst, .. }
            | Instr::I32TruncSatF32U { dst, .. }
            | Instr::I32TruncSatF64S { dst, .. }
            | Instr::I32TruncSatF64U { dst, .. }
            | Instr::I64TruncSatF32S { dst, .. }
            | Instr::I64TruncSatF32U { dst, .. }
            | Instr::I64TruncSatF64S { dst, .. }
            | Instr::I64TruncSatF64U { dst, .. } => Some(dst),
            _ => None,
        }
    }
}

impl Instr {
    /// The branch target of a (conditional) branch, for patching.
    pub(crate) fn branch_target_mut(&mut self) -> Option<&mut u32> {
        match self {
            Instr::Br { to }
            | Instr::BrIfNez { to, .. }
            | Instr::BrIfEqz { to, .. }
            | Instr::BrI32Eq { to, .. }
            | Instr::BrI32Ne { to, .. }
            | Instr::BrI32LtS { to, .. }
            | Instr::BrI32LtU { to, .. }
            | Instr::BrI32GtS { to, .. }
            | Instr::BrI32GtU { to, .. }
            | Instr::BrI32LeS { to, .. }
            | Instr::BrI32LeU { to, .. }
            | Instr::BrI32GeS { to, .. }
            | Instr::BrI32GeU { to, .. } => Some(to),
            _ => None,
        }
    }

    /// For an i32 comparison or `i32.eqz` writing `dst`, the branch that
    /// jumps to `to` when the result is true (`when = true`) or false.
    pub(crate) fn fused_branch(&self, when: bool, to: u32) -> Option<Instr> {
        use Instr as I;
        let (op, a, b) = match *self {
            I::I32Eqz { src, .. } => {
                return Some(if when {
                    I::BrIfEqz { cond: src, to }
                } else {
                    I::BrIfNez { cond: src, to }
                })
            }
            I::I32Eq { a, b, .. } => (0, a, b),
            I::I32Ne { a, b, .. } => (1, a, b),
            I::I32LtS { a, b, .. } => (2, a, b),
            I::I32GeS { a, b, .. } => (3, a, b),
            I::I32LtU { a, b, .. } => (4, a, b),
            I::I32GeU { a, b, .. } => (5, a, b),
            I::I32GtS { a, b, .. } => (6, a, b),
            I::I32LeS { a, b, .. } => (7, a, b),
            I::I32GtU { a, b, .. } => (8, a, b),
            I::I32LeU { a, b, .. } => (9, a, b),
            _ => return None,
        };
        // Pairs (2k, 2k+1) are each other's negation.
        let op = if when { op } else { op ^ 1 };
        Some(match op {
            0 => I::BrI32Eq { a, b, to },
            1 => I::BrI32Ne { a, b, to },
            2 => I::BrI32LtS { a, b, to },
            3 => I::BrI32GeS { a, b, to },
            4 => I::BrI32LtU { a, b, to },
            5 => I::BrI32GeU { a, b, to },
            6 => I::BrI32GtS { a, b, to },
            7 => I::BrI32LeS { a, b, to },
            8 => I::BrI32GtU { a, b, to },
            _ => I::BrI32LeU { a, b, to },
        })
    }
}

/// A function translated to [`Instr`]s.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    /// The function's index in its module's function index space.
    pub(crate) index: u32,
    /// The instructions; the last one returns.
    pub(crate) code: Box<[Instr]>,
    /// Constant pool, copied into slots `num_locals..` on entry.
    pub(crate) consts: Box<[u64]>,
    /// Parameters.
    pub(crate) num_params: u32,
    /// Parameters and declared locals.
    pub(crate) num_locals: u32,
    /// Slots the frame needs (locals, constants, temporaries).
    pub(crate) max_slots: u32,
    /// Branch table targets (instruction indices).
    pub(crate) br_targets: Box<[u32]>,
    /// Table index pairs of `table.copy` and `table.init`.
    pub(crate) pairs: Box<[(u32, u32)]>,
}
