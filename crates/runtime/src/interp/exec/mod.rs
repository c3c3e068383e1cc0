//! The interpreter.
//!
//! ```text
//!  invoke ──► Executor::run: one loop over the current function's code
//!                 Call of a Wasm function: push the caller, switch function
//!                 Return: pop the caller, switch back
//! ```
//!
//! Frames live in one value stack; a callee's frame starts at its caller's
//! argument slots. Host functions are called from `run_frame` directly,
//! with the memory given back to the store for the duration of the call.

mod backend;
mod frame;
#[allow(dead_code)]
mod numeric;
mod run;

use std::sync::Arc;

pub(crate) use backend::{Backend, PlainBackend, VirtualBackend};
use frame::ValueStack;

use crate::error::{Trap, TrapKind};
use crate::func::Caller;
use crate::interp::ir::{CompiledFunc, Instr};
use crate::store::{FuncEntity, Instance, Store};
use crate::value::{Func, Val};

/// Checks that every slot named by an instruction of `func` is below its
/// `max_slots`, and every branch target inside its code: the invariants
/// the unchecked slot access of [`frame::FramePtr`] relies on.
pub(crate) fn verify(func: &CompiledFunc) -> Result<(), String> {
    let limit = func.max_slots;
    let code_len = func.code.len() as u32;
    let mut bad = None;
    for (pc, instr) in func.code.iter().enumerate() {
        let mut check = |slot: u32| {
            if slot >= limit {
                bad.get_or_insert(format!("slot {slot} at {pc} (limit {limit})"));
            }
        };
        run::for_each_slot(instr, &mut check);
        let target = instr.clone().branch_target_mut().map(|to| *to);
        if target.is_some_and(|to| to >= code_len) {
            bad.get_or_insert(format!("branch target out of code at {pc}"));
        }
        if let Instr::Return { src, count } = *instr {
            if src.checked_add(count).is_none_or(|end| end > limit) {
                bad.get_or_insert(format!("return slots at {pc}"));
            }
        }
    }
    if func.br_targets.iter().any(|&to| to >= code_len) {
        bad.get_or_insert("branch table target out of code".into());
    }
    if (func.num_locals as usize + func.consts.len()) > limit as usize {
        bad.get_or_insert("locals exceed the frame".into());
    }
    bad.map_or(Ok(()), |message| {
        Err(format!("internal translation error: {message}"))
    })
}

/// A suspended caller.
struct Frame {
    func: Arc<CompiledFunc>,
    instance_index: u32,
    /// Value stack index of slot 0.
    base: usize,
    /// Where to continue.
    pc: usize,
}

/// An execution in progress.
struct Executor<'s, T, B: Backend> {
    store: &'s mut Store<T>,
    stack: ValueStack,
    frames: Vec<Frame>,
    /// The active memory and its store index.
    memory: Option<(u32, B::Active)>,
    fuel: u64,
    /// The store's interrupt handle (tested at safepoints).
    interrupt: crate::interrupt::InterruptHandle,
    max_depth: usize,
    /// The running function: instance and function index (for backtraces).
    current: (u32, u32),
}

/// Calls `func` of `store` with `args` (already type-checked), writing
/// its results.
pub(crate) fn invoke<T, B: Backend>(
    store: &mut Store<T>,
    func: Func,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let (ty, wasm) = match &store.inner.funcs[func.0 as usize] {
        FuncEntity::Host { ty, call } => {
            let (ty, call) = (ty.clone(), call.clone());
            let caller = Caller {
                store,
                instance: None,
            };
            call(caller, args, results)?;
            check_results(&ty, results)?;
            return Ok(());
        }
        FuncEntity::Wasm { ty, instance, code } => (ty.clone(), (*instance, code.clone())),
        FuncEntity::Compiled { .. } => {
            return Err(TrapKind::Host("compiled code called from the interpreter".into()).into())
        }
    };
    let cells = std::mem::take(&mut store.inner.stack);
    let max = store.engine.config.max_stack_cells;
    let Some(stack) = ValueStack::new(cells, max) else {
        return Err(Trap::from(TrapKind::Host(
            "no host memory for a value stack".to_owned(),
        )));
    };
    let mut executor = Executor::<T, B> {
        fuel: store.inner.fuel,
        interrupt: store.inner.interrupt.clone(),
        max_depth: store.engine.config.max_call_depth,
        store,
        stack,
        frames: Vec::new(),
        memory: None,
        current: (wasm.0, wasm.1.index),
    };
    for (i, arg) in args.iter().enumerate() {
        executor.stack.cells(i, 1)[0] = arg.to_cell();
    }
    let outcome = executor.run(wasm.1, wasm.0);
    executor.release_memory();
    for (i, (slot, ty)) in results.iter_mut().zip(ty.results()).enumerate() {
        *slot = Val::from_cell(*ty, executor.stack.cells(i, 1)[0]);
    }
    let backtrace = match outcome {
        Ok(()) => Vec::new(),
        Err(_) => executor.backtrace(),
    };
    let Executor {
        store, stack, fuel, ..
    } = executor;
    store.inner.fuel = fuel;
    store.inner.stack = stack.into_vec();
    outcome.map_err(|kind| Trap { kind, backtrace })
}

