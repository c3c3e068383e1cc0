//! Guest memory: loads and stores in the two lowerings of `vm.rs`, and the
//! memory operators that are libcalls.
//!
//! ```text
//!  virtual: leaf = directory[addr >> 21]
//!           p = leaf[(addr >> 12) & 511]
//!           p == 0 ───────────────────────┬─► slow path: the module's stub
//!           (addr & 0xfff) > 4096 - n ────┘    (cold, may trap;
//!                                              preserve_all, so the hot
//!                                              path keeps its registers)
//!           access p + (addr & 0xfff)
//!  plain:   addr + n > bound ──► trap MemoryOutOfBounds
//!           access base + addr
//! ```
//!
//! `addr` is the zero-extended `i32` index plus the static offset, as a
//! `u64`. The `VMMemory` fields are loaded at each access in the `memory`
//! alias region, so Cranelift reuses them until a call or a safepoint.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I16, I32, I64, I8};
use cranelift_codegen::ir::{BlockArg, InstBuilder, MemFlagsData, StackSlot, Type, Value};
use wasmparser::{MemArg, MemArgTarget, Operator};
use waven_environ::code::MemoryLowering;
use waven_environ::vm::{
    offsets, Libcall, SlowPathStub, TrapCode, TABLE_DIRECTORY_SHIFT, TABLE_LEAF_PAGES,
    TABLE_LEAF_WRITE_OFFSET,
};

use cranelift_frontend::Variable;

use super::FuncTranslator;
use crate::CompileError;

/// The page size of the software MMU's tables.
const PAGE_SIZE: i64 = 4096;

/// The most translations kept for reuse at once (each holds a register
/// while it may be used).
const MAX_REUSES: usize = 3;

/// An in-page offset that no access fits after: a translation whose
/// `in_page` variable holds it is void (see [`Reuse`]).
const VOID_IN_PAGE: i64 = 1 << 40;

/// The largest index constant (`index = root + constant`) under which two
/// accesses count as relatives (see [`Reuse`]).
const MAX_RELATIVE: i64 = 1 << 20;

/// The translation of an earlier virtual access that later accesses near
/// it may reuse.
///
/// Within straight-line code (no control operator, call or `memory.*`
/// operator in between, which is also where safepoints are), the page
/// tables change only through this thread's slow paths. So when a later
/// access lies in the same guest page as an earlier one that took the
/// fast path, its host address is the earlier page's entry plus its own
/// in-page offset: no table lookup. Accesses are related when their index
/// operands are `root + c1` and `root + c2` for one SSA value `root` and
/// small constants (`c1 = c2` for the same operand; compilers emit
/// negative field offsets as additions). With `d` the distance of the
/// two effective addresses, the later access fits the earlier page iff
/// `in_page + d <= PAGE_SIZE - size` (unsigned; a negative sum wraps to a
/// huge value), one compare:
///
/// * `d` is the constant `(c2 - c1) + (offset2 - offset1)` unless the two
///   `i32` additions may wrap differently, which needs `c2 < c1` and the
///   wrapped one brought back into range by a larger static offset: so the
///   constant is used when `c2 >= c1` or `offset2` lies at or below the
///   earlier offset's page (see `accesses_relative_to_one_pointer_read_
///   their_own_bytes` in the runtime's API suite for the case it excludes);
/// * otherwise `d = addr2 - addr1`, computed.
///
/// Every slow path of the stretch sets `in_page` to [`VOID_IN_PAGE`] (a
/// copy-on-write or zero page may have been replaced there), which fails
/// the test for every distance a translation is reused at. Revocation
/// stays final: a reused translation is used before the next safepoint,
/// like the table entry it came from.
#[derive(Clone, Copy)]
pub(super) struct Reuse {
    /// The index as `root + constant`.
    relative: (Value, i64),
    /// The earlier access's effective address (`u64`).
    addr: Value,
    /// The earlier access's static offset.
    offset: u64,
    /// Whether it was a store (a write translation serves loads too: a
    /// writable page is readable and both tables hold the same frame).
    write: bool,
    /// Its in-page offset, or [`VOID_IN_PAGE`] once a slow path may have
    /// run.
    in_page: Variable,
    /// Its page's table entry (the host address of the page).
    page: Variable,
}

