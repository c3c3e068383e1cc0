//! Entry trampolines: how the runtime calls compiled Wasm functions.
//!
//! One per type index, with the platform's C calling convention and the
//! signature of [`waven_environ::vm::EntryTrampoline`]: it loads the
//! arguments from the 16-byte value slots, calls `code` with the two
//! contexts, and stores the results back to the slots (traps travel in
//! `VMRuntime::trap`, so the trampoline always returns normally).

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, UserFuncName,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use waven_environ::module::ModuleInfo;
use waven_environ::vm::VAL_SLOT_BYTES;

use crate::layout::CompiledPiece;
use crate::translate::{clif_type, finish_compilation, wasm_signature, Scratch};
use crate::CompileError;

/// The namespace of trampoline names (the index is the type index).
const TRAMPOLINE_NAMESPACE: u32 = 1;

/// Compiles the entry trampoline of type `type_index`.
pub(crate) fn compile_trampoline(
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    type_index: u32,
    scratch: &mut Scratch,
) -> Result<CompiledPiece, CompileError> {
    let ty = &info.types[type_index as usize];
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.extend([AbiParam::new(I64); 4]);
    scratch.ctx.clear();
    scratch.ctx.func =
        Function::with_name_signature(UserFuncName::user(TRAMPOLINE_NAMESPACE, type_index), sig);
    let mut b = FunctionBuilder::new(&mut scratch.ctx.func, &mut scratch.builder);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let &[code, callee_vmctx, caller_vmctx, values] = b.block_params(entry) else {
        unreachable!("four parameters")
    };
    let flags = MemFlagsData::trusted();
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, &param) in ty.params().iter().enumerate() {
        let offset = (i as u32 * VAL_SLOT_BYTES) as i32;
        args.push(b.ins().load(clif_type(param), flags, values, offset));
    }
    let callee_sig = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(callee_sig, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, result) in results.into_iter().enumerate() {
        let offset = (i as u32 * VAL_SLOT_BYTES) as i32;
        b.ins().store(flags, result, values, offset);
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    finish_compilation(isa, scratch, &format!("trampoline of type {type_index}"))
}