/// Checks that a host function filled its results with the right types.
fn check_results(ty: &crate::value::FuncType, results: &[Val]) -> Result<(), Trap> {
    if results.iter().map(Val::ty).eq(ty.results().iter().copied()) {
        Ok(())
    } else {
        Err(TrapKind::Host(format!("host function returned {results:?} for type {ty}")).into())
    }
}

impl<T, B: Backend> Executor<'_, T, B> {
    /// Initializes the declared locals and the constants of a frame.
    fn init_frame(frame: frame::FramePtr, code: &CompiledFunc) {
        for slot in code.num_params..code.num_locals {
            frame.set(slot, 0);
        }
        for (i, &cell) in code.consts.iter().enumerate() {
            frame.set(code.num_locals + i as u32, cell);
        }
    }

    /// The active functions, innermost first, by name.
    fn backtrace(&self) -> Vec<String> {
        let callers = self
            .frames
            .iter()
            .rev()
            .map(|f| (f.instance_index, f.func.index));
        std::iter::once(self.current)
            .chain(callers)
            .map(|(instance, index)| {
                let module = &self.store.inner.instances[instance as usize].data.module;
                match module.func_name(index) {
                    Some(name) => name.to_string(),
                    None => format!("func[{index}]"),
                }
            })
            .collect()
    }

    /// What every function and loop body does first: trap if the store
    /// was interrupted, and acknowledge pending revocations of the active
    /// memory, so that no access translated before a revocation completes
    /// after it returns.
    #[inline(always)]
    fn safepoint(&self) -> Result<(), TrapKind> {
        if self
            .interrupt
            .flag()
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(TrapKind::Interrupted);
        }
        if let Some((_, active)) = &self.memory {
            B::safepoint(active);
        }
        Ok(())
    }

    /// Makes memory `index` (a store index) the active one.
    fn use_memory(&mut self, index: Option<u32>) {
        if self.memory.as_ref().map(|(i, _)| *i) == index {
            return;
        }
        self.release_memory();
        if let Some(index) = index {
            let backing = &mut self.store.inner.memories[index as usize].backing;
            self.memory = B::activate(backing).map(|active| (index, active));
        }
    }

    /// Gives the active memory back to the store.
    fn release_memory(&mut self) {
        if let Some((index, active)) = self.memory.take() {
            B::deactivate(
                &mut self.store.inner.memories[index as usize].backing,
                active,
            );
        }
    }

    /// Calls host function `func` (store index) with its arguments at
    /// absolute stack index `base`, writing results there.
    fn call_host(&mut self, func: u32, base: usize, instance: u32) -> Result<(), TrapKind> {
        let FuncEntity::Host { ty, call } = &self.store.inner.funcs[func as usize] else {
            unreachable!("called with a host function");
        };
        let (ty, call) = (ty.clone(), call.clone());
        let args: Vec<Val> = ty
            .params()
            .iter()
            .enumerate()
            .map(|(i, &t)| Val::from_cell(t, self.stack.cells(base + i, 1)[0]))
            .collect();
        let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for(t)).collect();
        let memory = self.memory.as_ref().map(|(i, _)| *i);
        self.release_memory();
        self.store.inner.fuel = self.fuel;
        let caller = Caller {
            store: self.store,
            instance: Some(Instance(instance)),
        };
        let outcome = call(caller, &args, &mut results);
        self.fuel = self.store.inner.fuel;
        self.use_memory(memory);
        if let Err(trap) = outcome {
            return Err(trap.kind);
        }
        check_results(&ty, &results).map_err(|trap| trap.kind)?;
        if self.stack.frame(base, results.len() as u32).is_none() {
            return Err(TrapKind::CallStackExhausted);
        }
        for (i, value) in results.iter().enumerate() {
            self.stack.cells(base + i, 1)[0] = value.to_cell();
        }
        Ok(())
    }
}
