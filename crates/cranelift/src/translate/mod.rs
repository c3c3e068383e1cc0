//! Translation of one Wasm function to CLIF, and its compilation.
//!
//! The translator walks the operators once, keeping the operand stack as
//! SSA values and one [`Frame`] per open block. Everything compiled code
//! shares with the runtime goes through the helpers here: loads of VM
//! structures, traps (store the code, leave through the return block),
//! safepoints and libcalls. The submodules add the operators:
//!
//! ```text
//!  mod.rs      set-up, entry checks, traps, safepoints, libcalls
//!  control.rs  blocks, loops, ifs, branches, return
//!  ops.rs      numeric, parametric, variable, reference, table operators
//!  memory.rs   loads and stores (virtual and plain lowering), bulk memory
//!  calls.rs    direct, imported, indirect and host calls
//! ```
//!
//! Alias regions: VM structures the code writes or the runtime changes
//! between calls (`vm`), the descriptions and page tables of memories
//! (`memory`, written only by the runtime, so only calls and fences
//! invalidate them), and guest memory (`heap`). Fields that never change
//! for an instance are `readonly` loads that Cranelift may move freely.

mod calls;
mod control;
mod lookahead;
mod loop_slots;
mod memory;
mod ops;
mod streams;

use std::collections::{BTreeMap, HashMap};

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64, I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, AliasRegion, AliasRegionData, Block, BlockArg, Endianness, ExtFuncData, ExternalName,
    FuncRef, Function, InstBuilder, MemFlagsData, SigRef, Signature, StackSlot, Type,
    UserExternalName, UserFuncName, Value,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::Operator;
use waven_environ::code::{CodegenSettings, MemoryLowering};
use waven_environ::module::ModuleInfo;
use waven_environ::vm::{offsets, Libcall, SlowPathStub, TrapCode};
use waven_environ::{fuel, FuncType, ValType};

use crate::layout::{convert_relocs, CompiledPiece, FUNC_NAMESPACE};
use crate::stub::stub_signature;
use crate::CompileError;

/// Per-thread compilation state, reused between functions.
pub(crate) struct Scratch {
    pub(crate) ctx: Context,
    pub(crate) builder: FunctionBuilderContext,
    control: ControlPlane,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            ctx: Context::new(),
            builder: FunctionBuilderContext::new(),
            control: ControlPlane::default(),
        }
    }
}

/// The calling convention of compiled Wasm functions (only compiled code
/// calls them).
pub(crate) const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// Fixed native stack headroom every function demands beyond its own
/// estimate (for libcalls, which run on the same stack, and for Cranelift's
/// spills).
const STACK_SLACK: u64 = 8 * 1024;

/// The CLIF type of a Wasm value type (references are `i64` cells).
pub(crate) fn clif_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => I32,
        ValType::I64 | ValType::FuncRef | ValType::ExternRef => I64,
        ValType::F32 => F32,
        ValType::F64 => F64,
    }
}

/// The signature of a compiled Wasm function of type `ty`:
/// `(callee_vmctx, caller_vmctx, params...) -> results`.
pub(crate) fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params.push(AbiParam::new(I64));
    sig.params.push(AbiParam::new(I64));
    sig.params
        .extend(ty.params().iter().map(|&t| AbiParam::new(clif_type(t))));
    sig.returns
        .extend(ty.results().iter().map(|&t| AbiParam::new(clif_type(t))));
    sig
}

