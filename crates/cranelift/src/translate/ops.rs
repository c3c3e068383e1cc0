//! Numeric, parametric, variable, reference and table operators.
//!
//! Nothing here may fault: division is guarded by explicit tests, and
//! trapping float-to-integer truncation tests NaN and the exact range
//! ([`crate::trunc`]) before a saturating conversion.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F64, I16, I32, I64, I8};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value};
use wasmparser::Operator;
use waven_environ::vm::{offsets, Libcall, TrapCode};

use super::FuncTranslator;
use crate::trunc::trunc_bounds;
use crate::CompileError;

/// A signed or unsigned division or remainder.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

impl FuncTranslator<'_> {
    /// Translates every operator not handled by control, memory or calls.
    pub(super) fn translate_plain(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        match op {
            // ---- parametric ----
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop();
                let (a, b) = self.pop2();
                let v = self.b.ins().select(cond, a, b);
                self.push(v);
            }
            // ---- variables ----
            O::LocalGet { local_index } => {
                let v = self.b.use_var(self.locals[*local_index as usize]);
                self.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.pop();
                self.b.def_var(self.locals[*local_index as usize], v);
            }
            O::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated: local.tee operand");
                self.b.def_var(self.locals[*local_index as usize], v);
            }
            O::GlobalGet { global_index } => {
                let (addr, ty, flags) = self.global(*global_index);
                let v = self.b.ins().load(ty, flags, addr, 0);
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                let (addr, _, flags) = self.global(*global_index);
                let v = self.pop();
                self.b.ins().store(flags, v, addr, 0);
            }
            // ---- constants ----
            O::I32Const { value } => {
                let v = self.b.ins().iconst(I32, i64::from(*value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(I64, *value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self.b.ins().f32const(f32::from_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self.b.ins().f64const(f64::from_bits(value.bits()));
                self.push(v);
            }
            // ---- references ----
            O::RefNull { .. } => {
                let v = self.b.ins().iconst(I64, 0);
                self.push(v);
            }
            O::RefIsNull => {
                let r = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::RefFunc { function_index } => {
                let v = self.func_cell(*function_index);
                self.push(v);
            }
            // ---- tables ----
            O::TableGet { table } => {
                let index = self.pop();
                let addr = self.table_elem(*table, index);
                let flags = self.vm_flags();
                let v = self.b.ins().load(I64, flags, addr, 0);
                self.push(v);
            }
            O::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                let addr = self.table_elem(*table, index);
                let flags = self.vm_flags();
                self.b.ins().store(flags, value, addr, 0);
            }
            O::TableSize { table } => {
                let desc = self.table_desc(*table);
                let flags = self.vm_flags();
                let len = self.b.ins().load(I64, flags, desc, offsets::TABLE_LEN);
                let v = self.b.ins().ireduce(I32, len);
                self.push(v);
            }
            O::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let t = self.i32_const(*table);
                let v = self.libcall(Libcall::TableGrow, &[t, delta, init]);
                self.push(v.expect("table.grow returns the old size"));
            }
            O::TableFill { table } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                let t = self.i32_const(*table);
                self.libcall(Libcall::TableFill, &[t, dst, value, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let d = self.i32_const(*dst_table);
                let s = self.i32_const(*src_table);
                self.libcall(Libcall::TableCopy, &[d, s, dst, src, len]);
            }
            O::TableInit { elem_index, table } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                let t = self.i32_const(*table);
                let e = self.i32_const(*elem_index);
                self.libcall(Libcall::TableInit, &[t, e, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let e = self.i32_const(*elem_index);
                self.libcall(Libcall::ElemDrop, &[e]);
            }
            _ => self.translate_numeric(op)?,
        }
        Ok(())
    }

    /// Pops two operands, returning them in stack order.
    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    /// The cell address, value type and flags of global `index`.
    fn global(&mut self, index: u32) -> (Value, Type, MemFlagsData) {
        let decl = self.info.globals[index as usize];
        let globals = self.vmctx_field(offsets::VMCTX_GLOBALS);
        let readonly = self.readonly_flags();
        let addr = self.load_indexed(I64, readonly, globals, index, 8);
        let flags = if decl.mutable {
            self.vm_flags()
        } else {
            readonly
        };
        (addr, super::clif_type(decl.ty), flags)
    }

    /// The funcref cell of function `index`: its store index plus one.
    pub(super) fn func_cell(&mut self, index: u32) -> Value {
        let funcs = self.vmctx_field(offsets::VMCTX_FUNCS);
        let readonly = self.readonly_flags();
        let addr = if index == 0 {
            funcs
        } else {
            self.b
                .ins()
                .iadd_imm_s(funcs, i64::from(index) * i64::from(offsets::FUNCREF_SIZE))
        };
        let store_index = self
            .b
            .ins()
            .load(I32, readonly, addr, offsets::FUNCREF_STORE_INDEX);
        let wide = self.b.ins().uextend(I64, store_index);
        self.b.ins().iadd_imm_s(wide, 1)
    }

    /// The `VMTable` of table `index`.
    pub(super) fn table_desc(&mut self, index: u32) -> Value {
        let tables = self.vmctx_field(offsets::VMCTX_TABLES);
        let readonly = self.readonly_flags();
        self.load_indexed(I64, readonly, tables, index, 8)
    }

    /// The address of element `index` (`i32`) of table `table`, trapping
    /// with `TableOutOfBounds` beyond its length.
    fn table_elem(&mut self, table: u32, index: Value) -> Value {
        let desc = self.table_desc(table);
        let flags = self.vm_flags();
        let len = self.b.ins().load(I64, flags, desc, offsets::TABLE_LEN);
        let index = self.b.ins().uextend(I64, index);
        let oob = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(oob, TrapCode::TableOutOfBounds);
        let base = self.b.ins().load(I64, flags, desc, offsets::TABLE_BASE);
        let offset = self.b.ins().ishl_imm_s(index, 3);
        self.b.ins().iadd(base, offset)
    }

    /// Numeric operators.
    fn translate_numeric(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        use Operator as O;
        macro_rules! unop {
            ($method:ident) => {{
                let a = self.pop();
                let v = self.b.ins().$method(a);
                self.push(v);
            }};
        }
        macro_rules! binop {
            ($method:ident) => {{
                let (a, b) = self.pop2();
                let v = self.b.ins().$method(a, b);
                self.push(v);
            }};
        }
        macro_rules! icmp {
            ($cc:expr) => {{
                let (a, b) = self.pop2();
                let c = self.b.ins().icmp($cc, a, b);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }};
        }
        macro_rules! fcmp {
            ($cc:expr) => {{
                let (a, b) = self.pop2();
                let c = self.b.ins().fcmp($cc, a, b);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }};
        }
        macro_rules! convert {
            ($method:ident, $ty:expr) => {{
                let a = self.pop();
                let v = self.b.ins().$method($ty, a);
                self.push(v);
            }};
        }
        match op {
            O::I32Eqz | O::I64Eqz => {
                let a = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, a, 0);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::I32Eq | O::I64Eq => icmp!(IntCC::Equal),
            O::I32Ne | O::I64Ne => icmp!(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => icmp!(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => icmp!(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => icmp!(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => icmp!(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => icmp!(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => icmp!(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => icmp!(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => icmp!(IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => fcmp!(FloatCC::Equal),
            O::F32Ne | O::F64Ne => fcmp!(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => fcmp!(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => fcmp!(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => fcmp!(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => fcmp!(FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => unop!(clz),
            O::I32Ctz | O::I64Ctz => unop!(ctz),
            O::I32Popcnt | O::I64Popcnt => unop!(popcnt),
            O::I32Add | O::I64Add => binop!(iadd),
            O::I32Sub | O::I64Sub => binop!(isub),
            O::I32Mul | O::I64Mul => binop!(imul),
            O::I32DivS | O::I64DivS => self.division(DivOp::DivS),
            O::I32DivU | O::I64DivU => self.division(DivOp::DivU),
            O::I32RemS | O::I64RemS => self.division(DivOp::RemS),
            O::I32RemU | O::I64RemU => self.division(DivOp::RemU),
            O::I32And | O::I64And => binop!(band),
            O::I32Or | O::I64Or => binop!(bor),
            O::I32Xor | O::I64Xor => binop!(bxor),
            // Cranelift masks shift and rotate amounts as Wasm does.
            O::I32Shl | O::I64Shl => binop!(ishl),
            O::I32ShrS | O::I64ShrS => binop!(sshr),
            O::I32ShrU | O::I64ShrU => binop!(ushr),
            O::I32Rotl | O::I64Rotl => binop!(rotl),
            O::I32Rotr | O::I64Rotr => binop!(rotr),

            O::F32Abs | O::F64Abs => unop!(fabs),
            O::F32Neg | O::F64Neg => unop!(fneg),
            O::F32Ceil | O::F64Ceil => unop!(ceil),
            O::F32Floor | O::F64Floor => unop!(floor),
            O::F32Trunc | O::F64Trunc => unop!(trunc),
            O::F32Nearest | O::F64Nearest => unop!(nearest),
            O::F32Sqrt | O::F64Sqrt => unop!(sqrt),
            O::F32Add | O::F64Add => binop!(fadd),
            O::F32Sub | O::F64Sub => binop!(fsub),
            O::F32Mul | O::F64Mul => binop!(fmul),
            O::F32Div | O::F64Div => binop!(fdiv),
            // Cranelift's fmin/fmax propagate NaN and order -0 < +0, as Wasm.
            O::F32Min | O::F64Min => binop!(fmin),
            O::F32Max | O::F64Max => binop!(fmax),
            O::F32Copysign | O::F64Copysign => binop!(fcopysign),

            O::I32WrapI64 => convert!(ireduce, I32),
            O::I64ExtendI32S => convert!(sextend, I64),
            O::I64ExtendI32U => convert!(uextend, I64),
            O::I32TruncF32S | O::I32TruncF64S => self.trunc(I32, true),
            O::I32TruncF32U | O::I32TruncF64U => self.trunc(I32, false),
            O::I64TruncF32S | O::I64TruncF64S => self.trunc(I64, true),
            O::I64TruncF32U | O::I64TruncF64U => self.trunc(I64, false),
            O::I32TruncSatF32S | O::I32TruncSatF64S => convert!(fcvt_to_sint_sat, I32),
            O::I32TruncSatF32U | O::I32TruncSatF64U => convert!(fcvt_to_uint_sat, I32),
            O::I64TruncSatF32S | O::I64TruncSatF64S => convert!(fcvt_to_sint_sat, I64),
            O::I64TruncSatF32U | O::I64TruncSatF64U => convert!(fcvt_to_uint_sat, I64),
            O::F32ConvertI32S | O::F32ConvertI64S => convert!(fcvt_from_sint, F32),
            O::F32ConvertI32U | O::F32ConvertI64U => convert!(fcvt_from_uint, F32),
            O::F64ConvertI32S | O::F64ConvertI64S => convert!(fcvt_from_sint, F64),
            O::F64ConvertI32U | O::F64ConvertI64U => convert!(fcvt_from_uint, F64),
            O::F32DemoteF64 => convert!(fdemote, F32),
            O::F64PromoteF32 => convert!(fpromote, F64),
            O::I32ReinterpretF32 => self.reinterpret(I32),
            O::I64ReinterpretF64 => self.reinterpret(I64),
            O::F32ReinterpretI32 => self.reinterpret(F32),
            O::F64ReinterpretI64 => self.reinterpret(F64),
            O::I32Extend8S => self.sign_extend(I32, I8),
            O::I32Extend16S => self.sign_extend(I32, I16),
            O::I64Extend8S => self.sign_extend(I64, I8),
            O::I64Extend16S => self.sign_extend(I64, I16),
            O::I64Extend32S => self.sign_extend(I64, I32),
            other => return Err(self.unsupported(format!("operator {other:?}"))),
        }
        Ok(())
    }

    /// A bit-preserving type change.
    fn reinterpret(&mut self, to: Type) {
        let a = self.pop();
        let v = self.b.ins().bitcast(to, MemFlagsData::new(), a);
        self.push(v);
    }

    /// Sign-extends the low `from` bits of the top value of type `ty`.
    fn sign_extend(&mut self, ty: Type, from: Type) {
        let a = self.pop();
        let narrow = self.b.ins().ireduce(from, a);
        let v = self.b.ins().sextend(ty, narrow);
        self.push(v);
    }

    /// Integer division and remainder with explicit trap tests: the
    /// machine instruction runs only with a non-zero divisor and never on
    /// `MIN / -1`.
    fn division(&mut self, op: DivOp) {
        let (a, b) = self.pop2();
        let ty = self.b.func.dfg.value_type(a);
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        self.trap_if(zero, TrapCode::IntegerDivideByZero);
        let v = match op {
            DivOp::DivU => self.b.ins().udiv(a, b),
            DivOp::RemU => self.b.ins().urem(a, b),
            DivOp::DivS => {
                let min = if ty == I32 {
                    i64::from(i32::MIN)
                } else {
                    i64::MIN
                };
                let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, min);
                let overflow = self.b.ins().band(minus_one, is_min);
                self.trap_if(overflow, TrapCode::IntegerOverflow);
                self.b.ins().sdiv(a, b)
            }
            DivOp::RemS => {
                // x rem -1 is 0; dividing by 1 instead gives 0 without the
                // MIN / -1 fault.
                let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                let one = self.b.ins().iconst(ty, 1);
                let divisor = self.b.ins().select(minus_one, one, b);
                self.b.ins().srem(a, divisor)
            }
        };
        self.push(v);
    }

    /// Trapping float-to-integer truncation: NaN traps with
    /// `InvalidConversionToInteger`, values outside the exact bounds with
    /// `IntegerOverflow`, the rest converts saturating (hence exactly).
    fn trunc(&mut self, to: Type, signed: bool) {
        let x = self.pop();
        let from = self.b.func.dfg.value_type(x);
        let bounds = trunc_bounds(to.bits(), signed, from.bits());
        let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        self.trap_if(nan, TrapCode::InvalidConversionToInteger);
        let (lo, hi) = if from == F32 {
            (
                self.b.ins().f32const(bounds.lo as f32),
                self.b.ins().f32const(bounds.hi as f32),
            )
        } else {
            (
                self.b.ins().f64const(bounds.lo),
                self.b.ins().f64const(bounds.hi),
            )
        };
        let below = self.b.ins().fcmp(FloatCC::LessThanOrEqual, x, lo);
        let above = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, hi);
        let out = self.b.ins().bor(below, above);
        self.trap_if(out, TrapCode::IntegerOverflow);
        let v = if signed {
            self.b.ins().fcvt_to_sint_sat(to, x)
        } else {
            self.b.ins().fcvt_to_uint_sat(to, x)
        };
        self.push(v);
    }
}