/// The distance from an earlier access's effective address to a later
/// one's: constant or computed.
#[derive(Clone, Copy)]
enum Distance {
    Constant(i64),
    Computed(Value),
}

/// A virtual access being lowered.
struct Site {
    /// The index operand and the static offset.
    index: Value,
    offset: u64,
    /// Their sum as a `u64`.
    addr: Value,
    access: Access,
    /// The value to store, or `None` for a load.
    stored: Option<Value>,
    /// A load that a store through the same pointer follows.
    write_first: bool,
    /// Where the table lookup branches when it fails.
    slow: cranelift_codegen::ir::Block,
    /// Where every fast path continues (with the value, for a load).
    done: cranelift_codegen::ir::Block,
}

/// One access: the Wasm type, the bytes accessed, and for narrow loads
/// whether they sign-extend.
#[derive(Clone, Copy)]
struct Access {
    ty: Type,
    size: u8,
    signed: bool,
}

fn access(ty: Type, size: u8, signed: bool) -> Access {
    Access { ty, size, signed }
}

impl FuncTranslator<'_> {
    /// Translates a memory operator; `false` if `op` is none.
    pub(super) fn translate_memory(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        match op {
            O::I32Load { memarg } => self.load(memarg, access(I32, 4, false))?,
            O::I64Load { memarg } => self.load(memarg, access(I64, 8, false))?,
            O::F32Load { memarg } => self.load(memarg, access(F32, 4, false))?,
            O::F64Load { memarg } => self.load(memarg, access(F64, 8, false))?,
            O::I32Load8S { memarg } => self.load(memarg, access(I32, 1, true))?,
            O::I32Load8U { memarg } => self.load(memarg, access(I32, 1, false))?,
            O::I32Load16S { memarg } => self.load(memarg, access(I32, 2, true))?,
            O::I32Load16U { memarg } => self.load(memarg, access(I32, 2, false))?,
            O::I64Load8S { memarg } => self.load(memarg, access(I64, 1, true))?,
            O::I64Load8U { memarg } => self.load(memarg, access(I64, 1, false))?,
            O::I64Load16S { memarg } => self.load(memarg, access(I64, 2, true))?,
            O::I64Load16U { memarg } => self.load(memarg, access(I64, 2, false))?,
            O::I64Load32S { memarg } => self.load(memarg, access(I64, 4, true))?,
            O::I64Load32U { memarg } => self.load(memarg, access(I64, 4, false))?,
            O::I32Store { memarg } => self.store(memarg, access(I32, 4, false))?,
            O::I64Store { memarg } => self.store(memarg, access(I64, 8, false))?,
            O::F32Store { memarg } => self.store(memarg, access(F32, 4, false))?,
            O::F64Store { memarg } => self.store(memarg, access(F64, 8, false))?,
            O::I32Store8 { memarg } => self.store(memarg, access(I32, 1, false))?,
            O::I32Store16 { memarg } => self.store(memarg, access(I32, 2, false))?,
            O::I64Store8 { memarg } => self.store(memarg, access(I64, 1, false))?,
            O::I64Store16 { memarg } => self.store(memarg, access(I64, 2, false))?,
            O::I64Store32 { memarg } => self.store(memarg, access(I64, 4, false))?,
            O::MemorySize { mem } => {
                let m = self.i32_const(*mem);
                let pages = self.libcall(Libcall::MemorySize, &[m]);
                let v = self.b.ins().ireduce(I32, pages.expect("a result"));
                self.push(v);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.b.ins().uextend(I64, delta);
                let m = self.i32_const(*mem);
                let old = self.libcall(Libcall::MemoryGrow, &[m, delta]);
                // u64::MAX (failure) becomes -1.
                let v = self.b.ins().ireduce(I32, old.expect("a result"));
                self.push(v);
            }
            O::MemoryFill { mem } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                let m = self.i32_const(*mem);
                let dst = self.b.ins().uextend(I64, dst);
                let len = self.b.ins().uextend(I64, len);
                self.libcall(Libcall::MemoryFill, &[m, dst, value, len]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let d = self.i32_const(*dst_mem);
                let s = self.i32_const(*src_mem);
                let dst = self.b.ins().uextend(I64, dst);
                let src = self.b.ins().uextend(I64, src);
                let len = self.b.ins().uextend(I64, len);
                self.libcall(Libcall::MemoryCopy, &[d, s, dst, src, len]);
            }
            O::MemoryInit { data_index, mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let m = self.i32_const(*mem);
                let d = self.i32_const(*data_index);
                let dst = self.b.ins().uextend(I64, dst);
                self.libcall(Libcall::MemoryInit, &[m, d, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let d = self.i32_const(*data_index);
                self.libcall(Libcall::DataDrop, &[d]);
            }
            O::MemoryDiscard { mem } => {
                let len = self.pop();
                let addr = self.pop();
                let m = self.i32_const(*mem);
                let addr = self.b.ins().uextend(I64, addr);
                let len = self.b.ins().uextend(I64, len);
                self.libcall(Libcall::MemoryDiscard, &[m, addr, len]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The `VMMemory` of memory 0 (the only memory a module may have).
    fn memory(&self, memarg: &MemArg) -> Result<Value, CompileError> {
        // The virtual lowering's directory covers addresses below 2^33: a
        // 32-bit index plus a 32-bit offset (what validation allows for
        // 32-bit memories, the only ones compiled so far).
        if memarg.offset > u64::from(u32::MAX) {
            return Err(self.unsupported(format!("memory offset {}", memarg.offset)));
        }
        match (memarg.target, self.memory0) {
            (MemArgTarget::Memory(0), Some(memory)) => Ok(memory),
            (target, _) => Err(self.unsupported(format!("memory access to {target:?}"))),
        }
    }

    /// The effective address of an access: `u64(index) + offset`.
    fn effective_address(&mut self, index: Value, offset: u64) -> Value {
        let index = self.b.ins().uextend(I64, index);
        if offset == 0 {
            index
        } else {
            self.b.ins().iadd_imm_s(index, offset as i64)
        }
    }

    /// Loads `access.size` bytes at `base + offset` as `access` says.
    fn native_load(&mut self, a: Access, base: Value, offset: i32) -> Value {
        let flags = self.heap_flags();
        let ins = self.b.ins();
        match (a.size, a.signed) {
            (1, true) => ins.sload8(a.ty, flags, base, offset),
            (1, false) => ins.uload8(a.ty, flags, base, offset),
            (2, true) => ins.sload16(a.ty, flags, base, offset),
            (2, false) => ins.uload16(a.ty, flags, base, offset),
            (4, true) if a.ty == I64 => ins.sload32(flags, base, offset),
            (4, false) if a.ty == I64 => ins.uload32(flags, base, offset),
            _ => ins.load(a.ty, flags, base, offset),
        }
    }

    /// Stores the low `access.size` bytes of `value` at `base + offset`.
    fn native_store(&mut self, a: Access, value: Value, base: Value, offset: i32) {
        let flags = self.heap_flags();
        let ins = self.b.ins();
        match a.size {
            1 => ins.istore8(flags, value, base, offset),
            2 => ins.istore16(flags, value, base, offset),
            4 if a.ty == I64 => ins.istore32(flags, value, base, offset),
            _ => ins.store(flags, value, base, offset),
        };
    }

    /// The Wasm value of a slow-path load result (zero-extended `u64`).
    fn value_of_raw(&mut self, a: Access, raw: Value) -> Value {
        let ins = self.b.ins();
        let narrow = match a.size {
            1 => I8,
            2 => I16,
            4 => I32,
            _ => I64,
        };
        match a.ty {
            F32 => {
                let bits = ins.ireduce(I32, raw);
                self.b.ins().bitcast(F32, MemFlagsData::new(), bits)
            }
            F64 => ins.bitcast(F64, MemFlagsData::new(), raw),
            ty if a.signed => {
                let low = ins.ireduce(narrow, raw);
                self.b.ins().sextend(ty, low)
            }
            I32 => ins.ireduce(I32, raw),
            _ => raw,
        }
    }

    /// The bits of a value to store, as the `u64` `StoreSlow` takes.
    fn raw_bits(&mut self, a: Access, value: Value) -> Value {
        let ins = self.b.ins();
        match a.ty {
            F32 => {
                let bits = ins.bitcast(I32, MemFlagsData::new(), value);
                self.b.ins().uextend(I64, bits)
            }
            F64 => ins.bitcast(I64, MemFlagsData::new(), value),
            I32 => ins.uextend(I64, value),
            _ => value,
        }
    }

    /// A load of `a` at the operand popped and `memarg`.
    fn load(&mut self, memarg: &MemArg, a: Access) -> Result<(), CompileError> {
        let memory = self.memory(memarg)?;
        let index = self.pop();
        let v = match self.settings.memory {
            MemoryLowering::Plain => {
                let (base, offset) = self.plain_address(memory, index, memarg.offset, a.size);
                self.native_load(a, base, offset)
            }
            MemoryLowering::Virtual => {
                let addr = self.effective_address(index, memarg.offset);
                let done = self.b.create_block();
                let v = self.b.append_block_param(done, a.ty);
                let slow = self.b.create_block();
                let site = Site {
                    index,
                    offset: memarg.offset,
                    addr,
                    access: a,
                    stored: None,
                    write_first: self.write_first.binary_search(&self.position).is_ok(),
                    slow,
                    done,
                };
                self.virtual_fast_paths(site);

                self.b.switch_to_block(slow);
                self.b.seal_block(slow);
                self.b.set_cold_block(slow);
                self.invalidate_reuses();
                let raw = self.call_slow_path(SlowPathStub::Load, addr, a.size, None);
                let slow_v = self.value_of_raw(a, raw);
                self.b.ins().jump(done, &[BlockArg::Value(slow_v)]);

                self.b.switch_to_block(done);
                self.b.seal_block(done);
                v
            }
        };
        self.push(v);
        Ok(())
    }

    /// A store of `a` of the two operands popped and `memarg`.
    fn store(&mut self, memarg: &MemArg, a: Access) -> Result<(), CompileError> {
        let memory = self.memory(memarg)?;
        let value = self.pop();
        let index = self.pop();
        match self.settings.memory {
            MemoryLowering::Plain => {
                let (base, offset) = self.plain_address(memory, index, memarg.offset, a.size);
                self.native_store(a, value, base, offset);
            }
            MemoryLowering::Virtual => {
                self.anchor(value);
                let addr = self.effective_address(index, memarg.offset);
                let done = self.b.create_block();
                let slow = self.b.create_block();
                let site = Site {
                    index,
                    offset: memarg.offset,
                    addr,
                    access: a,
                    stored: Some(value),
                    write_first: false,
                    slow,
                    done,
                };
                self.virtual_fast_paths(site);

                self.b.switch_to_block(slow);
                self.b.seal_block(slow);
                self.b.set_cold_block(slow);
                self.invalidate_reuses();
                let raw = self.raw_bits(a, value);
                self.call_slow_path(SlowPathStub::Store, addr, a.size, Some(raw));
                self.b.ins().jump(done, &[]);

                self.b.switch_to_block(done);
                self.b.seal_block(done);
            }
        }
        Ok(())
    }

    /// Makes Cranelift compute a value to store here, before the branches
    /// of a virtual access, when it is costly to compute, by a use that
    /// has an effect: a store to the runtime's slow-path result slot,
    /// which nothing reads until a load's slow path has written it.
    /// Without it, Cranelift places a pure computation at its first use,
    /// on the access's fast path, and computes it again on every later
    /// path that this one does not dominate (see wasmtime issue 8959): in
    /// `nbody`, one `sqrt` and one division per following store. Cheap
    /// values are not worth the extra store.
    fn anchor(&mut self, value: Value) {
        if self.is_costly(value) {
            let flags = self.vm_flags();
            self.b
                .ins()
                .store(flags, value, self.runtime, offsets::RUNTIME_SLOW_RESULT);
        }
    }

    /// Whether pure instructions compute `value` with a division, a
    /// remainder or a square root, or with a chain of a few operations.
    fn is_costly(&self, value: Value) -> bool {
        use cranelift_codegen::ir::{Opcode, ValueDef};
        const LONG_CHAIN: usize = 3;
        let dfg = &self.b.func.dfg;
        let mut pending = vec![value];
        let mut operations = 0;
        while let Some(v) = pending.pop() {
            let ValueDef::Result(inst, _) = dfg.value_def(dfg.resolve_aliases(v)) else {
                continue;
            };
            let opcode = dfg.insts[inst].opcode();
            if matches!(
                opcode,
                Opcode::Sqrt
                    | Opcode::Fdiv
                    | Opcode::Udiv
                    | Opcode::Sdiv
                    | Opcode::Urem
                    | Opcode::Srem
            ) {
                return true;
            }
            let pure = !opcode.can_load()
                && !opcode.can_store()
                && !opcode.is_call()
                && !opcode.other_side_effects();
            if !pure {
                continue;
            }
            operations += 1;
            if operations >= LONG_CHAIN {
                return true;
            }
            pending.extend_from_slice(dfg.inst_args(inst));
        }
        false
    }

    /// Plain lowering: traps unless `index + offset + size <= bound`, and
    /// returns the host base and the static offset to access (the offset
    /// folded into the address if it does not fit an `i32`).
    fn plain_address(
        &mut self,
        memory: Value,
        index: Value,
        offset: u64,
        size: u8,
    ) -> (Value, i32) {
        let flags = self.memory_flags();
        let index = self.b.ins().uextend(I64, index);
        let end = self
            .b
            .ins()
            .iadd_imm_s(index, (offset + u64::from(size)) as i64);
        // Both loaded before the branch, so that they dominate the code
        // after this access.
        let (base, bound) = match self.plain_view {
            Some(view) => view,
            None => {
                let base = self.b.ins().load(I64, flags, memory, offsets::MEMORY_BASE);
                let bound = self.b.ins().load(I64, flags, memory, offsets::MEMORY_BOUND);
                self.plain_view = Some((base, bound));
                (base, bound)
            }
        };
        let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, bound);
        self.trap_if(oob, TrapCode::MemoryOutOfBounds);
        let host = self.b.ins().iadd(base, index);
        match i32::try_from(offset) {
            Ok(offset) => (host, offset),
            Err(_) => (self.b.ins().iadd_imm_s(host, offset as i64), 0),
        }
    }

    /// Forgets every memory view of straight-line code: plain base and
    /// bound, reusable translations.
    pub(super) fn forget_memory_views(&mut self) {
        self.plain_view = None;
        self.reuses.clear();
    }

    /// In a slow path: no translation made before it may be reused.
    fn invalidate_reuses(&mut self) {
        for reuse in self.reuses.clone() {
            let void = self.b.ins().iconst(I64, VOID_IN_PAGE);
            self.b.def_var(reuse.in_page, void);
            // The page is never used after a void offset, but it must be
            // defined here: else Cranelift looks for it through the blocks
            // before and keeps some earlier value alive across the whole
            // loop (a register less, or a spill, on the hot path).
            self.b.def_var(reuse.page, void);
        }
    }

    /// The index as `root + constant`, when an `i32` addition or
    /// subtraction of a small constant made it (else `index + 0`).
    fn relative_of(&self, index: Value) -> (Value, i64) {
        use cranelift_codegen::ir::{InstructionData, Opcode, ValueDef};
        let dfg = &self.b.func.dfg;
        let constant = |v: Value| match dfg.value_def(dfg.resolve_aliases(v)) {
            ValueDef::Result(inst, 0) => match dfg.insts[inst] {
                InstructionData::UnaryImm {
                    opcode: Opcode::Iconst,
                    imm,
                } => Some(i64::from(imm.bits() as i32)),
                _ => None,
            },
            _ => None,
        };
        if let ValueDef::Result(inst, 0) = dfg.value_def(index) {
            if let InstructionData::Binary { opcode, args } = dfg.insts[inst] {
                let [a, b] = args.map(|v| dfg.resolve_aliases(v));
                let found = match opcode {
                    Opcode::Iadd => constant(b).map(|c| (a, c)).or(constant(a).map(|c| (b, c))),
                    Opcode::Isub => constant(b).map(|c| (a, -c)),
                    _ => None,
                };
                if let Some((root, c)) = found.filter(|(_, c)| c.abs() < MAX_RELATIVE) {
                    return (root, c);
                }
            }
        }
        (index, 0)
    }

    /// Virtual lowering: the fast paths of an access, each ending in a
    /// jump to `site.done` (with the value, for a load); the table lookup
    /// branches to `site.slow`. Reuses an earlier translation of the same
    /// index or a relative when the access lies in its page (see
    /// [`Reuse`]); else translates through the table and keeps the
    /// translation for later accesses.
    fn virtual_fast_paths(&mut self, site: Site) {
        let write = site.stored.is_some();
        let size = site.access.size;
        let index = self.b.func.dfg.resolve_aliases(site.index);
        let relative = self.relative_of(index);
        let last_start = PAGE_SIZE - i64::from(size);
        let candidate = self
            .reuses
            .iter()
            .rev()
            .find(|reuse| reuse.relative.0 == relative.0 && (!write || reuse.write))
            .copied()
            .and_then(|reuse| {
                // Wide arithmetic: offsets of 64-bit memories reach 2^64.
                let distance = i128::from(relative.1) - i128::from(reuse.relative.1)
                    + i128::from(site.offset)
                    - i128::from(reuse.offset);
                if !(i128::from(-PAGE_SIZE)..=i128::from(last_start)).contains(&distance) {
                    return None;
                }
                let distance = distance as i64;
                let exact = relative.1 >= reuse.relative.1
                    || site.offset <= reuse.offset & !(PAGE_SIZE as u64 - 1);
                if exact {
                    Some((reuse, Distance::Constant(distance)))
                } else {
                    let distance = self.b.ins().isub(site.addr, reuse.addr);
                    Some((reuse, Distance::Computed(distance)))
                }
            });
        let Some((reuse, distance)) = candidate else {
            if let Some(slot) = self.take_loop_slot() {
                self.slotted_access(site, relative, slot);
                return;
            }
            // A load that a store through the same pointer follows looks
            // up the write table, so that the store reuses it; a page
            // without a write entry (read-only, zero, copy-on-write) sends
            // the load to the slow path, where the store would go anyway.
            let writable = write || site.write_first;
            let (page, in_page) =
                self.virtual_translate(site.addr, size, site.slow, writable, false);
            let page_var = self.b.declare_var(I64);
            self.b.def_var(page_var, page);
            let in_page_var = self.b.declare_var(I64);
            self.b.def_var(in_page_var, in_page);
            self.keep_for_reuse(&site, relative, writable, page_var, in_page_var);
            self.fast_access(&site, page, in_page, 0);
            return;
        };
        // The access fits the earlier one's page iff
        // `in_page + distance <= PAGE_SIZE - size` (unsigned).
        let in_page = self.b.use_var(reuse.in_page);
        let (outside, moved, displacement) = match distance {
            Distance::Constant(d) if d >= 0 => {
                let outside =
                    self.b
                        .ins()
                        .icmp_imm_s(IntCC::UnsignedGreaterThan, in_page, last_start - d);
                (outside, in_page, d as i32)
            }
            // A negative distance, constant or computed: the moved offset
            // itself must lie in the page.
            Distance::Constant(_) | Distance::Computed(_) => {
                let moved = match distance {
                    Distance::Constant(d) => self.b.ins().iadd_imm_s(in_page, d),
                    Distance::Computed(d) => self.b.ins().iadd(in_page, d),
                };
                let outside =
                    self.b
                        .ins()
                        .icmp_imm_s(IntCC::UnsignedGreaterThan, moved, last_start);
                (outside, moved, 0)
            }
        };
        let reused = self.b.create_block();
        let lookup = self.b.create_block();
        self.b.ins().brif(outside, lookup, &[], reused, &[]);

        self.b.switch_to_block(reused);
        self.b.seal_block(reused);
        let page = self.b.use_var(reuse.page);
        self.fast_access(&site, page, moved, displacement);

        // Out of line: in a loop over one array, accesses after the first
        // mostly hit.
        self.b.switch_to_block(lookup);
        self.b.seal_block(lookup);
        self.b.set_cold_block(lookup);
        let (page, in_page) = self.virtual_translate(site.addr, size, site.slow, write, true);
        self.fast_access(&site, page, in_page, 0);
    }

    /// An access in a loop: the translation of the last pass, kept in
    /// `slot` (the guest page base negated, then the table entry), serves
    /// while the address stays in its page; else the table lookup, which
    /// the slot keeps for the next pass.
    fn slotted_access(&mut self, site: Site, relative: (Value, i64), slot: StackSlot) {
        let write = site.stored.is_some();
        let size = site.access.size;
        let writable = write || site.write_first;
        let last_start = PAGE_SIZE - i64::from(size);
        let page_var = self.b.declare_var(I64);
        let in_page_var = self.b.declare_var(I64);
        let minus_base = self.slot_load(slot, 0);
        let in_page = self.b.ins().iadd(site.addr, minus_base);
        let outside = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedGreaterThan, in_page, last_start);
        let hit = self.b.create_block();
        let lookup = self.b.create_block();
        self.b.ins().brif(outside, lookup, &[], hit, &[]);

        self.b.switch_to_block(hit);
        self.b.seal_block(hit);
        let page = self.slot_load(slot, 8);
        self.b.def_var(page_var, page);
        self.b.def_var(in_page_var, in_page);
        self.fast_access(&site, page, in_page, 0);

        // Out of line: an access that steps through memory leaves its page
        // once per page.
        self.b.switch_to_block(lookup);
        self.b.seal_block(lookup);
        self.b.set_cold_block(lookup);
        let (page, in_page) = self.virtual_translate(site.addr, size, site.slow, writable, true);
        let minus_base = self.b.ins().isub(in_page, site.addr);
        self.slot_store(minus_base, slot, 0);
        self.slot_store(page, slot, 8);
        self.b.def_var(page_var, page);
        self.b.def_var(in_page_var, in_page);
        self.fast_access(&site, page, in_page, 0);
        self.keep_for_reuse(&site, relative, writable, page_var, in_page_var);
    }

    /// Keeps the translation of `site` for later accesses of the stretch
    /// (dropping the oldest kept one when there are already
    /// [`MAX_REUSES`]).
    fn keep_for_reuse(
        &mut self,
        site: &Site,
        relative: (Value, i64),
        write: bool,
        page: Variable,
        in_page: Variable,
    ) {
        if self.reuses.len() == MAX_REUSES {
            self.reuses.remove(0);
        }
        self.reuses.push(Reuse {
            relative,
            addr: site.addr,
            offset: site.offset,
            write,
            in_page,
            page,
        });
    }

    /// A fast path's end: the access at `page + in_page +
    /// displacement`, then the jump to `site.done` (with the value, for a
    /// load).
    fn fast_access(&mut self, site: &Site, page: Value, in_page: Value, displacement: i32) {
        let host = self.b.ins().iadd(page, in_page);
        match site.stored {
            Some(value) => {
                self.native_store(site.access, value, host, displacement);
                self.b.ins().jump(site.done, &[]);
            }
            None => {
                let v = self.native_load(site.access, host, displacement);
                self.b.ins().jump(site.done, &[BlockArg::Value(v)]);
            }
        }
    }

    /// Virtual lowering: the inline table lookup (in cold blocks if
    /// `cold`). Branches to `slow` when the page lies beyond the table, has
    /// no entry, or the access may cross into the next page; otherwise
    /// returns the table entry (the host address of the page) and the
    /// in-page offset of `addr`. The in-page offset is computed in the block of the access
    /// itself, so that Cranelift does not compute it twice.
    fn virtual_translate(
        &mut self,
        addr: Value,
        size: u8,
        slow: cranelift_codegen::ir::Block,
        write: bool,
        cold: bool,
    ) -> (Value, Value) {
        let directory = self.directory.expect("loaded at entry");
        let flags = self.memory_flags();
        // No bounds check: `addr < 2^33` (see `memory`), and the directory
        // has an entry for each 2 MiB below 2^33.
        let leaf_index = self
            .b
            .ins()
            .ushr_imm_s(addr, i64::from(TABLE_DIRECTORY_SHIFT));
        let leaf_offset = self.b.ins().ishl_imm_s(leaf_index, 3);
        let leaf_addr = self.b.ins().iadd(directory, leaf_offset);
        let leaf = self.b.ins().load(I64, flags, leaf_addr, 0);
        let vpn = self.b.ins().ushr_imm_s(addr, 12);
        let in_leaf = self.b.ins().band_imm_s(vpn, TABLE_LEAF_PAGES as i64 - 1);
        let entry_offset = self.b.ins().ishl_imm_s(in_leaf, 3);
        let entry_addr = self.b.ins().iadd(leaf, entry_offset);
        let half = if write { TABLE_LEAF_WRITE_OFFSET } else { 0 };
        let page = self.b.ins().load(I64, flags, entry_addr, half);
        let cont = self.continuation_block();
        self.b.ins().brif(page, cont, &[], slow, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        if cold {
            self.b.set_cold_block(cont);
        }
        let in_page = self.b.ins().band_imm_s(addr, PAGE_SIZE - 1);
        if size > 1 {
            let crosses = self.b.ins().icmp_imm_s(
                IntCC::UnsignedGreaterThan,
                in_page,
                PAGE_SIZE - i64::from(size),
            );
            self.branch_slow(crosses, slow, cold);
        }
        (page, in_page)
    }

    /// Calls slow-path `stub` of memory 0 for `size` bytes at `addr` (a
    /// store passes its raw bits as `value`), then tests for a trap; the
    /// raw bits loaded (0 for a store).
    fn call_slow_path(
        &mut self,
        stub: SlowPathStub,
        addr: Value,
        size: u8,
        value: Option<Value>,
    ) -> Value {
        let memory = self.i32_const(0);
        let size = self.i32_const(u32::from(size));
        let mut args = vec![memory, addr, size];
        args.extend(value);
        self.call_stub(stub, &args);
        if value.is_some() {
            return self.b.ins().iconst(I64, 0);
        }
        let flags = self.vm_flags();
        self.b
            .ins()
            .load(I64, flags, self.runtime, offsets::RUNTIME_SLOW_RESULT)
    }

    /// Continues to `slow` if `cond`, else in a new block (cold if `cold`).
    fn branch_slow(&mut self, cond: Value, slow: cranelift_codegen::ir::Block, cold: bool) {
        let cont = self.continuation_block();
        self.b.ins().brif(cond, slow, &[], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        if cold {
            self.b.set_cold_block(cont);
        }
    }
}
