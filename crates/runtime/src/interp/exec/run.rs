//! The dispatch loop: one `match` arm per instruction.
//!
//! Each arm reads its operands from the frame's slots, computes, and
//! writes its result slot. The numeric semantics that are more than a
//! Rust operator live in `numeric.rs`.

use super::frame::FramePtr;
use super::numeric as num;
use std::sync::Arc;

use super::{Backend, Executor, Frame};
use crate::error::TrapKind;
use crate::interp::ir::{CompiledFunc, Instr, Slot};
use crate::store::{FuncEntity, InstanceData};

/// A Rust type an untyped cell can hold.
trait Cell: Sized {
    fn from_cell(cell: u64) -> Self;
    fn into_cell(self) -> u64;
}

macro_rules! cell_int {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            #[inline(always)]
            fn from_cell(cell: u64) -> Self { cell as $t }
            #[inline(always)]
            fn into_cell(self) -> u64 { self as u64 }
        }
    )*};
}
cell_int!(u32, u64, i64);

impl Cell for i32 {
    #[inline(always)]
    fn from_cell(cell: u64) -> Self {
        cell as u32 as i32
    }
    #[inline(always)]
    fn into_cell(self) -> u64 {
        self as u32 as u64
    }
}

impl Cell for bool {
    #[inline(always)]
    fn from_cell(cell: u64) -> Self {
        cell as u32 != 0
    }
    #[inline(always)]
    fn into_cell(self) -> u64 {
        self as u64
    }
}

impl Cell for f32 {
    #[inline(always)]
    fn from_cell(cell: u64) -> Self {
        f32::from_bits(cell as u32)
    }
    #[inline(always)]
    fn into_cell(self) -> u64 {
        self.to_bits() as u64
    }
}

impl Cell for f64 {
    #[inline(always)]
    fn from_cell(cell: u64) -> Self {
        f64::from_bits(cell)
    }
    #[inline(always)]
    fn into_cell(self) -> u64 {
        self.to_bits()
    }
}

#[inline(always)]
fn get<A: Cell>(frame: FramePtr, slot: Slot) -> A {
    A::from_cell(frame.get(slot))
}

#[inline(always)]
fn un<A: Cell, R: Cell>(frame: FramePtr, dst: Slot, src: Slot, op: impl FnOnce(A) -> R) {
    frame.set(dst, op(get(frame, src)).into_cell());
}

#[inline(always)]
fn bin<A: Cell, R: Cell>(frame: FramePtr, dst: Slot, a: Slot, b: Slot, op: impl FnOnce(A, A) -> R) {
    frame.set(dst, op(get(frame, a), get(frame, b)).into_cell());
}

#[inline(always)]
fn un_trap<A: Cell, R: Cell>(
    frame: FramePtr,
    dst: Slot,
    src: Slot,
    op: impl FnOnce(A) -> Result<R, TrapKind>,
) -> Result<(), TrapKind> {
    frame.set(dst, op(get(frame, src))?.into_cell());
    Ok(())
}

#[inline(always)]
fn bin_trap<A: Cell, R: Cell>(
    frame: FramePtr,
    dst: Slot,
    a: Slot,
    b: Slot,
    op: impl FnOnce(A, A) -> Result<R, TrapKind>,
) -> Result<(), TrapKind> {
    frame.set(dst, op(get(frame, a), get(frame, b))?.into_cell());
    Ok(())
}

/// The effective address of a memory access.
#[inline(always)]
fn address(frame: FramePtr, addr: Slot, offset: u32) -> u64 {
    get::<u32>(frame, addr) as u64 + offset as u64
}

