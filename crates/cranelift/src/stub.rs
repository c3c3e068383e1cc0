//! The slow-path stubs (`waven_environ::vm::SlowPathStub`): guest code
//! calls them with Cranelift's `preserve_all` convention, and they call
//! the runtime's slow-path libcall with the C convention. Every register
//! the libcall may clobber is saved and restored by the stub's own
//! prologue and epilogue (a `preserve_all` function saves whatever it
//! clobbers, the clobbers of its calls included), so the hot path of an
//! access keeps its values in registers across the possible slow path.

use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::FunctionBuilder;
use waven_environ::vm::{offsets, Libcall, SlowPathStub};

use crate::layout::CompiledPiece;
use crate::translate::{finish_compilation, Scratch};
use crate::CompileError;

/// The namespace of stub names (the index is the stub's number).
const STUB_NAMESPACE: u32 = 2;

/// The signature guest code calls `stub` with.
pub(crate) fn stub_signature(stub: SlowPathStub) -> Signature {
    let mut sig = Signature::new(CallConv::PreserveAll);
    // vmctx, memory, addr, size, and a store's value.
    sig.params.extend([I64, I32, I64, I32].map(AbiParam::new));
    if stub == SlowPathStub::Store {
        sig.params.push(AbiParam::new(I64));
    }
    sig
}

/// Compiles `stub`.
pub(crate) fn compile_stub(
    isa: &dyn TargetIsa,
    stub: SlowPathStub,
    scratch: &mut Scratch,
) -> Result<CompiledPiece, CompileError> {
    scratch.ctx.clear();
    scratch.ctx.func = Function::with_name_signature(
        UserFuncName::user(STUB_NAMESPACE, stub as u32),
        stub_signature(stub),
    );
    let mut b = FunctionBuilder::new(&mut scratch.ctx.func, &mut scratch.builder);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let &[vmctx, memory, addr, size, ..] = params.as_slice() else {
        unreachable!("four or five parameters")
    };
    let flags = MemFlagsData::trusted().with_readonly();
    let runtime = b.ins().load(I64, flags, vmctx, offsets::VMCTX_RUNTIME);
    let libcalls = b.ins().load(I64, flags, runtime, offsets::RUNTIME_LIBCALLS);
    let (libcall, returns) = match stub {
        SlowPathStub::Load => (Libcall::LoadSlow, true),
        SlowPathStub::Store => (Libcall::StoreSlow, false),
    };
    let func = b.ins().load(I64, flags, libcalls, libcall as i32 * 8);
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.extend([I64, I32, I64, I32].map(AbiParam::new));
    let mut args = vec![vmctx, memory, addr, size];
    if returns {
        sig.returns.push(AbiParam::new(I64));
    } else {
        sig.params.push(AbiParam::new(I64));
        args.push(params[4]);
    }
    let sig = b.import_signature(sig);
    let call = b.ins().call_indirect(sig, func, &args);
    if returns {
        let value = b.inst_results(call)[0];
        let flags = MemFlagsData::trusted();
        b.ins()
            .store(flags, value, runtime, offsets::RUNTIME_SLOW_RESULT);
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    finish_compilation(isa, scratch, &format!("slow-path stub {stub:?}"))
}