/// The parameter and result types of a libcall (after `vmctx`), as
/// `vm.rs` declares them.
fn libcall_types(call: Libcall) -> (&'static [Type], &'static [Type]) {
    match call {
        Libcall::LoadSlow => (&[I32, I64, I32], &[I64]),
        Libcall::StoreSlow => (&[I32, I64, I32, I64], &[]),
        Libcall::MemorySize => (&[I32], &[I64]),
        Libcall::MemoryGrow => (&[I32, I64], &[I64]),
        Libcall::MemoryFill => (&[I32, I64, I32, I64], &[]),
        Libcall::MemoryCopy => (&[I32, I32, I64, I64, I64], &[]),
        Libcall::MemoryInit => (&[I32, I32, I64, I32, I32], &[]),
        Libcall::DataDrop => (&[I32], &[]),
        Libcall::MemoryDiscard => (&[I32, I64, I64], &[]),
        Libcall::TableGrow => (&[I32, I32, I64], &[I32]),
        Libcall::TableFill => (&[I32, I32, I64, I32], &[]),
        Libcall::TableCopy => (&[I32, I32, I32, I32, I32], &[]),
        Libcall::TableInit => (&[I32, I32, I32, I32, I32], &[]),
        Libcall::ElemDrop => (&[I32], &[]),
        Libcall::HostCall => (&[I32, I64], &[]),
        Libcall::TrapFrame => (&[I32], &[]),
        Libcall::Safepoint => (&[], &[]),
    }
}

/// Whether `op` is a load or a store of linear memory.
fn is_load_or_store(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::I32Load { .. }
            | O::I64Load { .. }
            | O::F32Load { .. }
            | O::F64Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load8U { .. }
            | O::I32Load16S { .. }
            | O::I32Load16U { .. }
            | O::I64Load8S { .. }
            | O::I64Load8U { .. }
            | O::I64Load16S { .. }
            | O::I64Load16U { .. }
            | O::I64Load32S { .. }
            | O::I64Load32U { .. }
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::F32Store { .. }
            | O::F64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. }
    )
}

/// Whether a libcall may trap (then the code tests `trap` after it).
fn libcall_may_trap(call: Libcall) -> bool {
    matches!(
        call,
        Libcall::LoadSlow
            | Libcall::StoreSlow
            | Libcall::MemoryFill
            | Libcall::MemoryCopy
            | Libcall::MemoryInit
            | Libcall::MemoryDiscard
            | Libcall::TableFill
            | Libcall::TableCopy
            | Libcall::TableInit
            | Libcall::HostCall
            | Libcall::Safepoint
    )
}

/// Compiles defined function `defined` of `info`.
pub(crate) fn compile_function(
    isa: &dyn TargetIsa,
    settings: CodegenSettings,
    info: &ModuleInfo,
    defined: usize,
    scratch: &mut Scratch,
) -> Result<CompiledPiece, CompileError> {
    let func_index = info.num_imported_funcs + defined as u32;
    let sig = wasm_signature(info.func_type(func_index));
    let disasm = scratch.ctx.want_disasm;
    scratch.ctx.clear();
    scratch.ctx.set_disasm(disasm);
    scratch.ctx.func =
        Function::with_name_signature(UserFuncName::user(FUNC_NAMESPACE, defined as u32), sig);
    let builder = FunctionBuilder::new(&mut scratch.ctx.func, &mut scratch.builder);
    let mut translator = FuncTranslator::new(builder, isa, settings, info, func_index, defined)?;
    translator.translate()?;
    translator.finish(isa);
    finish_compilation(isa, scratch, &format!("function {func_index}"))
}

/// The disassembly of defined function `defined` as Cranelift prints it
/// (for golden tests).
#[cfg(test)]
pub(crate) fn disassemble(
    isa: &dyn TargetIsa,
    settings: CodegenSettings,
    info: &ModuleInfo,
    defined: usize,
) -> Result<String, CompileError> {
    let mut scratch = Scratch::default();
    scratch.ctx.set_disasm(true);
    compile_function(isa, settings, info, defined, &mut scratch)?;
    Ok(scratch
        .ctx
        .compiled_code()
        .and_then(|code| code.vcode.clone())
        .unwrap_or_default())
}

