//! Guest memory: loads and stores in the two lowerings of `vm.rs`, and the
//! memory operators that are libcalls.
//!
//! ```text
//!  virtual: (addr & 0xfff) > 4096 - n ─┐
//!           addr >> 12 >= table_pages ─┼─► slow path: the module's stub
//!           table[addr >> 12] == 0 ────┘    (cold, may trap; preserve_all,
//!                                           so the hot path keeps its
//!                                           registers)
//!           access table[addr >> 12] + (addr & 0xfff)
//!  plain:   addr + n > bound ──► trap MemoryOutOfBounds
//!           access base + addr
//! ```
//!
//! `addr` is the zero-extended `i32` index plus the static offset, as a
//! `u64`. The `VMMemory` fields are loaded at each access in the `memory`
//! alias region, so Cranelift reuses them until a call or a safepoint.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I16, I32, I64, I8};
use cranelift_codegen::ir::{BlockArg, InstBuilder, MemFlagsData, Type, Value};
use wasmparser::{MemArg, MemArgTarget, Operator};
use waven_environ::code::MemoryLowering;
use waven_environ::vm::{offsets, Libcall, SlowPathStub, TrapCode};

use super::FuncTranslator;
use crate::CompileError;

/// The page size of the software MMU's tables.
const PAGE_SIZE: i64 = 4096;

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
                let host = self.virtual_translate(addr, a.size, slow, false);
                let fast = self.native_load(a, host, 0);
                self.b.ins().jump(done, &[BlockArg::Value(fast)]);

                self.b.switch_to_block(slow);
                self.b.seal_block(slow);
                self.b.set_cold_block(slow);
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
                let addr = self.effective_address(index, memarg.offset);
                let done = self.b.create_block();
                let slow = self.b.create_block();
                let host = self.virtual_translate(addr, a.size, slow, true);
                self.native_store(a, value, host, 0);
                self.b.ins().jump(done, &[]);

                self.b.switch_to_block(slow);
                self.b.seal_block(slow);
                self.b.set_cold_block(slow);
                let raw = self.raw_bits(a, value);
                self.call_slow_path(SlowPathStub::Store, addr, a.size, Some(raw));
                self.b.ins().jump(done, &[]);

                self.b.switch_to_block(done);
                self.b.seal_block(done);
            }
        }
        Ok(())
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

    /// Virtual lowering: the inline table lookup. Branches to `slow` when
    /// the page lies beyond the table, has no entry, or the access may
    /// cross into the next page; otherwise returns the host address of
    /// `addr`. The in-page offset is computed in the block of the access
    /// itself, so that Cranelift does not compute it twice.
    fn virtual_translate(
        &mut self,
        addr: Value,
        size: u8,
        slow: cranelift_codegen::ir::Block,
        write: bool,
    ) -> Value {
        let [pages, read_table, write_table] = self.tables.expect("loaded at entry");
        let table = if write { write_table } else { read_table };
        let flags = self.memory_flags();
        let vpn = self.b.ins().ushr_imm_s(addr, 12);
        let beyond = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, pages, vpn);
        self.branch_slow(beyond, slow);
        let entry_offset = self.b.ins().ishl_imm_s(vpn, 3);
        let entry_addr = self.b.ins().iadd(table, entry_offset);
        let page = self.b.ins().load(I64, flags, entry_addr, 0);
        let cont = self.b.create_block();
        self.b.ins().brif(page, cont, &[], slow, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        let in_page = self.b.ins().band_imm_s(addr, PAGE_SIZE - 1);
        if size > 1 {
            let crosses = self.b.ins().icmp_imm_s(
                IntCC::UnsignedGreaterThan,
                in_page,
                PAGE_SIZE - i64::from(size),
            );
            self.branch_slow(crosses, slow);
        }
        self.b.ins().iadd(page, in_page)
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

    /// Continues to `slow` if `cond`, else in a new block.
    fn branch_slow(&mut self, cond: Value, slow: cranelift_codegen::ir::Block) {
        let cont = self.b.create_block();
        self.b.ins().brif(cond, slow, &[], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }
}
