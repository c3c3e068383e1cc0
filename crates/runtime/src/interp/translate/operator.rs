//! The translation of each operator.

use wasmparser::{MemArg, Operator};

use super::{ControlKind, Operand, Patch, Translator};
use crate::error::Error;
use crate::interp::ir::{Instr, Slot};

type Unary = fn(Slot, Slot) -> Instr;
type Binary = fn(Slot, Slot, Slot) -> Instr;
type Load = fn(Slot, Slot, u32) -> Instr;
type Store = fn(Slot, Slot, u32) -> Instr;

impl Translator<'_> {
    fn unary(&mut self, make: Unary) {
        let src = self.pop();
        let dst = self.push_temp();
        self.emit(make(dst, src));
    }

    fn binary(&mut self, make: Binary) {
        let b = self.pop();
        let a = self.pop();
        let dst = self.push_temp();
        self.emit(make(dst, a, b));
    }

    fn load(&mut self, memarg: MemArg, make: Load) -> Result<(), Error> {
        let offset = offset32(memarg)?;
        let addr = self.pop();
        let dst = self.push_temp();
        self.emit(make(dst, addr, offset));
        Ok(())
    }

    fn store(&mut self, memarg: MemArg, make: Store) -> Result<(), Error> {
        let offset = offset32(memarg)?;
        let value = self.pop();
        let addr = self.pop();
        self.emit(make(addr, value, offset));
        Ok(())
    }

    fn constant(&mut self, cell: u64) {
        let slot = self.const_slots[&cell];
        self.push(Operand::Const(slot));
    }

    fn call(&mut self, params: usize, results: usize, make: impl FnOnce(Slot) -> Instr) {
        self.materialize_top(params);
        let height = self.stack.len() - params;
        let base = self.temp(height);
        self.emit(make(base));
        self.stack.truncate(height);
        for _ in 0..results {
            self.push(Operand::Temp);
        }
    }

    /// Translates one operator.
    pub(super) fn operator(&mut self, op: Operator<'_>) -> Result<(), Error> {
        if !self.reachable {
            // Unreachable code only needs its block structure followed.
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.push_control(ControlKind::Block, wasmparser::BlockType::Empty)
                }
                Operator::Else => self.op_else(),
                Operator::End => self.op_end(),
                _ => {}
            }
            return Ok(());
        }
        use Operator as O;
        match op {
            O::Unreachable => {
                self.emit(Instr::Unreachable);
                self.mark_unreachable();
            }
            O::Nop => {}
            O::Block { blockty } => self.push_control(ControlKind::Block, blockty),
            O::Loop { blockty } => self.push_control(ControlKind::Loop, blockty),
            O::If { blockty } => {
                let was_temp = self.stack.last() == Some(&Operand::Temp);
                let cond = self.pop();
                // A fused comparison must stay right after its producer, so
                // the block is entered (which may emit moves) only after a
                // plain branch; with moves, no fusion.
                let before = self.code.len();
                self.push_control(ControlKind::If, blockty);
                let fusable = was_temp && self.code.len() == before;
                let at = self.emit_branch_if(cond, fusable, false, u32::MAX);
                self.controls.last_mut().expect("pushed").else_patch = Some(at);
            }
            O::Else => self.op_else(),
            O::End => self.op_end(),
            O::Br { relative_depth } => {
                self.jump_to(relative_depth);
                self.mark_unreachable();
            }
            O::BrIf { relative_depth } => {
                let was_temp = self.stack.last() == Some(&Operand::Temp);
                let cond = self.pop();
                let index = self.controls.len() - 1 - relative_depth as usize;
                let is_function = self.controls[index].kind == ControlKind::Function;
                if self.branch_needs_moves(relative_depth) || is_function {
                    let skip = self.code.len();
                    self.emit(Instr::BrIfEqz { cond, to: u32::MAX });
                    self.jump_to(relative_depth);
                    let to = self.pc();
                    self.patch(Patch::Instr(skip), to);
                    self.bind_label();
                } else {
                    let control = &self.controls[index];
                    if control.kind == ControlKind::Loop {
                        let to = control.start;
                        self.emit_branch_if(cond, was_temp, true, to);
                    } else {
                        let at = self.emit_branch_if(cond, was_temp, true, u32::MAX);
                        self.controls[index].patches.push(Patch::Instr(at));
                    }
                }
            }
            O::BrTable { targets } => {
                let index = self.pop();
                let depths = targets
                    .targets()
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(super::invalid)?;
                self.op_br_table(index, &depths, targets.default());
                self.mark_unreachable();
            }
            O::Return => {
                self.emit_return();
                self.mark_unreachable();
            }
            O::Call { function_index } => {
                let ty = self.info.func_type(function_index);
                let (params, results) = (ty.params().len(), ty.results().len());
                self.call(params, results, |base| Instr::Call {
                    func: function_index,
                    base,
                });
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let index = self.pop();
                let ty = &self.info.types[type_index as usize];
                let (params, results) = (ty.params().len(), ty.results().len());
                self.call(params, results, |base| Instr::CallIndirect {
                    ty: type_index,
                    table: table_index,
                    index,
                    base,
                });
            }
            O::Drop => {
                self.stack.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop();
                let b = self.pop();
                let a = self.pop();
                let dst = self.push_temp();
                self.emit(Instr::Select { dst, cond, a, b });
            }
            O::LocalGet { local_index } => self.push(Operand::Local(local_index)),
            O::LocalSet { local_index } => {
                let height = self.stack.len() - 1;
                let value = self.stack[height];
                let src = self.pop();
                let before = self.code.len();
                self.materialize_local(local_index);
                let moved = self.code.len() != before;
                let retargeted =
                    !moved && value == Operand::Temp && self.retarget(src, local_index);
                if !retargeted && src != local_index {
                    self.emit(Instr::Copy {
                        dst: local_index,
                        src,
                    });
                }
            }
            O::LocalTee { local_index } => {
                let height = self.stack.len() - 1;
                let value = self.stack[height];
                let src = self.slot_at(height);
                // The operand itself must not be moved away: take it off
                // while the aliases of the local are materialized.
                self.stack.pop();
                let before = self.code.len();
                self.materialize_local(local_index);
                let moved = self.code.len() != before;
                if !moved && value == Operand::Temp && self.retarget(src, local_index) {
                    self.push(Operand::Local(local_index));
                } else {
                    if src != local_index {
                        self.emit(Instr::Copy {
                            dst: local_index,
                            src,
                        });
                    }
                    self.push(value);
                }
            }
            O::GlobalGet { global_index } => {
                let dst = self.push_temp();
                self.emit(Instr::GlobalGet {
                    dst,
                    global: global_index,
                });
            }
            O::GlobalSet { global_index } => {
                let src = self.pop();
                self.emit(Instr::GlobalSet {
                    src,
                    global: global_index,
                });
            }

            O::I32Load { memarg } => self.load(memarg, |dst, addr, offset| Instr::I32Load {
                dst,
                addr,
                offset,
            })?,
            O::I64Load { memarg } => self.load(memarg, |dst, addr, offset| Instr::I64Load {
                dst,
                addr,
                offset,
            })?,
            O::F32Load { memarg } => self.load(memarg, |dst, addr, offset| Instr::F32Load {
                dst,
                addr,
                offset,
            })?,
            O::F64Load { memarg } => self.load(memarg, |dst, addr, offset| Instr::F64Load {
                dst,
                addr,
                offset,
            })?,
            O::I32Load8S { memarg } => self.load(memarg, |dst, addr, offset| Instr::I32Load8S {
                dst,
                addr,
                offset,
            })?,
            O::I32Load8U { memarg } => self.load(memarg, |dst, addr, offset| Instr::I32Load8U {
                dst,
                addr,
                offset,
            })?,
            O::I32Load16S { memarg } => self.load(memarg, |dst, addr, offset| {
                Instr::I32Load16S { dst, addr, offset }
            })?,
            O::I32Load16U { memarg } => self.load(memarg, |dst, addr, offset| {
                Instr::I32Load16U { dst, addr, offset }
            })?,
            O::I64Load8S { memarg } => self.load(memarg, |dst, addr, offset| Instr::I64Load8S {
                dst,
                addr,
                offset,
            })?,
            O::I64Load8U { memarg } => self.load(memarg, |dst, addr, offset| Instr::I64Load8U {
                dst,
                addr,
                offset,
            })?,
            O::I64Load16S { memarg } => self.load(memarg, |dst, addr, offset| {
                Instr::I64Load16S { dst, addr, offset }
            })?,
            O::I64Load16U { memarg } => self.load(memarg, |dst, addr, offset| {
                Instr::I64Load16U { dst, addr, offset }
            })?,
            O::I64Load32S { memarg } => self.load(memarg, |dst, addr, offset| {
                Instr::I64Load32S { dst, addr, offset }
            })?,
            O::I64Load32U { memarg } => self.load(memarg, |dst, addr, offset| {
                Instr::I64Load32U { dst, addr, offset }
            })?,
            O::I32Store { memarg } | O::F32Store { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I32Store {
                    addr,
                    value,
                    offset,
                })?
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I64Store {
                    addr,
                    value,
                    offset,
                })?
            }
            O::I32Store8 { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I32Store8 {
                    addr,
                    value,
                    offset,
                })?
            }
            O::I32Store16 { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I32Store16 {
                    addr,
                    value,
                    offset,
                })?
            }
            O::I64Store8 { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I64Store8 {
                    addr,
                    value,
                    offset,
                })?
            }
            O::I64Store16 { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I64Store16 {
                    addr,
                    value,
                    offset,
                })?
            }
            O::I64Store32 { memarg } => {
                self.store(memarg, |addr, value, offset| Instr::I64Store32 {
                    addr,
                    value,
                    offset,
                })?
            }
            O::MemorySize { .. } => {
                let dst = self.push_temp();
                self.emit(Instr::MemorySize { dst });
            }
            O::MemoryGrow { .. } => self.unary(|dst, delta| Instr::MemoryGrow { dst, delta }),
            O::MemoryFill { .. } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                self.emit(Instr::MemoryFill { dst, value, len });
            }
            O::MemoryCopy { .. } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.emit(Instr::MemoryCopy { dst, src, len });
            }
            O::MemoryInit { data_index, .. } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.emit(Instr::MemoryInit {
                    data: data_index,
                    dst,
                    src,
                    len,
                });
            }
            O::DataDrop { data_index } => self.emit(Instr::DataDrop { data: data_index }),
            O::MemoryDiscard { .. } => {
                let len = self.pop();
                let addr = self.pop();
                self.emit(Instr::MemoryDiscard { addr, len });
            }

            O::TableGet { table } => {
                let index = self.pop();
                let dst = self.push_temp();
                self.emit(Instr::TableGet { dst, table, index });
            }
            O::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                self.emit(Instr::TableSet {
                    table,
                    index,
                    value,
                });
            }
            O::TableSize { table } => {
                let dst = self.push_temp();
                self.emit(Instr::TableSize { dst, table });
            }
            O::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let dst = self.push_temp();
                self.emit(Instr::TableGrow {
                    dst,
                    table,
                    init,
                    delta,
                });
            }
            O::TableFill { table } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                self.emit(Instr::TableFill {
                    table,
                    dst,
                    value,
                    len,
                });
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let pair = self.pairs.len() as u32;
                self.pairs.push((dst_table, src_table));
                self.emit(Instr::TableCopy {
                    pair,
                    dst,
                    src,
                    len,
                });
            }
            O::TableInit { elem_index, table } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let pair = self.pairs.len() as u32;
                self.pairs.push((table, elem_index));
                self.emit(Instr::TableInit {
                    pair,
                    dst,
                    src,
                    len,
                });
            }
            O::ElemDrop { elem_index } => self.emit(Instr::ElemDrop { elem: elem_index }),
            O::RefNull { .. } => self.constant(0),
            O::RefIsNull => self.unary(|dst, src| Instr::RefIsNull { dst, src }),
            O::RefFunc { function_index } => {
                let dst = self.push_temp();
                self.emit(Instr::RefFunc {
                    dst,
                    func: function_index,
                });
            }

            O::I32Const { value } => self.constant(value as u32 as u64),
            O::I64Const { value } => self.constant(value as u64),
            O::F32Const { value } => self.constant(value.bits() as u64),
            O::F64Const { value } => self.constant(value.bits()),

            O::I32Eqz => self.unary(|dst, src| Instr::I32Eqz { dst, src }),
            O::I32Eq => self.binary(|dst, a, b| Instr::I32Eq { dst, a, b }),
            O::I32Ne => self.binary(|dst, a, b| Instr::I32Ne { dst, a, b }),
            O::I32LtS => self.binary(|dst, a, b| Instr::I32LtS { dst, a, b }),
            O::I32LtU => self.binary(|dst, a, b| Instr::I32LtU { dst, a, b }),
            O::I32GtS => self.binary(|dst, a, b| Instr::I32GtS { dst, a, b }),
            O::I32GtU => self.binary(|dst, a, b| Instr::I32GtU { dst, a, b }),
            O::I32LeS => self.binary(|dst, a, b| Instr::I32LeS { dst, a, b }),
            O::I32LeU => self.binary(|dst, a, b| Instr::I32LeU { dst, a, b }),
            O::I32GeS => self.binary(|dst, a, b| Instr::I32GeS { dst, a, b }),
            O::I32GeU => self.binary(|dst, a, b| Instr::I32GeU { dst, a, b }),
            O::I32Clz => self.unary(|dst, src| Instr::I32Clz { dst, src }),
            O::I32Ctz => self.unary(|dst, src| Instr::I32Ctz { dst, src }),
            O::I32Popcnt => self.unary(|dst, src| Instr::I32Popcnt { dst, src }),
            O::I32Add => self.binary(|dst, a, b| Instr::I32Add { dst, a, b }),
            O::I32Sub => self.binary(|dst, a, b| Instr::I32Sub { dst, a, b }),
            O::I32Mul => self.binary(|dst, a, b| Instr::I32Mul { dst, a, b }),
            O::I32DivS => self.binary(|dst, a, b| Instr::I32DivS { dst, a, b }),
            O::I32DivU => self.binary(|dst, a, b| Instr::I32DivU { dst, a, b }),
            O::I32RemS => self.binary(|dst, a, b| Instr::I32RemS { dst, a, b }),
            O::I32RemU => self.binary(|dst, a, b| Instr::I32RemU { dst, a, b }),
            O::I32And => self.binary(|dst, a, b| Instr::I32And { dst, a, b }),
            O::I32Or => self.binary(|dst, a, b| Instr::I32Or { dst, a, b }),
            O::I32Xor => self.binary(|dst, a, b| Instr::I32Xor { dst, a, b }),
            O::I32Shl => self.binary(|dst, a, b| Instr::I32Shl { dst, a, b }),
            O::I32ShrS => self.binary(|dst, a, b| Instr::I32ShrS { dst, a, b }),
            O::I32ShrU => self.binary(|dst, a, b| Instr::I32ShrU { dst, a, b }),
            O::I32Rotl => self.binary(|dst, a, b| Instr::I32Rotl { dst, a, b }),
            O::I32Rotr => self.binary(|dst, a, b| Instr::I32Rotr { dst, a, b }),

            O::I64Eqz => self.unary(|dst, src| Instr::I64Eqz { dst, src }),
            O::I64Eq => self.binary(|dst, a, b| Instr::I64Eq { dst, a, b }),
            O::I64Ne => self.binary(|dst, a, b| Instr::I64Ne { dst, a, b }),
            O::I64LtS => self.binary(|dst, a, b| Instr::I64LtS { dst, a, b }),
            O::I64LtU => self.binary(|dst, a, b| Instr::I64LtU { dst, a, b }),
            O::I64GtS => self.binary(|dst, a, b| Instr::I64GtS { dst, a, b }),
            O::I64GtU => self.binary(|dst, a, b| Instr::I64GtU { dst, a, b }),
            O::I64LeS => self.binary(|dst, a, b| Instr::I64LeS { dst, a, b }),
            O::I64LeU => self.binary(|dst, a, b| Instr::I64LeU { dst, a, b }),
            O::I64GeS => self.binary(|dst, a, b| Instr::I64GeS { dst, a, b }),
            O::I64GeU => self.binary(|dst, a, b| Instr::I64GeU { dst, a, b }),
            O::I64Clz => self.unary(|dst, src| Instr::I64Clz { dst, src }),
            O::I64Ctz => self.unary(|dst, src| Instr::I64Ctz { dst, src }),
            O::I64Popcnt => self.unary(|dst, src| Instr::I64Popcnt { dst, src }),
            O::I64Add => self.binary(|dst, a, b| Instr::I64Add { dst, a, b }),
            O::I64Sub => self.binary(|dst, a, b| Instr::I64Sub { dst, a, b }),
            O::I64Mul => self.binary(|dst, a, b| Instr::I64Mul { dst, a, b }),
            O::I64DivS => self.binary(|dst, a, b| Instr::I64DivS { dst, a, b }),
            O::I64DivU => self.binary(|dst, a, b| Instr::I64DivU { dst, a, b }),
            O::I64RemS => self.binary(|dst, a, b| Instr::I64RemS { dst, a, b }),
            O::I64RemU => self.binary(|dst, a, b| Instr::I64RemU { dst, a, b }),
            O::I64And => self.binary(|dst, a, b| Instr::I64And { dst, a, b }),
            O::I64Or => self.binary(|dst, a, b| Instr::I64Or { dst, a, b }),
            O::I64Xor => self.binary(|dst, a, b| Instr::I64Xor { dst, a, b }),
            O::I64Shl => self.binary(|dst, a, b| Instr::I64Shl { dst, a, b }),
            O::I64ShrS => self.binary(|dst, a, b| Instr::I64ShrS { dst, a, b }),
            O::I64ShrU => self.binary(|dst, a, b| Instr::I64ShrU { dst, a, b }),
            O::I64Rotl => self.binary(|dst, a, b| Instr::I64Rotl { dst, a, b }),
            O::I64Rotr => self.binary(|dst, a, b| Instr::I64Rotr { dst, a, b }),

            O::F32Eq => self.binary(|dst, a, b| Instr::F32Eq { dst, a, b }),
            O::F32Ne => self.binary(|dst, a, b| Instr::F32Ne { dst, a, b }),
            O::F32Lt => self.binary(|dst, a, b| Instr::F32Lt { dst, a, b }),
            O::F32Gt => self.binary(|dst, a, b| Instr::F32Gt { dst, a, b }),
            O::F32Le => self.binary(|dst, a, b| Instr::F32Le { dst, a, b }),
            O::F32Ge => self.binary(|dst, a, b| Instr::F32Ge { dst, a, b }),
            O::F32Abs => self.unary(|dst, src| Instr::F32Abs { dst, src }),
            O::F32Neg => self.unary(|dst, src| Instr::F32Neg { dst, src }),
            O::F32Ceil => self.unary(|dst, src| Instr::F32Ceil { dst, src }),
            O::F32Floor => self.unary(|dst, src| Instr::F32Floor { dst, src }),
            O::F32Trunc => self.unary(|dst, src| Instr::F32Trunc { dst, src }),
            O::F32Nearest => self.unary(|dst, src| Instr::F32Nearest { dst, src }),
            O::F32Sqrt => self.unary(|dst, src| Instr::F32Sqrt { dst, src }),
            O::F32Add => self.binary(|dst, a, b| Instr::F32Add { dst, a, b }),
            O::F32Sub => self.binary(|dst, a, b| Instr::F32Sub { dst, a, b }),
            O::F32Mul => self.binary(|dst, a, b| Instr::F32Mul { dst, a, b }),
            O::F32Div => self.binary(|dst, a, b| Instr::F32Div { dst, a, b }),
            O::F32Min => self.binary(|dst, a, b| Instr::F32Min { dst, a, b }),
            O::F32Max => self.binary(|dst, a, b| Instr::F32Max { dst, a, b }),
            O::F32Copysign => self.binary(|dst, a, b| Instr::F32Copysign { dst, a, b }),

            O::F64Eq => self.binary(|dst, a, b| Instr::F64Eq { dst, a, b }),
            O::F64Ne => self.binary(|dst, a, b| Instr::F64Ne { dst, a, b }),
            O::F64Lt => self.binary(|dst, a, b| Instr::F64Lt { dst, a, b }),
            O::F64Gt => self.binary(|dst, a, b| Instr::F64Gt { dst, a, b }),
            O::F64Le => self.binary(|dst, a, b| Instr::F64Le { dst, a, b }),
            O::F64Ge => self.binary(|dst, a, b| Instr::F64Ge { dst, a, b }),
            O::F64Abs => self.unary(|dst, src| Instr::F64Abs { dst, src }),
            O::F64Neg => self.unary(|dst, src| Instr::F64Neg { dst, src }),
            O::F64Ceil => self.unary(|dst, src| Instr::F64Ceil { dst, src }),
            O::F64Floor => self.unary(|dst, src| Instr::F64Floor { dst, src }),
            O::F64Trunc => self.unary(|dst, src| Instr::F64Trunc { dst, src }),
            O::F64Nearest => self.unary(|dst, src| Instr::F64Nearest { dst, src }),
            O::F64Sqrt => self.unary(|dst, src| Instr::F64Sqrt { dst, src }),
            O::F64Add => self.binary(|dst, a, b| Instr::F64Add { dst, a, b }),
            O::F64Sub => self.binary(|dst, a, b| Instr::F64Sub { dst, a, b }),
            O::F64Mul => self.binary(|dst, a, b| Instr::F64Mul { dst, a, b }),
            O::F64Div => self.binary(|dst, a, b| Instr::F64Div { dst, a, b }),
            O::F64Min => self.binary(|dst, a, b| Instr::F64Min { dst, a, b }),
            O::F64Max => self.binary(|dst, a, b| Instr::F64Max { dst, a, b }),
            O::F64Copysign => self.binary(|dst, a, b| Instr::F64Copysign { dst, a, b }),

            // Cells hold bits and i32 readers truncate: nothing to do.
            O::I32WrapI64
            | O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {}
            O::I32TruncF32S => self.unary(|dst, src| Instr::I32TruncF32S { dst, src }),
            O::I32TruncF32U => self.unary(|dst, src| Instr::I32TruncF32U { dst, src }),
            O::I32TruncF64S => self.unary(|dst, src| Instr::I32TruncF64S { dst, src }),
            O::I32TruncF64U => self.unary(|dst, src| Instr::I32TruncF64U { dst, src }),
            O::I64ExtendI32S => self.unary(|dst, src| Instr::I64ExtendI32S { dst, src }),
            O::I64ExtendI32U => self.unary(|dst, src| Instr::I64ExtendI32U { dst, src }),
            O::I64TruncF32S => self.unary(|dst, src| Instr::I64TruncF32S { dst, src }),
            O::I64TruncF32U => self.unary(|dst, src| Instr::I64TruncF32U { dst, src }),
            O::I64TruncF64S => self.unary(|dst, src| Instr::I64TruncF64S { dst, src }),
            O::I64TruncF64U => self.unary(|dst, src| Instr::I64TruncF64U { dst, src }),
            O::F32ConvertI32S => self.unary(|dst, src| Instr::F32ConvertI32S { dst, src }),
            O::F32ConvertI32U => self.unary(|dst, src| Instr::F32ConvertI32U { dst, src }),
            O::F32ConvertI64S => self.unary(|dst, src| Instr::F32ConvertI64S { dst, src }),
            O::F32ConvertI64U => self.unary(|dst, src| Instr::F32ConvertI64U { dst, src }),
            O::F32DemoteF64 => self.unary(|dst, src| Instr::F32DemoteF64 { dst, src }),
            O::F64ConvertI32S => self.unary(|dst, src| Instr::F64ConvertI32S { dst, src }),
            O::F64ConvertI32U => self.unary(|dst, src| Instr::F64ConvertI32U { dst, src }),
            O::F64ConvertI64S => self.unary(|dst, src| Instr::F64ConvertI64S { dst, src }),
            O::F64ConvertI64U => self.unary(|dst, src| Instr::F64ConvertI64U { dst, src }),
            O::F64PromoteF32 => self.unary(|dst, src| Instr::F64PromoteF32 { dst, src }),
            O::I32Extend8S => self.unary(|dst, src| Instr::I32Extend8S { dst, src }),
            O::I32Extend16S => self.unary(|dst, src| Instr::I32Extend16S { dst, src }),
            O::I64Extend8S => self.unary(|dst, src| Instr::I64Extend8S { dst, src }),
            O::I64Extend16S => self.unary(|dst, src| Instr::I64Extend16S { dst, src }),
            O::I64Extend32S => self.unary(|dst, src| Instr::I64Extend32S { dst, src }),
            O::I32TruncSatF32S => self.unary(|dst, src| Instr::I32TruncSatF32S { dst, src }),
            O::I32TruncSatF32U => self.unary(|dst, src| Instr::I32TruncSatF32U { dst, src }),
            O::I32TruncSatF64S => self.unary(|dst, src| Instr::I32TruncSatF64S { dst, src }),
            O::I32TruncSatF64U => self.unary(|dst, src| Instr::I32TruncSatF64U { dst, src }),
            O::I64TruncSatF32S => self.unary(|dst, src| Instr::I64TruncSatF32S { dst, src }),
            O::I64TruncSatF32U => self.unary(|dst, src| Instr::I64TruncSatF32U { dst, src }),
            O::I64TruncSatF64S => self.unary(|dst, src| Instr::I64TruncSatF64S { dst, src }),
            O::I64TruncSatF64U => self.unary(|dst, src| Instr::I64TruncSatF64U { dst, src }),
            other => {
                return Err(Error::Unsupported(format!(
                    "instruction {other:?} is not supported"
                )))
            }
        }
        Ok(())
    }
}

/// The offset of a memory access of a 32-bit memory.
fn offset32(memarg: MemArg) -> Result<u32, Error> {
    u32::try_from(memarg.offset)
        .map_err(|_| Error::Unsupported(format!("memory offset {:#x}", memarg.offset)))
}