/// Compiles the function in `scratch.ctx` and extracts its code.
pub(crate) fn finish_compilation(
    isa: &dyn TargetIsa,
    scratch: &mut Scratch,
    what: &str,
) -> Result<CompiledPiece, CompileError> {
    scratch
        .ctx
        .compile(isa, &mut scratch.control)
        .map_err(|e| CompileError::Codegen {
            what: what.to_string(),
            message: e.inner.to_string(),
        })?;
    let compiled = scratch
        .ctx
        .compiled_code()
        .ok_or_else(|| CompileError::Codegen {
            what: what.to_string(),
            message: "no code".into(),
        })?;
    let relocs = convert_relocs(what, &scratch.ctx.func, compiled.buffer.relocs())?;
    Ok(CompiledPiece {
        code: compiled.code_buffer().to_vec(),
        relocs,
    })
}

/// What kind of block a frame is.
#[derive(Clone, Copy)]
enum FrameKind {
    /// `block`, or the function body.
    Block,
    /// `loop`: branches go to `header` with the loop's parameters.
    Loop { header: Block },
    /// `if`: `else_block` takes the parameters; `has_else` once seen.
    If { else_block: Block, has_else: bool },
}

/// An open block.
struct Frame {
    kind: FrameKind,
    /// Where `end` (and branches to a non-loop) continue, with the results
    /// as block parameters.
    dest: Block,
    /// Whether anything jumps to `dest`.
    dest_reached: bool,
    /// The operand stack height below the block's parameters.
    base: usize,
    /// The block's parameter and result types.
    params: Vec<Type>,
    results: Vec<Type>,
}

impl Frame {
    /// The types a branch to this frame carries.
    fn branch_types(&self) -> &[Type] {
        match self.kind {
            FrameKind::Loop { .. } => &self.params,
            _ => &self.results,
        }
    }
}

/// The memory flags of the three alias regions.
#[derive(Clone, Copy)]
struct Regions {
    vm: AliasRegion,
    memory: AliasRegion,
    heap: AliasRegion,
    /// The stack slots of loop translations.
    loop_slots: AliasRegion,
}

/// Translates one function body.
pub(crate) struct FuncTranslator<'a> {
    b: FunctionBuilder<'a>,
    settings: CodegenSettings,
    info: &'a ModuleInfo,
    func_index: u32,
    defined: usize,
    regions: Regions,
    /// The platform's calling convention (libcalls).
    libcall_conv: CallConv,
    /// The Wasm parameters.
    params: Vec<Value>,
    /// The own `VMContext`.
    vmctx: Value,
    /// `VMContext::runtime`.
    runtime: Value,
    /// `VMContext::memory0`, if the module has a memory.
    memory0: Option<Value>,
    /// Virtual lowering: memory 0's table directory, loaded once at entry
    /// (see [`FuncTranslator::prologue`]).
    directory: Option<Value>,
    /// Plain lowering: memory 0's base and bound as an earlier access
    /// loaded them, while still valid (see [`FuncTranslator::translate_op`]).
    plain_view: Option<(Value, Value)>,
    /// Virtual lowering: translations of earlier accesses of this stretch
    /// of straight-line code that later accesses may reuse (see
    /// `memory.rs`), newest last.
    reuses: Vec<memory::Reuse>,
    /// Virtual lowering: the loads (by operator position) that a store
    /// through the same pointer follows, which translate through the write
    /// table (see `lookahead.rs`), ascending.
    write_first: Vec<usize>,
    /// Virtual lowering: the accesses (by operator position) that keep
    /// their translation from one pass of their loop to the next, and the
    /// outermost loops with their numbers of such accesses (see
    /// `streams.rs`), ascending.
    loop_sites: Vec<usize>,
    slot_nests: Vec<(usize, u32)>,
    /// Virtual lowering: the stack slots of loop translations, and the
    /// open nest that owns some (see `loop_slots.rs`).
    loop_slots: Vec<StackSlot>,
    slot_nest: Option<loop_slots::SlotNest>,
    /// The position of the operator being translated.
    position: usize,
    locals: Vec<Variable>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    /// Whether the current point is reachable; if not, `dead_depth` counts
    /// the blocks opened since.
    reachable: bool,
    dead_depth: u32,
    /// Increments `depth_left` and returns its parameters.
    ret_block: Block,
    results: Vec<Type>,
    /// One block per trap code, created on demand (ordered: the output
    /// must not depend on hashing).
    trap_blocks: BTreeMap<u32, Block>,
    /// Leaves with zero results without setting a trap (one is pending).
    exit_block: Option<Block>,
    /// Fuel costs of the segments, and the number of loops read so far.
    fuel_costs: Vec<u64>,
    loops_seen: usize,
    /// The highest operand stack seen (for the native frame estimate).
    max_stack: usize,
    /// The constant of the stack check, patched once the frame is known.
    frame_bytes: Option<cranelift_codegen::ir::Inst>,
    /// The stack slot host calls pass their values in, and its size.
    host_slot: Option<(StackSlot, u32)>,
    wasm_sigs: HashMap<u32, SigRef>,
    libcall_sigs: HashMap<u32, SigRef>,
    callees: HashMap<u32, FuncRef>,
    /// The slow-path stubs imported so far, by stub number.
    stubs: HashMap<u32, FuncRef>,
}

