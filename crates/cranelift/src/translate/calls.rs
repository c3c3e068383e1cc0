//! Calls: direct calls of defined functions, calls of imports and through
//! tables (by way of a `VMFuncRef`), and host calls.
//!
//! ```text
//!  call f (defined)   call rel32 f (callee vmctx = caller vmctx = own)
//!  call f (import)    funcref = &vmctx.funcs[f]          ┐
//!  call_indirect      bounds, null, signature checks,    ├► code == 0 ? HostCall
//!                     funcref = &runtime.funcrefs[cell-1]┘          : call code
//! ```
//!
//! After every call a pending trap makes the caller leave too.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{
    BlockArg, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, SigRef, StackSlotData,
    StackSlotKind, UserExternalName, Value,
};
use wasmparser::Operator;
use waven_environ::vm::{offsets, Libcall, TrapCode, VAL_SLOT_BYTES};

use super::{clif_type, wasm_signature, FuncTranslator};
use crate::layout::FUNC_NAMESPACE;
use crate::CompileError;

impl FuncTranslator<'_> {
    /// Translates a call operator; `false` if `op` is none.
    pub(super) fn translate_call(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::Call { function_index } => self.call(*function_index),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(*type_index, *table_index),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The imported signature of Wasm type `type_index`.
    fn wasm_sig(&mut self, type_index: u32) -> SigRef {
        if let Some(&sig) = self.wasm_sigs.get(&type_index) {
            return sig;
        }
        let sig = wasm_signature(&self.info.types[type_index as usize]);
        let sig = self.b.import_signature(sig);
        self.wasm_sigs.insert(type_index, sig);
        sig
    }

    /// `call function_index`.
    fn call(&mut self, function_index: u32) {
        let type_index = self.info.funcs[function_index as usize];
        let num_params = self.info.types[type_index as usize].params().len();
        let args = self.pop_n(num_params);
        let results = if function_index < self.info.num_imported_funcs {
            let funcs = self.vmctx_field(offsets::VMCTX_FUNCS);
            let funcref = self.b.ins().iadd_imm_s(
                funcs,
                i64::from(function_index) * i64::from(offsets::FUNCREF_SIZE),
            );
            let readonly = self.readonly_flags();
            self.call_funcref(funcref, readonly, type_index, &args)
        } else {
            let defined = function_index - self.info.num_imported_funcs;
            let callee = match self.callees.get(&defined) {
                Some(&callee) => callee,
                None => {
                    let signature = self.wasm_sig(type_index);
                    let name = self
                        .b
                        .func
                        .declare_imported_user_function(UserExternalName::new(
                            FUNC_NAMESPACE,
                            defined,
                        ));
                    let callee = self.b.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature,
                        colocated: true,
                        patchable: false,
                    });
                    self.callees.insert(defined, callee);
                    callee
                }
            };
            let mut full = vec![self.vmctx, self.vmctx];
            full.extend_from_slice(&args);
            let inst = self.b.ins().call(callee, &full);
            self.b.inst_results(inst).to_vec()
        };
        self.check_trap();
        self.stack.extend(results);
    }

    /// `call_indirect type_index table_index`.
    fn call_indirect(&mut self, type_index: u32, table_index: u32) {
        let index = self.pop();
        let num_params = self.info.types[type_index as usize].params().len();
        let args = self.pop_n(num_params);
        let flags = self.vm_flags();
        let readonly = self.readonly_flags();

        let table = self.table_desc(table_index);
        let len = self.b.ins().load(I64, flags, table, offsets::TABLE_LEN);
        let index = self.b.ins().uextend(I64, index);
        let beyond = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(beyond, TrapCode::UndefinedElement);
        let base = self.b.ins().load(I64, flags, table, offsets::TABLE_BASE);
        let offset = self.b.ins().ishl_imm_s(index, 3);
        let elem = self.b.ins().iadd(base, offset);
        let cell = self.b.ins().load(I64, flags, elem, 0);
        let null = self.b.ins().icmp_imm_s(IntCC::Equal, cell, 0);
        self.trap_if(null, TrapCode::UninitializedElement);

        let funcrefs = self
            .b
            .ins()
            .load(I64, flags, self.runtime, offsets::RUNTIME_FUNCREFS);
        let store_index = self.b.ins().iadd_imm_s(cell, -1);
        let offset = self
            .b
            .ins()
            .imul_imm_s(store_index, i64::from(offsets::FUNCREF_SIZE));
        let funcref = self.b.ins().iadd(funcrefs, offset);
        let sig = self.b.ins().load(I32, flags, funcref, offsets::FUNCREF_SIG);
        let sig_ids = self.vmctx_field(offsets::VMCTX_SIG_IDS);
        let expected = self.load_indexed(I32, readonly, sig_ids, type_index, 4);
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, sig, expected);
        self.trap_if(mismatch, TrapCode::IndirectCallTypeMismatch);

        let results = self.call_funcref(funcref, flags, type_index, &args);
        self.check_trap();
        self.stack.extend(results);
    }

    /// Calls the function of the `VMFuncRef` at `funcref` (loaded with
    /// `flags`), of type `type_index`: compiled code directly, a host
    /// function through `HostCall`. The caller tests for a trap.
    fn call_funcref(
        &mut self,
        funcref: Value,
        flags: MemFlagsData,
        type_index: u32,
        args: &[Value],
    ) -> Vec<Value> {
        let ty = self.info.types[type_index as usize].clone();
        let code = self
            .b
            .ins()
            .load(I64, flags, funcref, offsets::FUNCREF_CODE);
        let wasm_block = self.b.create_block();
        let host_block = self.b.create_block();
        let done = self.b.create_block();
        let results: Vec<Value> = ty
            .results()
            .iter()
            .map(|&t| self.b.append_block_param(done, clif_type(t)))
            .collect();
        self.b.ins().brif(code, wasm_block, &[], host_block, &[]);

        self.b.switch_to_block(wasm_block);
        self.b.seal_block(wasm_block);
        let sig = self.wasm_sig(type_index);
        let callee_vmctx = self
            .b
            .ins()
            .load(I64, flags, funcref, offsets::FUNCREF_VMCTX);
        let mut full = vec![callee_vmctx, self.vmctx];
        full.extend_from_slice(args);
        let inst = self.b.ins().call_indirect(sig, code, &full);
        let values: Vec<BlockArg> = self
            .b
            .inst_results(inst)
            .iter()
            .map(|&v| BlockArg::Value(v))
            .collect();
        self.b.ins().jump(done, &values);

        self.b.switch_to_block(host_block);
        self.b.seal_block(host_block);
        let store_index = self
            .b
            .ins()
            .load(I32, flags, funcref, offsets::FUNCREF_STORE_INDEX);
        let slots = ty.params().len().max(ty.results().len()) as u32;
        let values = self.host_values(slots);
        let slot_flags = MemFlagsData::trusted();
        for (i, &arg) in args.iter().enumerate() {
            let offset = (i as u32 * VAL_SLOT_BYTES) as i32;
            self.b.ins().store(slot_flags, arg, values, offset);
        }
        self.libcall(Libcall::HostCall, &[store_index, values]);
        let loaded: Vec<BlockArg> = ty
            .results()
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let offset = (i as u32 * VAL_SLOT_BYTES) as i32;
                BlockArg::Value(self.b.ins().load(clif_type(t), slot_flags, values, offset))
            })
            .collect();
        self.b.ins().jump(done, &loaded);

        self.b.switch_to_block(done);
        self.b.seal_block(done);
        results
    }

    /// The address of the function's host-call value array, with room for
    /// at least `slots` values (one stack slot, grown as needed).
    fn host_values(&mut self, slots: u32) -> Value {
        let bytes = slots.max(1) * VAL_SLOT_BYTES;
        let slot = match self.host_slot {
            Some((slot, size)) => {
                self.host_slot = Some((slot, size.max(bytes)));
                slot
            }
            None => {
                let slot = self.b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    bytes,
                    4,
                ));
                self.host_slot = Some((slot, bytes));
                slot
            }
        };
        self.b.ins().stack_addr(I64, slot, 0)
    }
}