impl<T, B: Backend> Executor<'_, T, B> {
    #[inline(always)]
    fn mem(&mut self) -> &mut B::Active {
        &mut self
            .memory
            .as_mut()
            .expect("validated: the instance has a memory")
            .1
    }

    #[inline(always)]
    fn load<const N: usize>(
        &mut self,
        frame: FramePtr,
        addr: Slot,
        offset: u32,
    ) -> Result<[u8; N], TrapKind> {
        let ea = address(frame, addr, offset);
        Ok(B::load::<N>(self.mem(), ea)?)
    }

    #[inline(always)]
    fn store<const N: usize>(
        &mut self,
        frame: FramePtr,
        addr: Slot,
        offset: u32,
        bytes: [u8; N],
    ) -> Result<(), TrapKind> {
        let ea = address(frame, addr, offset);
        Ok(B::store::<N>(self.mem(), ea, bytes)?)
    }

    fn table_index(&self, instance: &InstanceData, table: u32) -> usize {
        instance.tables[table as usize] as usize
    }

    /// Runs `func` of instance `instance_index` (its arguments in the
    /// first cells of the value stack) until it returns.
    pub(super) fn run(
        &mut self,
        mut func: Arc<CompiledFunc>,
        mut instance_index: u32,
    ) -> Result<(), TrapKind> {
        let mut instance = self.store.inner.instances[instance_index as usize]
            .data
            .clone();
        self.use_memory(instance.memory);
        let mut base = 0;
        let mut pc = 0;
        let mut frame = self.stack.enter(base, func.max_slots)?;
        Self::init_frame(frame, &func);
        // Enters Wasm function `callee` with its frame at `$args` (a slot
        // of the current frame): the current function becomes a caller.
        macro_rules! enter {
            ($callee:expr, $args:expr) => {{
                let (callee_instance, code) = match &self.store.inner.funcs[$callee as usize] {
                    FuncEntity::Wasm { instance, code, .. } => (*instance, code.clone()),
                    FuncEntity::Host { .. } => unreachable!("host functions are called in place"),
                    FuncEntity::Compiled { .. } => return Err(compiled_in_interpreter()),
                };
                if self.frames.len() >= self.max_depth {
                    return Err(TrapKind::CallStackExhausted);
                }
                // Every call is a safepoint (a function without fuel has
                // no Safepoint instruction at its entry).
                self.safepoint()?;
                let callee_base = base + $args as usize;
                // May grow the stack: the caller's frame is derived again
                // from its base when the call returns.
                frame = self.stack.enter(callee_base, code.max_slots)?;
                Self::init_frame(frame, &code);
                let callee_index = code.index;
                self.frames.push(Frame {
                    func: std::mem::replace(&mut func, code),
                    instance_index,
                    base,
                    pc,
                });
                self.current = (callee_instance, callee_index);
                if callee_instance != instance_index {
                    instance_index = callee_instance;
                    instance = self.store.inner.instances[instance_index as usize]
                        .data
                        .clone();
                    self.use_memory(instance.memory);
                }
                base = callee_base;
                pc = 0;
            }};
        }
        // Continues at instruction `to`. A jump back is a loop's next pass:
        // a safepoint (without fuel, loops carry no Safepoint instruction).
        macro_rules! jump {
            ($to:expr) => {{
                let to = $to as usize;
                if to < pc {
                    self.safepoint()?;
                }
                pc = to;
            }};
        }
        loop {
            let instr = func.code[pc];
            pc += 1;
            match instr {
                Instr::Unreachable => return Err(TrapKind::Unreachable),
                Instr::Br { to } => jump!(to),
                Instr::BrIfNez { cond, to } => {
                    if get::<u32>(frame, cond) != 0 {
                        jump!(to);
                    }
                }
                Instr::BrIfEqz { cond, to } => {
                    if get::<u32>(frame, cond) == 0 {
                        jump!(to);
                    }
                }
                Instr::BrI32Eq { a, b, to } => {
                    if get::<u32>(frame, a) == get::<u32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32Ne { a, b, to } => {
                    if get::<u32>(frame, a) != get::<u32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32LtS { a, b, to } => {
                    if get::<i32>(frame, a) < get::<i32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32LtU { a, b, to } => {
                    if get::<u32>(frame, a) < get::<u32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32GtS { a, b, to } => {
                    if get::<i32>(frame, a) > get::<i32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32GtU { a, b, to } => {
                    if get::<u32>(frame, a) > get::<u32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32LeS { a, b, to } => {
                    if get::<i32>(frame, a) <= get::<i32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32LeU { a, b, to } => {
                    if get::<u32>(frame, a) <= get::<u32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32GeS { a, b, to } => {
                    if get::<i32>(frame, a) >= get::<i32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrI32GeU { a, b, to } => {
                    if get::<u32>(frame, a) >= get::<u32>(frame, b) {
                        jump!(to);
                    }
                }
                Instr::BrTable { index, first, len } => {
                    let i = get::<u32>(frame, index).min(len - 1);
                    jump!(func.br_targets[(first + i) as usize]);
                }
                Instr::Return { src, count } => {
                    for i in 0..count {
                        frame.set(i, frame.get(src + i));
                    }
                    let Some(caller) = self.frames.pop() else {
                        return Ok(());
                    };
                    func = caller.func;
                    self.current = (caller.instance_index, func.index);
                    base = caller.base;
                    pc = caller.pc;
                    if caller.instance_index != instance_index {
                        instance_index = caller.instance_index;
                        instance = self.store.inner.instances[instance_index as usize]
                            .data
                            .clone();
                        self.use_memory(instance.memory);
                    }
                    frame = self
                        .stack
                        .frame(base, func.max_slots)
                        .ok_or(TrapKind::CallStackExhausted)?;
                }
                Instr::Call {
                    func: index,
                    base: args,
                } => {
                    let callee = instance.funcs[index as usize];
                    let absolute = base + args as usize;
                    match &self.store.inner.funcs[callee as usize] {
                        FuncEntity::Wasm { .. } => enter!(callee, args),
                        FuncEntity::Host { .. } => {
                            self.call_host(callee, absolute, instance_index)?
                        }
                        FuncEntity::Compiled { .. } => return Err(compiled_in_interpreter()),
                    }
                }
                Instr::CallIndirect {
                    ty,
                    table,
                    index,
                    base: args,
                } => {
                    let table = &self.store.inner.tables[self.table_index(&instance, table)];
                    let i = get::<u32>(frame, index) as usize;
                    let cell = *table.cells.get(i).ok_or(TrapKind::UndefinedElement)?;
                    let callee = cell.checked_sub(1).ok_or(TrapKind::UninitializedElement)? as u32;
                    let entity = &self.store.inner.funcs[callee as usize];
                    if entity.ty() != &instance.types[ty as usize] {
                        return Err(TrapKind::IndirectCallTypeMismatch);
                    }
                    let absolute = base + args as usize;
                    match entity {
                        FuncEntity::Wasm { .. } => enter!(callee, args),
                        FuncEntity::Host { .. } => {
                            self.call_host(callee, absolute, instance_index)?
                        }
                        FuncEntity::Compiled { .. } => return Err(compiled_in_interpreter()),
                    }
                }
                Instr::Safepoint { fuel } => {
                    self.fuel = self
                        .fuel
                        .checked_sub(fuel as u64)
                        .ok_or(TrapKind::OutOfFuel)?;
                    self.safepoint()?;
                }

                Instr::Copy { dst, src } => frame.set(dst, frame.get(src)),
                Instr::Select { dst, cond, a, b } => {
                    let pick = if get::<u32>(frame, cond) != 0 { a } else { b };
                    frame.set(dst, frame.get(pick));
                }
                Instr::GlobalGet { dst, global } => {
                    let index = instance.globals[global as usize] as usize;
                    frame.set(dst, self.store.inner.globals[index].cell());
                }
                Instr::GlobalSet { src, global } => {
                    let index = instance.globals[global as usize] as usize;
                    self.store.inner.globals[index].set_cell(frame.get(src));
                }
                Instr::RefFunc { dst, func: index } => {
                    frame.set(dst, instance.funcs[index as usize] as u64 + 1);
                }
                Instr::RefIsNull { dst, src } => frame.set(dst, (frame.get(src) == 0) as u64),

                Instr::I32Load { dst, addr, offset } => {
                    let v = u32::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, v as u64);
                }
                Instr::I64Load { dst, addr, offset } => {
                    frame.set(dst, u64::from_le_bytes(self.load(frame, addr, offset)?));
                }
                Instr::F32Load { dst, addr, offset } => {
                    let v = u32::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, v as u64);
                }
                Instr::F64Load { dst, addr, offset } => {
                    frame.set(dst, u64::from_le_bytes(self.load(frame, addr, offset)?));
                }
                Instr::I32Load8S { dst, addr, offset } => {
                    let v = i8::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, (v as i32).into_cell());
                }
                Instr::I32Load8U { dst, addr, offset } => {
                    frame.set(
                        dst,
                        u8::from_le_bytes(self.load(frame, addr, offset)?) as u64,
                    );
                }
                Instr::I32Load16S { dst, addr, offset } => {
                    let v = i16::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, (v as i32).into_cell());
                }
                Instr::I32Load16U { dst, addr, offset } => {
                    frame.set(
                        dst,
                        u16::from_le_bytes(self.load(frame, addr, offset)?) as u64,
                    );
                }
                Instr::I64Load8S { dst, addr, offset } => {
                    let v = i8::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, v as i64 as u64);
                }
                Instr::I64Load8U { dst, addr, offset } => {
                    frame.set(
                        dst,
                        u8::from_le_bytes(self.load(frame, addr, offset)?) as u64,
                    );
                }
                Instr::I64Load16S { dst, addr, offset } => {
                    let v = i16::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, v as i64 as u64);
                }
                Instr::I64Load16U { dst, addr, offset } => {
                    frame.set(
                        dst,
                        u16::from_le_bytes(self.load(frame, addr, offset)?) as u64,
                    );
                }
                Instr::I64Load32S { dst, addr, offset } => {
                    let v = i32::from_le_bytes(self.load(frame, addr, offset)?);
                    frame.set(dst, v as i64 as u64);
                }
                Instr::I64Load32U { dst, addr, offset } => {
                    frame.set(
                        dst,
                        u32::from_le_bytes(self.load(frame, addr, offset)?) as u64,
                    );
                }
                Instr::I32Store {
                    addr,
                    value,
                    offset,
                } => {
                    let bytes = get::<u32>(frame, value).to_le_bytes();
                    self.store(frame, addr, offset, bytes)?;
                }
                Instr::I64Store {
                    addr,
                    value,
                    offset,
                } => {
                    let bytes = frame.get(value).to_le_bytes();
                    self.store(frame, addr, offset, bytes)?;
                }
                Instr::I32Store8 {
                    addr,
                    value,
                    offset,
                }
                | Instr::I64Store8 {
                    addr,
                    value,
                    offset,
                } => {
                    let bytes = (frame.get(value) as u8).to_le_bytes();
                    self.store(frame, addr, offset, bytes)?;
                }
                Instr::I32Store16 {
                    addr,
                    value,
                    offset,
                }
                | Instr::I64Store16 {
                    addr,
                    value,
                    offset,
                } => {
                    let bytes = (frame.get(value) as u16).to_le_bytes();
                    self.store(frame, addr, offset, bytes)?;
                }
                Instr::I64Store32 {
                    addr,
                    value,
                    offset,
                } => {
                    let bytes = (frame.get(value) as u32).to_le_bytes();
                    self.store(frame, addr, offset, bytes)?;
                }
                Instr::MemorySize { dst } => {
                    let pages = B::size(self.mem()) >> 16;
                    frame.set(dst, pages);
                }
                Instr::MemoryGrow { dst, delta } => {
                    let delta = get::<u32>(frame, delta) as u64;
                    let old = B::grow(self.mem(), delta).map_or(u32::MAX, |old| old as u32);
                    frame.set(dst, old as u64);
                }
                Instr::MemoryFill { dst, value, len } => {
                    let (d, v, n) = (
                        get::<u32>(frame, dst),
                        get::<u32>(frame, value),
                        get::<u32>(frame, len),
                    );
                    B::fill(self.mem(), d as u64, v as u8, n as u64)?;
                }
                Instr::MemoryCopy { dst, src, len } => {
                    let (d, s, n) = (
                        get::<u32>(frame, dst),
                        get::<u32>(frame, src),
                        get::<u32>(frame, len),
                    );
                    B::copy(self.mem(), d as u64, s as u64, n as u64)?;
                }
                Instr::MemoryInit {
                    data,
                    dst,
                    src,
                    len,
                } => {
                    let (d, s, n) = (
                        get::<u32>(frame, dst) as u64,
                        get::<u32>(frame, src) as u64,
                        get::<u32>(frame, len) as u64,
                    );
                    let bytes = self.store.inner.instances[instance_index as usize].datas
                        [data as usize]
                        .clone();
                    let end = s + n;
                    if end > bytes.len() as u64 {
                        return Err(TrapKind::MemoryOutOfBounds);
                    }
                    let mem = self.mem();
                    if d + n > B::size(mem) {
                        return Err(TrapKind::MemoryOutOfBounds);
                    }
                    B::write_bytes(mem, d, &bytes[s as usize..end as usize])?;
                }
                Instr::DataDrop { data } => {
                    self.store.inner.instances[instance_index as usize].datas[data as usize] =
                        std::sync::Arc::new([]);
                }
                Instr::MemoryDiscard { addr, len } => {
                    let (a, n) = (
                        get::<u32>(frame, addr) as u64,
                        get::<u32>(frame, len) as u64,
                    );
                    B::discard(self.mem(), a, n)?;
                }

                Instr::TableGet { dst, table, index } => {
                    let table = &self.store.inner.tables[self.table_index(&instance, table)];
                    let i = get::<u32>(frame, index) as usize;
                    frame.set(dst, *table.cells.get(i).ok_or(TrapKind::TableOutOfBounds)?);
                }
                Instr::TableSet {
                    table,
                    index,
                    value,
                } => {
                    let t = self.table_index(&instance, table);
                    let i = get::<u32>(frame, index) as usize;
                    let cell = self.store.inner.tables[t]
                        .cells
                        .get_mut(i)
                        .ok_or(TrapKind::TableOutOfBounds)?;
                    *cell = frame.get(value);
                }
                Instr::TableSize { dst, table } => {
                    let t = self.table_index(&instance, table);
                    frame.set(dst, self.store.inner.tables[t].cells.len() as u64);
                }
                Instr::TableGrow {
                    dst,
                    table,
                    init,
                    delta,
                } => {
                    let t = self.table_index(&instance, table);
                    let delta = get::<u32>(frame, delta) as u64;
                    let old = self.store.inner.tables[t].grow(delta, frame.get(init));
                    frame.set(dst, old.map_or(u32::MAX, |old| old as u32) as u64);
                }
                Instr::TableFill {
                    table,
                    dst,
                    value,
                    len,
                } => {
                    let t = self.table_index(&instance, table);
                    let (d, n) = (
                        get::<u32>(frame, dst) as usize,
                        get::<u32>(frame, len) as usize,
                    );
                    let cells = &mut self.store.inner.tables[t].cells;
                    let end = d
                        .checked_add(n)
                        .filter(|&end| end <= cells.len())
                        .ok_or(TrapKind::TableOutOfBounds)?;
                    cells[d..end].fill(frame.get(value));
                }
                Instr::TableCopy {
                    pair,
                    dst,
                    src,
                    len,
                } => {
                    let (dst_table, src_table) = func.pairs[pair as usize];
                    let (dt, st) = (
                        self.table_index(&instance, dst_table),
                        self.table_index(&instance, src_table),
                    );
                    let (d, s, n) = (
                        get::<u32>(frame, dst) as usize,
                        get::<u32>(frame, src) as usize,
                        get::<u32>(frame, len) as usize,
                    );
                    let tables = &mut self.store.inner.tables;
                    if d + n > tables[dt].cells.len() || s + n > tables[st].cells.len() {
                        return Err(TrapKind::TableOutOfBounds);
                    }
                    if dt == st {
                        tables[dt].cells.copy_within(s..s + n, d);
                    } else {
                        let items: Vec<u64> = tables[st].cells[s..s + n].to_vec();
                        tables[dt].cells[d..d + n].copy_from_slice(&items);
                    }
                }
                Instr::TableInit {
                    pair,
                    dst,
                    src,
                    len,
                } => {
                    let (table, elem) = func.pairs[pair as usize];
                    let t = self.table_index(&instance, table);
                    let (d, s, n) = (
                        get::<u32>(frame, dst) as usize,
                        get::<u32>(frame, src) as usize,
                        get::<u32>(frame, len) as usize,
                    );
                    let items = self.store.inner.instances[instance_index as usize].elems
                        [elem as usize]
                        .clone();
                    let cells = &mut self.store.inner.tables[t].cells;
                    if s + n > items.len() || d + n > cells.len() {
                        return Err(TrapKind::TableOutOfBounds);
                    }
                    cells[d..d + n].copy_from_slice(&items[s..s + n]);
                }
                Instr::ElemDrop { elem } => {
                    self.store.inner.instances[instance_index as usize].elems[elem as usize] =
                        std::sync::Arc::new([]);
                }

                Instr::I32Eqz { dst, src } => un(frame, dst, src, |x: u32| x == 0),
                Instr::I32Eq { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x == y),
                Instr::I32Ne { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x != y),
                Instr::I32LtS { dst, a, b } => bin(frame, dst, a, b, |x: i32, y| x < y),
                Instr::I32LtU { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x < y),
                Instr::I32GtS { dst, a, b } => bin(frame, dst, a, b, |x: i32, y| x > y),
                Instr::I32GtU { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x > y),
                Instr::I32LeS { dst, a, b } => bin(frame, dst, a, b, |x: i32, y| x <= y),
                Instr::I32LeU { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x <= y),
                Instr::I32GeS { dst, a, b } => bin(frame, dst, a, b, |x: i32, y| x >= y),
                Instr::I32GeU { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x >= y),
                Instr::I32Clz { dst, src } => un(frame, dst, src, u32::leading_zeros),
                Instr::I32Ctz { dst, src } => un(frame, dst, src, u32::trailing_zeros),
                Instr::I32Popcnt { dst, src } => un(frame, dst, src, u32::count_ones),
                Instr::I32Add { dst, a, b } => bin(frame, dst, a, b, u32::wrapping_add),
                Instr::I32Sub { dst, a, b } => bin(frame, dst, a, b, u32::wrapping_sub),
                Instr::I32Mul { dst, a, b } => bin(frame, dst, a, b, u32::wrapping_mul),
                Instr::I32DivS { dst, a, b } => bin_trap(frame, dst, a, b, num::i32_div_s)?,
                Instr::I32DivU { dst, a, b } => bin_trap(frame, dst, a, b, num::i32_div_u)?,
                Instr::I32RemS { dst, a, b } => bin_trap(frame, dst, a, b, num::i32_rem_s)?,
                Instr::I32RemU { dst, a, b } => bin_trap(frame, dst, a, b, num::i32_rem_u)?,
                Instr::I32And { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x & y),
                Instr::I32Or { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x | y),
                Instr::I32Xor { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x ^ y),
                Instr::I32Shl { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x.wrapping_shl(y)),
                Instr::I32ShrS { dst, a, b } => {
                    bin(frame, dst, a, b, |x: i32, y| x.wrapping_shr(y as u32))
                }
                Instr::I32ShrU { dst, a, b } => {
                    bin(frame, dst, a, b, |x: u32, y| x.wrapping_shr(y))
                }
                Instr::I32Rotl { dst, a, b } => bin(frame, dst, a, b, |x: u32, y| x.rotate_left(y)),
                Instr::I32Rotr { dst, a, b } => {
                    bin(frame, dst, a, b, |x: u32, y| x.rotate_right(y))
                }

                Instr::I64Eqz { dst, src } => un(frame, dst, src, |x: u64| x == 0),
                Instr::I64Eq { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x == y),
                Instr::I64Ne { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x != y),
                Instr::I64LtS { dst, a, b } => bin(frame, dst, a, b, |x: i64, y| x < y),
                Instr::I64LtU { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x < y),
                Instr::I64GtS { dst, a, b } => bin(frame, dst, a, b, |x: i64, y| x > y),
                Instr::I64GtU { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x > y),
                Instr::I64LeS { dst, a, b } => bin(frame, dst, a, b, |x: i64, y| x <= y),
                Instr::I64LeU { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x <= y),
                Instr::I64GeS { dst, a, b } => bin(frame, dst, a, b, |x: i64, y| x >= y),
                Instr::I64GeU { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x >= y),
                Instr::I64Clz { dst, src } => {
                    un(frame, dst, src, |x: u64| x.leading_zeros() as u64)
                }
                Instr::I64Ctz { dst, src } => {
                    un(frame, dst, src, |x: u64| x.trailing_zeros() as u64)
                }
                Instr::I64Popcnt { dst, src } => {
                    un(frame, dst, src, |x: u64| x.count_ones() as u64)
                }
                Instr::I64Add { dst, a, b } => bin(frame, dst, a, b, u64::wrapping_add),
                Instr::I64Sub { dst, a, b } => bin(frame, dst, a, b, u64::wrapping_sub),
                Instr::I64Mul { dst, a, b } => bin(frame, dst, a, b, u64::wrapping_mul),
                Instr::I64DivS { dst, a, b } => bin_trap(frame, dst, a, b, num::i64_div_s)?,
                Instr::I64DivU { dst, a, b } => bin_trap(frame, dst, a, b, num::i64_div_u)?,
                Instr::I64RemS { dst, a, b } => bin_trap(frame, dst, a, b, num::i64_rem_s)?,
                Instr::I64RemU { dst, a, b } => bin_trap(frame, dst, a, b, num::i64_rem_u)?,
                Instr::I64And { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x & y),
                Instr::I64Or { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x | y),
                Instr::I64Xor { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| x ^ y),
                Instr::I64Shl { dst, a, b } => {
                    bin(frame, dst, a, b, |x: u64, y| x.wrapping_shl(y as u32))
                }
                Instr::I64ShrS { dst, a, b } => {
                    bin(frame, dst, a, b, |x: i64, y| x.wrapping_shr(y as u32))
                }
                Instr::I64ShrU { dst, a, b } => {
                    bin(frame, dst, a, b, |x: u64, y| x.wrapping_shr(y as u32))
                }
                Instr::I64Rotl { dst, a, b } => {
                    bin(frame, dst, a, b, |x: u64, y| x.rotate_left((y % 64) as u32))
                }
                Instr::I64Rotr { dst, a, b } => bin(frame, dst, a, b, |x: u64, y| {
                    x.rotate_right((y % 64) as u32)
                }),

                Instr::F32Eq { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x == y),
                Instr::F32Ne { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x != y),
                Instr::F32Lt { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x < y),
                Instr::F32Gt { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x > y),
                Instr::F32Le { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x <= y),
                Instr::F32Ge { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x >= y),
                Instr::F32Abs { dst, src } => un(frame, dst, src, num::f32_abs),
                Instr::F32Neg { dst, src } => un(frame, dst, src, num::f32_neg),
                Instr::F32Ceil { dst, src } => {
                    un(frame, dst, src, |x: f32| num::f32_quiet(x.ceil()))
                }
                Instr::F32Floor { dst, src } => {
                    un(frame, dst, src, |x: f32| num::f32_quiet(x.floor()))
                }
                Instr::F32Trunc { dst, src } => {
                    un(frame, dst, src, |x: f32| num::f32_quiet(x.trunc()))
                }
                Instr::F32Nearest { dst, src } => un(frame, dst, src, num::f32_nearest),
                Instr::F32Sqrt { dst, src } => un(frame, dst, src, f32::sqrt),
                Instr::F32Add { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x + y),
                Instr::F32Sub { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x - y),
                Instr::F32Mul { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x * y),
                Instr::F32Div { dst, a, b } => bin(frame, dst, a, b, |x: f32, y| x / y),
                Instr::F32Min { dst, a, b } => bin(frame, dst, a, b, num::f32_min),
                Instr::F32Max { dst, a, b } => bin(frame, dst, a, b, num::f32_max),
                Instr::F32Copysign { dst, a, b } => bin(frame, dst, a, b, num::f32_copysign),

                Instr::F64Eq { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x == y),
                Instr::F64Ne { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x != y),
                Instr::F64Lt { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x < y),
                Instr::F64Gt { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x > y),
                Instr::F64Le { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x <= y),
                Instr::F64Ge { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x >= y),
                Instr::F64Abs { dst, src } => un(frame, dst, src, num::f64_abs),
                Instr::F64Neg { dst, src } => un(frame, dst, src, num::f64_neg),
                Instr::F64Ceil { dst, src } => {
                    un(frame, dst, src, |x: f64| num::f64_quiet(x.ceil()))
                }
                Instr::F64Floor { dst, src } => {
                    un(frame, dst, src, |x: f64| num::f64_quiet(x.floor()))
                }
                Instr::F64Trunc { dst, src } => {
                    un(frame, dst, src, |x: f64| num::f64_quiet(x.trunc()))
                }
                Instr::F64Nearest { dst, src } => un(frame, dst, src, num::f64_nearest),
                Instr::F64Sqrt { dst, src } => un(frame, dst, src, f64::sqrt),
                Instr::F64Add { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x + y),
                Instr::F64Sub { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x - y),
                Instr::F64Mul { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x * y),
                Instr::F64Div { dst, a, b } => bin(frame, dst, a, b, |x: f64, y| x / y),
                Instr::F64Min { dst, a, b } => bin(frame, dst, a, b, num::f64_min),
                Instr::F64Max { dst, a, b } => bin(frame, dst, a, b, num::f64_max),
                Instr::F64Copysign { dst, a, b } => bin(frame, dst, a, b, num::f64_copysign),

                Instr::I32TruncF32S { dst, src } => un_trap(frame, dst, src, num::i32_trunc_f32_s)?,
                Instr::I32TruncF32U { dst, src } => un_trap(frame, dst, src, num::i32_trunc_f32_u)?,
                Instr::I32TruncF64S { dst, src } => un_trap(frame, dst, src, num::i32_trunc_f64_s)?,
                Instr::I32TruncF64U { dst, src } => un_trap(frame, dst, src, num::i32_trunc_f64_u)?,
                Instr::I64ExtendI32S { dst, src } => un(frame, dst, src, |x: i32| x as i64),
                Instr::I64ExtendI32U { dst, src } => un(frame, dst, src, |x: u32| x as u64),
                Instr::I64TruncF32S { dst, src } => un_trap(frame, dst, src, num::i64_trunc_f32_s)?,
                Instr::I64TruncF32U { dst, src } => un_trap(frame, dst, src, num::i64_trunc_f32_u)?,
                Instr::I64TruncF64S { dst, src } => un_trap(frame, dst, src, num::i64_trunc_f64_s)?,
                Instr::I64TruncF64U { dst, src } => un_trap(frame, dst, src, num::i64_trunc_f64_u)?,
                Instr::F32ConvertI32S { dst, src } => un(frame, dst, src, |x: i32| x as f32),
                Instr::F32ConvertI32U { dst, src } => un(frame, dst, src, |x: u32| x as f32),
                Instr::F32ConvertI64S { dst, src } => un(frame, dst, src, |x: i64| x as f32),
                Instr::F32ConvertI64U { dst, src } => un(frame, dst, src, num::f32_convert_i64_u),
                Instr::F32DemoteF64 { dst, src } => un(frame, dst, src, num::f32_demote_f64),
                Instr::F64ConvertI32S { dst, src } => un(frame, dst, src, |x: i32| x as f64),
                Instr::F64ConvertI32U { dst, src } => un(frame, dst, src, |x: u32| x as f64),
                Instr::F64ConvertI64S { dst, src } => un(frame, dst, src, |x: i64| x as f64),
                Instr::F64ConvertI64U { dst, src } => un(frame, dst, src, num::f64_convert_i64_u),
                Instr::F64PromoteF32 { dst, src } => un(frame, dst, src, num::f64_promote_f32),
                Instr::I32Extend8S { dst, src } => un(frame, dst, src, |x: i32| x as i8 as i32),
                Instr::I32Extend16S { dst, src } => un(frame, dst, src, |x: i32| x as i16 as i32),
                Instr::I64Extend8S { dst, src } => un(frame, dst, src, |x: i64| x as i8 as i64),
                Instr::I64Extend16S { dst, src } => un(frame, dst, src, |x: i64| x as i16 as i64),
                Instr::I64Extend32S { dst, src } => un(frame, dst, src, |x: i64| x as i32 as i64),
                Instr::I32TruncSatF32S { dst, src } => {
                    un(frame, dst, src, num::i32_trunc_sat_f32_s)
                }
                Instr::I32TruncSatF32U { dst, src } => {
                    un(frame, dst, src, num::i32_trunc_sat_f32_u)
                }
                Instr::I32TruncSatF64S { dst, src } => {
                    un(frame, dst, src, num::i32_trunc_sat_f64_s)
                }
                Instr::I32TruncSatF64U { dst, src } => {
                    un(frame, dst, src, num::i32_trunc_sat_f64_u)
                }
                Instr::I64TruncSatF32S { dst, src } => {
                    un(frame, dst, src, num::i64_trunc_sat_f32_s)
                }
                Instr::I64TruncSatF32U { dst, src } => {
                    un(frame, dst, src, num::i64_trunc_sat_f32_u)
                }
                Instr::I64TruncSatF64S { dst, src } => {
                    un(frame, dst, src, num::i64_trunc_sat_f64_s)
                }
                Instr::I64TruncSatF64U { dst, src } => {
                    un(frame, dst, src, num::i64_trunc_sat_f64_u)
                }
            }
        }
    }
}

/// Calls `check` with every slot `instr` reads or writes (for
/// [`super::verify`]). The match is exhaustive, so a new instruction must
/// say here which slots it names.
pub(super) fn for_each_slot(instr: &Instr, mut check: impl FnMut(Slot)) {
    match *instr {
        Instr::Unreachable => {}
        Instr::Br { .. } => {}
        Instr::BrIfNez { cond, .. } => {
            check(cond);
        }
        Instr::BrIfEqz { cond, .. } => {
            check(cond);
        }
        Instr::BrI32Eq { a, b, .. }
        | Instr::BrI32Ne { a, b, .. }
        | Instr::BrI32LtS { a, b, .. }
        | Instr::BrI32LtU { a, b, .. }
        | Instr::BrI32GtS { a, b, .. }
        | Instr::BrI32GtU { a, b, .. }
        | Instr::BrI32LeS { a, b, .. }
        | Instr::BrI32LeU { a, b, .. }
        | Instr::BrI32GeS { a, b, .. }
        | Instr::BrI32GeU { a, b, .. } => {
            check(a);
            check(b);
        }
        Instr::BrTable { index, .. } => {
            check(index);
        }
        Instr::Return { src, .. } => {
            check(src);
        }
        Instr::Call { base, .. } => {
            check(base);
        }
        Instr::CallIndirect { index, base, .. } => {
            check(index);
            check(base);
        }
        Instr::Safepoint { .. } => {}
        Instr::Copy { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::Select {
            dst, cond, a, b, ..
        } => {
            check(dst);
            check(cond);
            check(a);
            check(b);
        }
        Instr::GlobalGet { dst, .. } => {
            check(dst);
        }
        Instr::GlobalSet { src, .. } => {
            check(src);
        }
        Instr::RefFunc { dst, .. } => {
            check(dst);
        }
        Instr::RefIsNull { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Load { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::F32Load { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::F64Load { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I32Load8S { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I32Load8U { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I32Load16S { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I32Load16U { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load8S { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load8U { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load16S { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load16U { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load32S { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I64Load32U { dst, addr, .. } => {
            check(dst);
            check(addr);
        }
        Instr::I32Store { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::I64Store { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::I32Store8 { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::I32Store16 { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::I64Store8 { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::I64Store16 { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::I64Store32 { addr, value, .. } => {
            check(addr);
            check(value);
        }
        Instr::MemorySize { dst, .. } => {
            check(dst);
        }
        Instr::MemoryGrow { dst, delta, .. } => {
            check(dst);
            check(delta);
        }
        Instr::MemoryFill {
            dst, value, len, ..
        } => {
            check(dst);
            check(value);
            check(len);
        }
        Instr::MemoryCopy { dst, src, len, .. } => {
            check(dst);
            check(src);
            check(len);
        }
        Instr::MemoryInit { dst, src, len, .. } => {
            check(dst);
            check(src);
            check(len);
        }
        Instr::DataDrop { .. } => {}
        Instr::MemoryDiscard { addr, len, .. } => {
            check(addr);
            check(len);
        }
        Instr::TableGet { dst, index, .. } => {
            check(dst);
            check(index);
        }
        Instr::TableSet { index, value, .. } => {
            check(index);
            check(value);
        }
        Instr::TableSize { dst, .. } => {
            check(dst);
        }
        Instr::TableGrow {
            dst, init, delta, ..
        } => {
            check(dst);
            check(init);
            check(delta);
        }
        Instr::TableFill {
            dst, value, len, ..
        } => {
            check(dst);
            check(value);
            check(len);
        }
        Instr::TableCopy { dst, src, len, .. } => {
            check(dst);
            check(src);
            check(len);
        }
        Instr::TableInit { dst, src, len, .. } => {
            check(dst);
            check(src);
            check(len);
        }
        Instr::ElemDrop { .. } => {}
        Instr::I32Eqz { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Eq { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Ne { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32LtS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32LtU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32GtS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32GtU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32LeS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32LeU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32GeS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32GeU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Clz { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Ctz { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Popcnt { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Add { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Sub { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Mul { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32DivS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32DivU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32RemS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32RemU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32And { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Or { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Xor { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Shl { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32ShrS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32ShrU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Rotl { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32Rotr { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Eqz { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Eq { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Ne { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64LtS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64LtU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64GtS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64GtU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64LeS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64LeU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64GeS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64GeU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Clz { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Ctz { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Popcnt { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Add { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Sub { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Mul { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64DivS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64DivU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64RemS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64RemU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64And { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Or { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Xor { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Shl { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64ShrS { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64ShrU { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Rotl { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I64Rotr { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Eq { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Ne { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Lt { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Gt { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Le { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Ge { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Abs { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Neg { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Ceil { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Floor { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Trunc { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Nearest { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Sqrt { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32Add { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Sub { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Mul { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Div { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Min { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Max { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F32Copysign { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Eq { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Ne { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Lt { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Gt { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Le { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Ge { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Abs { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Neg { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Ceil { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Floor { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Trunc { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Nearest { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Sqrt { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64Add { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Sub { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Mul { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Div { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Min { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Max { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::F64Copysign { dst, a, b, .. } => {
            check(dst);
            check(a);
            check(b);
        }
        Instr::I32TruncF32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncF32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncF64S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncF64U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64ExtendI32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64ExtendI32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncF32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncF32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncF64S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncF64U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32ConvertI32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32ConvertI32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32ConvertI64S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32ConvertI64U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F32DemoteF64 { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64ConvertI32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64ConvertI32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64ConvertI64S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64ConvertI64U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::F64PromoteF32 { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Extend8S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32Extend16S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Extend8S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Extend16S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64Extend32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncSatF32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncSatF32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncSatF64S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I32TruncSatF64U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncSatF32S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncSatF32U { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncSatF64S { dst, src, .. } => {
            check(dst);
            check(src);
        }
        Instr::I64TruncSatF64U { dst, src, .. } => {
            check(dst);
            check(src);
        }
    }
}

/// The trap of an interpreter store meeting compiled code (impossible: a
/// store's functions all come from its engine).
fn compiled_in_interpreter() -> TrapKind {
    TrapKind::Host("compiled code called from the interpreter".into())
}