impl<'a> FuncTranslator<'a> {
    fn new(
        mut b: FunctionBuilder<'a>,
        isa: &dyn TargetIsa,
        settings: CodegenSettings,
        info: &'a ModuleInfo,
        func_index: u32,
        defined: usize,
    ) -> Result<FuncTranslator<'a>, CompileError> {
        let mut region = |user_id: u32, description: &'static str| {
            b.func.dfg.alias_regions.insert(AliasRegionData {
                user_id,
                description: description.into(),
            })
        };
        let regions = Regions {
            vm: region(0, "vm"),
            memory: region(1, "memory"),
            heap: region(2, "heap"),
            loop_slots: region(3, "loop slots"),
        };
        let fuel_costs = fuel::segment_costs(&info.body_reader(defined)).map_err(|e| {
            CompileError::InvalidBody {
                func: func_index,
                message: e.to_string(),
            }
        })?;
        let results: Vec<Type> = info
            .func_type(func_index)
            .results()
            .iter()
            .map(|&t| clif_type(t))
            .collect();
        let ret_block = b.create_block();
        for &ty in &results {
            b.append_block_param(ret_block, ty);
        }
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let vmctx = b.block_params(entry)[0];
        let params = b.block_params(entry)[2..].to_vec();
        Ok(FuncTranslator {
            b,
            settings,
            info,
            func_index,
            defined,
            regions,
            libcall_conv: isa.default_call_conv(),
            params,
            vmctx,
            runtime: vmctx, // replaced in `prologue`
            memory0: None,
            directory: None,
            plain_view: None,
            reuses: Vec::new(),
            write_first: Vec::new(),
            loop_sites: Vec::new(),
            slot_nests: Vec::new(),
            loop_slots: Vec::new(),
            slot_nest: None,
            position: 0,
            locals: Vec::new(),
            stack: Vec::new(),
            frames: Vec::new(),
            reachable: true,
            dead_depth: 0,
            ret_block,
            results,
            trap_blocks: BTreeMap::new(),
            exit_block: None,
            fuel_costs,
            loops_seen: 0,
            max_stack: 0,
            frame_bytes: None,
            host_slot: None,
            wasm_sigs: HashMap::new(),
            libcall_sigs: HashMap::new(),
            callees: HashMap::new(),
            stubs: HashMap::new(),
        })
    }

    /// An error for something this compiler does not translate.
    fn unsupported(&self, what: impl Into<String>) -> CompileError {
        CompileError::Unsupported {
            func: self.func_index,
            what: what.into(),
        }
    }

    /// Translates the whole body.
    fn translate(&mut self) -> Result<(), CompileError> {
        self.prologue();
        let body = self.info.body_reader(self.defined);
        let func = self.func_index;
        let read_error = |e: wasmparser::BinaryReaderError| CompileError::InvalidBody {
            func,
            message: e.to_string(),
        };
        let mut reader = body.get_operators_reader().map_err(read_error)?;
        if self.settings.memory == MemoryLowering::Virtual {
            self.write_first =
                lookahead::loads_before_stores(reader.clone()).map_err(read_error)?;
            let plan = streams::plan(reader.clone()).map_err(read_error)?;
            self.loop_sites = plan.sites;
            self.slot_nests = plan.nests;
        }
        let mut position = 0;
        while !reader.eof() {
            let op = reader.read().map_err(read_error)?;
            self.position = position;
            position += 1;
            if self.reachable {
                self.translate_op(&op)?;
                self.max_stack = self.max_stack.max(self.stack.len());
            } else {
                self.translate_dead(&op)?;
            }
        }
        Ok(())
    }

    /// Translates one operator of reachable code.
    fn translate_op(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        // Plain memory's base and bound, loaded by an access, serve the
        // accesses after it while nothing can move the memory (a call, a
        // `memory.*` operator) and the code stays in blocks the load
        // dominates (no control operator).
        if self.translate_control(op)? || self.translate_memory(op)? || self.translate_call(op)? {
            if !is_load_or_store(op) {
                self.forget_memory_views();
            }
            return Ok(());
        }
        self.translate_plain(op)
    }

    /// Fills the trap and exit blocks, patches the frame size and hands
    /// the function to Cranelift.
    fn finish(mut self, isa: &dyn TargetIsa) {
        let zeros: Vec<(u32, Block)> = self.trap_blocks.iter().map(|(&c, &b)| (c, b)).collect();
        // Every way out with a trap pending passes here once per frame, so
        // the runtime learns the trap's backtrace without unwinding.
        let unwind =
            (!zeros.is_empty() || self.exit_block.is_some()).then(|| self.b.create_block());
        for (code, block) in zeros {
            self.b.switch_to_block(block);
            self.b.set_cold_block(block);
            let flags = self.vm_flags();
            let old = self
                .b
                .ins()
                .load(I32, flags, self.runtime, offsets::RUNTIME_TRAP);
            let new = self.b.ins().iconst(I32, i64::from(code));
            let none = self.b.ins().icmp_imm_s(IntCC::Equal, old, 0);
            let value = self.b.ins().select(none, new, old);
            self.b
                .ins()
                .store(flags, value, self.runtime, offsets::RUNTIME_TRAP);
            self.b.ins().jump(unwind.expect("made for traps"), &[]);
        }
        if let Some(block) = self.exit_block {
            self.b.switch_to_block(block);
            self.b.set_cold_block(block);
            self.b.ins().jump(unwind.expect("made for exits"), &[]);
        }
        if let Some(block) = unwind {
            self.b.switch_to_block(block);
            self.b.set_cold_block(block);
            let index = self.b.ins().iconst(I32, i64::from(self.func_index));
            self.libcall(Libcall::TrapFrame, &[index]);
            self.return_zeros_through_ret_block();
        }
        let locals = self.locals.len() as u64;
        let host = self.host_slot.map_or(0, |(_, size)| u64::from(size));
        let estimate = 16 * (locals + self.max_stack as u64) + host + STACK_SLACK;
        if let Some(inst) = self.frame_bytes {
            self.b.func.replace(inst).iconst(I64, estimate as i64);
        }
        if let Some((slot, size)) = self.host_slot {
            self.b.func.sized_stack_slots[slot].size = size;
        }
        self.b.seal_all_blocks();
        self.b.finalize(isa.frontend_config());
    }

    /// Jumps to the return block with zero results.
    fn return_zeros_through_ret_block(&mut self) {
        let zeros: Vec<BlockArg> = self
            .results
            .clone()
            .into_iter()
            .map(|ty| BlockArg::Value(self.zero(ty)))
            .collect();
        self.b.ins().jump(self.ret_block, &zeros);
    }

    /// The zero value of a CLIF type.
    fn zero(&mut self, ty: Type) -> Value {
        match ty {
            F32 => self.b.ins().f32const(0.0),
            F64 => self.b.ins().f64const(0.0),
            _ => self.b.ins().iconst(ty, 0),
        }
    }

    // ---- memory flags and VM structure access ----

    /// Flags of mutable VM structures.
    fn vm_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.regions.vm))
    }

    /// Flags of memory descriptions and page tables.
    fn memory_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.regions.memory))
    }

    /// Flags of fields that never change while the instance lives.
    fn readonly_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted()
            .with_readonly()
            .with_can_move()
            .with_alias_region(Some(self.regions.vm))
    }

    /// Flags of guest memory accesses (possibly unaligned, never faulting:
    /// the address was checked).
    fn heap_flags(&self) -> MemFlagsData {
        MemFlagsData::new()
            .with_notrap()
            .with_endianness(Endianness::Little)
            .with_alias_region(Some(self.regions.heap))
    }

    /// Loads a field of the own `VMContext` (never changes).
    fn vmctx_field(&mut self, offset: i32) -> Value {
        let flags = self.readonly_flags();
        self.b.ins().load(I64, flags, self.vmctx, offset)
    }

    /// Loads `array[index]` of 8-byte entries with `flags`.
    fn load_indexed(
        &mut self,
        ty: Type,
        flags: MemFlagsData,
        array: Value,
        index: u32,
        size: i32,
    ) -> Value {
        let offset = i64::from(index) * i64::from(size);
        match i32::try_from(offset) {
            Ok(offset) => self.b.ins().load(ty, flags, array, offset),
            Err(_) => {
                let addr = self.b.ins().iadd_imm_s(array, offset);
                self.b.ins().load(ty, flags, addr, 0)
            }
        }
    }

    // ---- traps ----

    /// The block that traps with `code`.
    fn trap_block(&mut self, code: TrapCode) -> Block {
        let code = code as u32;
        if let Some(&block) = self.trap_blocks.get(&code) {
            return block;
        }
        let block = self.b.create_block();
        self.trap_blocks.insert(code, block);
        block
    }

    /// A new block to continue the current one in after a branch: cold
    /// when the current one is, so that a slow path's continuation stays
    /// out of line (a hot path jumping over it costs a taken branch).
    fn continuation_block(&mut self) -> Block {
        let block = self.b.create_block();
        let cold = self
            .b
            .current_block()
            .is_some_and(|current| self.b.func.layout.is_cold(current));
        if cold {
            self.b.set_cold_block(block);
        }
        block
    }

    /// Traps with `code` if `cond` is non-zero.
    fn trap_if(&mut self, cond: Value, code: TrapCode) {
        let trap = self.trap_block(code);
        let cont = self.continuation_block();
        self.b.ins().brif(cond, trap, &[], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    /// Traps with `code` unconditionally; what follows is unreachable.
    fn trap(&mut self, code: TrapCode) {
        let trap = self.trap_block(code);
        self.b.ins().jump(trap, &[]);
        self.reachable = false;
    }

    /// Leaves the function if a trap is pending (after calls).
    fn check_trap(&mut self) {
        self.void_loop_slots();
        let flags = self.vm_flags();
        let trap = self
            .b
            .ins()
            .load(I32, flags, self.runtime, offsets::RUNTIME_TRAP);
        let exit = match self.exit_block {
            Some(block) => block,
            None => {
                let block = self.b.create_block();
                self.exit_block = Some(block);
                block
            }
        };
        let cont = self.continuation_block();
        self.b.ins().brif(trap, exit, &[], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    // ---- entry, safepoints ----

    /// The entry checks (depth, native stack), the locals and the entry
    /// safepoint.
    fn prologue(&mut self) {
        let flags = self.vm_flags();
        self.runtime = self.vmctx_field(offsets::VMCTX_RUNTIME);
        if !self.info.memories.is_empty() {
            let memory = self.vmctx_field(offsets::VMCTX_MEMORY0);
            self.memory0 = Some(memory);
            if self.settings.memory == MemoryLowering::Virtual {
                // A virtual memory's directory never moves while the
                // instance lives (each activation writes the same
                // value), so it is loaded once, here, where
                // they dominate every access. The loads are not movable:
                // Cranelift keeps them in this block (and drops the ones
                // no access uses) instead of repeating them in each
                // access's block.
                let flags = MemFlagsData::trusted()
                    .with_readonly()
                    .with_alias_region(Some(self.regions.vm));
                self.directory = Some(self.b.ins().load(
                    I64,
                    flags,
                    memory,
                    offsets::MEMORY_DIRECTORY,
                ));
            }
        }

        // Depth: at 0, trap without touching `depth_left` (nothing to undo).
        let depth = self
            .b
            .ins()
            .load(I64, flags, self.runtime, offsets::RUNTIME_DEPTH_LEFT);
        let exhausted = self.b.create_block();
        let cont = self.b.create_block();
        self.b.ins().brif(depth, cont, &[], exhausted, &[]);
        self.b.switch_to_block(exhausted);
        self.b.seal_block(exhausted);
        self.b.set_cold_block(exhausted);
        let code = self.b.ins().iconst(I32, TrapCode::StackExhausted as i64);
        let old = self
            .b
            .ins()
            .load(I32, flags, self.runtime, offsets::RUNTIME_TRAP);
        let none = self.b.ins().icmp_imm_s(IntCC::Equal, old, 0);
        let value = self.b.ins().select(none, code, old);
        self.b
            .ins()
            .store(flags, value, self.runtime, offsets::RUNTIME_TRAP);
        let zeros: Vec<Value> = self
            .results
            .clone()
            .into_iter()
            .map(|ty| self.zero(ty))
            .collect();
        self.b.ins().return_(&zeros);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        let depth = self.b.ins().iadd_imm_s(depth, -1);
        self.b
            .ins()
            .store(flags, depth, self.runtime, offsets::RUNTIME_DEPTH_LEFT);

        // Native stack: sp - frame < stack_limit traps (the frame estimate
        // is patched in `finish`).
        let sp = self.b.ins().get_stack_pointer(I64);
        let limit = self
            .b
            .ins()
            .load(I64, flags, self.runtime, offsets::RUNTIME_STACK_LIMIT);
        let frame = self.b.ins().iconst(I64, 0);
        self.frame_bytes = self.b.func.dfg.value_def(frame).inst();
        let needed = self.b.ins().iadd(limit, frame);
        let low = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, needed);
        self.trap_if(low, TrapCode::StackExhausted);

        // Locals: the parameters, then zeros.
        let ty = self.info.func_type(self.func_index).clone();
        let params = self.params.clone();
        for (&value, &ty) in params.iter().zip(ty.params()) {
            let var = self.b.declare_var(clif_type(ty));
            self.b.def_var(var, value);
            self.locals.push(var);
        }
        let declared = self.info.bodies[self.defined].locals.clone();
        for ty in declared {
            let ty = clif_type(ty);
            let var = self.b.declare_var(ty);
            let zero = self.zero(ty);
            self.b.def_var(var, zero);
            self.locals.push(var);
        }

        let cost = self.fuel_costs[0];
        self.safepoint(cost);

        // The function body is a block whose end returns.
        self.frames.push(Frame {
            kind: FrameKind::Block,
            dest: self.ret_block,
            dest_reached: false,
            base: 0,
            params: Vec::new(),
            results: self.results.clone(),
        });
    }

    /// A safepoint: fuel, interrupt, shootdown acknowledge (see `vm.rs`).
    fn safepoint(&mut self, cost: u64) {
        let flags = self.vm_flags();
        if self.settings.fuel {
            let fuel = self
                .b
                .ins()
                .load(I64, flags, self.runtime, offsets::RUNTIME_FUEL);
            let short = self
                .b
                .ins()
                .icmp_imm_s(IntCC::UnsignedLessThan, fuel, cost as i64);
            self.trap_if(short, TrapCode::OutOfFuel);
            let left = self.b.ins().iadd_imm_s(fuel, (cost as i64).wrapping_neg());
            self.b
                .ins()
                .store(flags, left, self.runtime, offsets::RUNTIME_FUEL);
        }
        // The doorbell: one byte for interrupts and shootdowns alike. An
        // atomic load: never merged with an earlier one, and a fence for
        // Cranelift's alias analysis, so page-table entries loaded after a
        // safepoint are never reused from before it.
        let readonly = self.readonly_flags();
        let doorbell = self
            .b
            .ins()
            .load(I64, readonly, self.runtime, offsets::RUNTIME_DOORBELL);
        let rung = self
            .b
            .ins()
            .atomic_load(I8, MemFlagsData::trusted(), doorbell);
        let answer = self.b.create_block();
        let cont = self.b.create_block();
        self.b.ins().brif(rung, answer, &[], cont, &[]);
        self.b.switch_to_block(answer);
        self.b.seal_block(answer);
        self.b.set_cold_block(answer);
        self.call_stub(SlowPathStub::Safepoint, &[]);
        self.b.ins().jump(cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    // ---- libcalls ----

    /// Calls slow-path `stub` of this module's code with `vmctx` and
    /// `args`, then tests for a trap.
    fn call_stub(&mut self, stub: SlowPathStub, args: &[Value]) {
        let callee = match self.stubs.get(&(stub as u32)) {
            Some(&callee) => callee,
            None => {
                let signature = self.b.import_signature(stub_signature(stub));
                // The stubs follow the defined functions in the text.
                let index = self.info.bodies.len() as u32 + stub as u32;
                let name = self
                    .b
                    .func
                    .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, index));
                let callee = self.b.import_function(ExtFuncData {
                    name: ExternalName::user(name),
                    signature,
                    colocated: true,
                    patchable: false,
                });
                self.stubs.insert(stub as u32, callee);
                callee
            }
        };
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(self.vmctx);
        full.extend_from_slice(args);
        self.b.ins().call(callee, &full);
        self.check_trap();
    }

    /// Calls libcall `call` with `vmctx` and `args`; tests for a trap
    /// after those that may trap. Returns its result, if any.
    fn libcall(&mut self, call: Libcall, args: &[Value]) -> Option<Value> {
        let sig = match self.libcall_sigs.get(&(call as u32)) {
            Some(&sig) => sig,
            None => {
                let (params, returns) = libcall_types(call);
                let mut sig = Signature::new(self.libcall_conv);
                sig.params.push(AbiParam::new(I64));
                sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
                sig.returns
                    .extend(returns.iter().map(|&t| AbiParam::new(t)));
                let sig = self.b.import_signature(sig);
                self.libcall_sigs.insert(call as u32, sig);
                sig
            }
        };
        // Read-only, but not movable: libcalls sit on cold or rare paths,
        // and a pointer hoisted out of a loop would hold a register there.
        let readonly = MemFlagsData::trusted()
            .with_readonly()
            .with_alias_region(Some(self.regions.vm));
        let table = self
            .b
            .ins()
            .load(I64, readonly, self.runtime, offsets::RUNTIME_LIBCALLS);
        let func = self.load_indexed(I64, readonly, table, call as u32, 8);
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(self.vmctx);
        full.extend_from_slice(args);
        let inst = self.b.ins().call_indirect(sig, func, &full);
        let result = self.b.inst_results(inst).first().copied();
        if libcall_may_trap(call) {
            self.check_trap();
        } else {
            self.void_loop_slots();
        }
        result
    }

    /// An `i32` constant.
    fn i32_const(&mut self, value: u32) -> Value {
        self.b.ins().iconst(I32, i64::from(value))
    }

    // ---- operand stack ----

    fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    /// Pops `n` values, in stack order.
    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    /// The top `n` values, in stack order.
    fn peek_n(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }
}
