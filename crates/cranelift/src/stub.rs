//! The slow-path stubs (`waven_environ::vm::SlowPathStub`): guest code
//! calls them with Cranelift's `preserve_all` convention, and they call
//! the runtime's slow-path libcall with the C convention. Every register
//! the libcall may clobber is saved and restored by the stub's own
//! prologue and epilogue (a `preserve_all` function saves whatever it
//! clobbers, the clobbers of its calls included), so the hot path of an
//! access keeps its values in registers across the possible slow path.

use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::Type;
use cranelift_codegen::ir::{
    AbiParam, Function, InstBuilder, MemFlagsData, Signature, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::FunctionBuilder;
use waven_environ::vm::{offsets, SlowPathStub};

use crate::layout::CompiledPiece;
use crate::translate::{finish_compilation, Scratch};
use crate::CompileError;

/// The namespace of stub names (the index is the stub's number).
const STUB_NAMESPACE: u32 = 2;

/// The types of the parameters `stub` takes (after `vmctx`) and passes on
/// to its libcall, and whether the libcall returns a value for
/// `VMRuntime::slow_result`.
fn stub_params(stub: SlowPathStub) -> (&'static [Type], bool) {
    match stub {
        // memory, addr, size.
        SlowPathStub::Load => (&[I32, I64, I32], true),
        // memory, addr, size, value.
        SlowPathStub::Store => (&[I32, I64, I32, I64], false),
        SlowPathStub::Safepoint => (&[], false),
    }
}

/// The signature guest code calls `stub` with.
pub(crate) fn stub_signature(stub: SlowPathStub) -> Signature {
    let mut sig = Signature::new(CallConv::PreserveAll);
    sig.params.push(AbiParam::new(I64));
    sig.params
        .extend(stub_params(stub).0.iter().map(|&ty| AbiParam::new(ty)));
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
    let args = b.block_params(entry).to_vec();
    let vmctx = args[0];
    let flags = MemFlagsData::trusted().with_readonly();
    let runtime = b.ins().load(I64, flags, vmctx, offsets::VMCTX_RUNTIME);
    let libcalls = b.ins().load(I64, flags, runtime, offsets::RUNTIME_LIBCALLS);
    let func = b
        .ins()
        .load(I64, flags, libcalls, stub.libcall() as i32 * 8);
    let (params, returns) = stub_params(stub);
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.push(AbiParam::new(I64));
    sig.params
        .extend(params.iter().map(|&ty| AbiParam::new(ty)));
    if returns {
        sig.returns.push(AbiParam::new(I64));
    }
    let sig = b.import_signature(sig);
    let call = b.ins().call_indirect(sig, func, &args);
    if returns {
        let value = b.inst_results(call)[0];
        b.ins().store(
            MemFlagsData::trusted(),
            value,
            runtime,
            offsets::RUNTIME_SLOW_RESULT,
        );
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    finish_compilation(isa, scratch, &format!("slow-path stub {stub:?}"))
}
