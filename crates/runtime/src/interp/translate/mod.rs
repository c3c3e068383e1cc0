//! Translation of a validated function body into [`CompiledFunc`].
//!
//! The translator walks the operators once, simulating the operand stack
//! with [`Operand`]s that say where each value lives: a local, a constant,
//! or the temporary slot of its stack height. Instructions then name their
//! operands' slots directly, so `local.get` and constants emit nothing.
//!
//! Invariants that keep the aliasing sound:
//! * before a local is written, operands that alias it are copied into
//!   their temporaries (`materialize_local`);
//! * at every control-flow boundary (block, loop, if, else, end, branch,
//!   call) the values that flow across it are in their temporaries, so
//!   every path agrees on where they are.

mod operator;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use wasmparser::{BlockType, FunctionBody, Operator};

use crate::error::Error;
use crate::interp::ir::{CompiledFunc, Instr, Slot};
use crate::module::ModuleInfo;

/// Where an operand-stack entry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    /// In the temporary of its own stack height.
    Temp,
    /// In local `n` (not copied yet).
    Local(u32),
    /// In a constant slot.
    Const(Slot),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ControlKind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

/// A pending forward branch: an instruction or a branch-table entry whose
/// target is the end of a block.
#[derive(Clone, Copy, Debug)]
enum Patch {
    Instr(usize),
    Table(usize),
}

#[derive(Debug)]
struct Control {
    kind: ControlKind,
    /// Stack height below the block's parameters.
    height: usize,
    params: usize,
    results: usize,
    /// Loop start (loops only).
    start: u32,
    /// Branches to patch with the end of the block.
    patches: Vec<Patch>,
    /// The conditional branch of an `if` that skips to the `else` (or end).
    else_patch: Option<usize>,
    /// The block was entered in unreachable code: it emits nothing.
    entered_dead: bool,
}

/// Translates one function.
pub(crate) struct Translator<'a> {
    info: &'a ModuleInfo,
    fuel: bool,
    /// The fuel cost of each segment (see `waven_environ::fuel`), when
    /// fuel is on.
    fuel_costs: Vec<u64>,
    /// How many `loop` operators were read so far (the segment number of
    /// the next loop).
    loops_seen: usize,
    code: Vec<Instr>,
    consts: Vec<u64>,
    const_slots: HashMap<u64, Slot>,
    br_targets: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    stack: Vec<Operand>,
    controls: Vec<Control>,
    num_params: u32,
    num_locals: u32,
    temp_base: u32,
    max_height: usize,
    /// Whether the current position can be reached.
    reachable: bool,
    /// Index of the last instruction position that is a branch target.
    label_at: usize,
    /// The function's result count.
    num_results: usize,
    /// The function's index in the module.
    func_index: u32,
}

/// The most slots a frame may have (locals, constants and temporaries).
const MAX_FRAME_SLOTS: usize = 1 << 20;

impl<'a> Translator<'a> {
    /// Translates defined function `defined_index` of `info`.
    pub(crate) fn translate(
        info: &'a ModuleInfo,
        defined_index: usize,
        fuel: bool,
    ) -> Result<CompiledFunc, Error> {
        let func_index = info.num_imported_funcs as usize + defined_index;
        let ty = info.func_type(func_index as u32);
        let num_params = ty.params().len() as u32;
        let num_results = ty.results().len();
        let body = info.body_reader(defined_index);
        let num_locals = num_params as usize + info.bodies[defined_index].locals.len();
        let mut translator = Translator {
            info,
            fuel,
            fuel_costs: if fuel {
                waven_environ::fuel::segment_costs(&body)?
            } else {
                Vec::new()
            },
            loops_seen: 0,
            code: Vec::new(),
            consts: Vec::new(),
            const_slots: HashMap::new(),
            br_targets: Vec::new(),
            pairs: Vec::new(),
            stack: Vec::new(),
            controls: Vec::new(),
            num_params,
            num_locals: num_locals as u32,
            temp_base: 0,
            max_height: 0,
            reachable: true,
            label_at: 0,
            num_results,
            func_index: func_index as u32,
        };
        translator.collect_consts(&body)?;
        translator.temp_base = translator.num_locals + translator.consts.len() as u32;
        translator.controls.push(Control {
            kind: ControlKind::Function,
            height: 0,
            params: 0,
            results: num_results,
            start: 0,
            patches: Vec::new(),
            else_patch: None,
            entered_dead: false,
        });
        // Calls are safepoints themselves; a function needs its own only to
        // be charged fuel.
        if translator.fuel {
            translator.emit_fuel_marker(0);
        }
        let mut reader = body.get_operators_reader().map_err(invalid)?;
        while !reader.eof() {
            let op = reader.read().map_err(invalid)?;
            translator.operator(op)?;
        }
        translator.finish()
    }

    /// Collects the function's constants into the pool, so that the
    /// temporaries' base is known before translation starts.
    fn collect_consts(&mut self, body: &FunctionBody<'_>) -> Result<(), Error> {
        let mut reader = body.get_operators_reader().map_err(invalid)?;
        while !reader.eof() {
            let cell = match reader.read().map_err(invalid)? {
                Operator::I32Const { value } => value as u32 as u64,
                Operator::I64Const { value } => value as u64,
                Operator::F32Const { value } => value.bits() as u64,
                Operator::F64Const { value } => value.bits(),
                Operator::RefNull { .. } => 0,
                _ => continue,
            };
            if !self.const_slots.contains_key(&cell) {
                let slot = self.num_locals + self.consts.len() as u32;
                self.const_slots.insert(cell, slot);
                self.consts.push(cell);
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<CompiledFunc, Error> {
        let max_slots = self.temp_base as usize + self.max_height + 1;
        if max_slots > MAX_FRAME_SLOTS {
            return Err(Error::Unsupported(format!(
                "a function needs {max_slots} value slots (limit {MAX_FRAME_SLOTS})"
            )));
        }
        if self.code.is_empty() || !matches!(self.code.last(), Some(Instr::Return { .. })) {
            // The final `end` emitted the return; this only guards
            // against an empty body.
            self.code.push(Instr::Return { src: 0, count: 0 });
        }
        let func = CompiledFunc {
            index: self.func_index,
            code: self.code.into_boxed_slice(),
            consts: self.consts.into_boxed_slice(),
            num_params: self.num_params,
            num_locals: self.num_locals,
            max_slots: max_slots as u32,
            br_targets: self.br_targets.into_boxed_slice(),
            pairs: self.pairs.into_boxed_slice(),
        };
        crate::interp::exec::verify(&func).map_err(Error::Unsupported)?;
        Ok(func)
    }

    // ------------------------------------------------------------ stack

    /// The temporary of stack height `height`.
    fn temp(&self, height: usize) -> Slot {
        self.temp_base + height as Slot
    }

    fn slot_at(&self, height: usize) -> Slot {
        match self.stack[height] {
            Operand::Temp => self.temp(height),
            Operand::Local(n) => n,
            Operand::Const(slot) => slot,
        }
    }

    /// Pops an operand and returns its slot.
    fn pop(&mut self) -> Slot {
        let height = self.stack.len() - 1;
        let slot = self.slot_at(height);
        self.stack.pop();
        slot
    }

    /// Pushes a temporary and returns its slot.
    fn push_temp(&mut self) -> Slot {
        self.stack.push(Operand::Temp);
        self.max_height = self.max_height.max(self.stack.len());
        self.temp(self.stack.len() - 1)
    }

    fn push(&mut self, operand: Operand) {
        self.stack.push(operand);
        self.max_height = self.max_height.max(self.stack.len());
    }

    fn emit(&mut self, instr: Instr) {
        self.code.push(instr);
    }

    fn pc(&self) -> u32 {
        self.code.len() as u32
    }

    /// Marks the current position as a branch target.
    fn bind_label(&mut self) {
        self.label_at = self.code.len();
    }

    /// Copies the operand at `height` into its temporary.
    fn materialize_at(&mut self, height: usize) {
        if self.stack[height] != Operand::Temp {
            let (dst, src) = (self.temp(height), self.slot_at(height));
            self.emit(Instr::Copy { dst, src });
            self.stack[height] = Operand::Temp;
        }
    }

    /// Copies the top `count` operands into their temporaries.
    fn materialize_top(&mut self, count: usize) {
        let len = self.stack.len();
        for height in len - count..len {
            self.materialize_at(height);
        }
    }

    /// Copies every operand that aliases local `local` into its temporary.
    fn materialize_local(&mut self, local: u32) {
        for height in 0..self.stack.len() {
            if self.stack[height] == Operand::Local(local) {
                self.materialize_at(height);
            }
        }
    }

    /// Copies every operand that aliases a local into its temporary.
    fn materialize_locals(&mut self) {
        for height in 0..self.stack.len() {
            if matches!(self.stack[height], Operand::Local(_)) {
                self.materialize_at(height);
            }
        }
    }

    /// Makes the instruction that just produced `from` write `to` instead,
    /// if that is safe (it is the last instruction and no branch lands
    /// after it).
    fn retarget(&mut self, from: Slot, to: Slot) -> bool {
        if self.code.len() <= self.label_at {
            return false;
        }
        match self.code.last_mut().and_then(Instr::result_slot_mut) {
            Some(dst) if *dst == from => {
                *dst = to;
                true
            }
            _ => false,
        }
    }

    /// Emits a conditional branch on the i32 in `cond` (jumping when it
    /// is non-zero if `when`, when it is zero otherwise). If the last
    /// instruction computed `cond` as an i32 comparison, the comparison and
    /// the branch become one instruction. Returns the branch's index.
    fn emit_branch_if(&mut self, cond: Slot, cond_was_temp: bool, when: bool, to: u32) -> usize {
        if cond_was_temp && self.code.len() > self.label_at {
            let last = self.code.last().expect("non-empty");
            if last.result_slot() == Some(cond) {
                if let Some(fused) = last.fused_branch(when, to) {
                    *self.code.last_mut().expect("non-empty") = fused;
                    return self.code.len() - 1;
                }
            }
        }
        self.emit(if when {
            Instr::BrIfNez { cond, to }
        } else {
            Instr::BrIfEqz { cond, to }
        });
        self.code.len() - 1
    }

    // ------------------------------------------------------------ control

    fn block_arity(&self, ty: BlockType) -> (usize, usize) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(index) => {
                let ty = &self.info.types[index as usize];
                (ty.params().len(), ty.results().len())
            }
        }
    }

    fn push_control(&mut self, kind: ControlKind, ty: BlockType) {
        let (params, results) = self.block_arity(ty);
        let entered_dead = !self.reachable;
        if !entered_dead {
            // Values crossing the boundary live in temporaries, and no
            // operand may alias a local that the block could write.
            self.materialize_locals();
            self.materialize_top(params);
        }
        let height = self.stack.len().saturating_sub(params);
        self.controls.push(Control {
            kind,
            height,
            params,
            results,
            start: self.pc(),
            patches: Vec::new(),
            else_patch: None,
            entered_dead,
        });
        if kind == ControlKind::Loop {
            self.loops_seen += 1;
        }
        if kind == ControlKind::Loop && !entered_dead {
            self.bind_label();
            // Jumps back are safepoints themselves; a loop needs its own
            // only to be charged fuel.
            if self.fuel {
                self.emit_fuel_marker(self.loops_seen);
            }
        }
    }

    /// Emits the `Safepoint` of a function or loop body (only when fuel is
    /// enabled: calls and jumps back are safepoints of their own), which
    /// charges the cost of segment `segment` (see `waven_environ::fuel`).
    fn emit_fuel_marker(&mut self, segment: usize) {
        let cost = self.fuel_costs.get(segment).copied().unwrap_or(0);
        let fuel = u32::try_from(cost).unwrap_or(u32::MAX);
        self.emit(Instr::Safepoint { fuel });
    }

    /// Emits the moves of a branch to the label `depth` levels out.
    fn branch_moves(&mut self, depth: u32) {
        let control = &self.controls[self.controls.len() - 1 - depth as usize];
        let arity = if control.kind == ControlKind::Loop {
            control.params
        } else {
            control.results
        };
        let target = control.height;
        let len = self.stack.len();
        for i in 0..arity {
            let (dst, src) = (self.temp(target + i), self.slot_at(len - arity + i));
            if dst != src {
                self.emit(Instr::Copy { dst, src });
            }
        }
    }

    /// Whether a branch to the label `depth` levels out moves values.
    fn branch_needs_moves(&self, depth: u32) -> bool {
        let control = &self.controls[self.controls.len() - 1 - depth as usize];
        let arity = if control.kind == ControlKind::Loop {
            control.params
        } else {
            control.results
        };
        let len = self.stack.len();
        (0..arity).any(|i| self.temp(control.height + i) != self.slot_at(len - arity + i))
    }

    /// Emits an unconditional jump (after its moves) to the label `depth`
    /// levels out; a branch to the function's label returns.
    fn jump_to(&mut self, depth: u32) {
        let index = self.controls.len() - 1 - depth as usize;
        if self.controls[index].kind == ControlKind::Function {
            self.emit_return();
            return;
        }
        self.branch_moves(depth);
        let at = self.code.len();
        let control = &mut self.controls[index];
        if control.kind == ControlKind::Loop {
            let to = control.start;
            self.emit(Instr::Br { to });
        } else {
            control.patches.push(Patch::Instr(at));
            self.emit(Instr::Br { to: u32::MAX });
        }
    }

    /// Returns the function's results from the top of the stack.
    fn emit_return(&mut self) {
        let count = self.num_results;
        let instr = match count {
            0 => Instr::Return { src: 0, count: 0 },
            1 => Instr::Return {
                src: self.slot_at(self.stack.len() - 1),
                count: 1,
            },
            _ => {
                // Gather the results in their temporaries. The operand
                // stack is left as it is: this may be one path of several
                // (a branch), and the others must still see the aliases.
                let len = self.stack.len();
                for height in len - count..len {
                    let (dst, src) = (self.temp(height), self.slot_at(height));
                    if dst != src {
                        self.emit(Instr::Copy { dst, src });
                    }
                }
                Instr::Return {
                    src: self.temp(len - count),
                    count: count as u32,
                }
            }
        };
        self.emit(instr);
    }

    /// The rest of the current block is unreachable.
    fn mark_unreachable(&mut self) {
        let control = self.controls.last().expect("inside a function");
        self.stack.truncate(control.height);
        self.reachable = false;
    }

    fn patch(&mut self, patch: Patch, to: u32) {
        match patch {
            Patch::Table(index) => self.br_targets[index] = to,
            Patch::Instr(index) => match self.code[index].branch_target_mut() {
                Some(target) => *target = to,
                None => unreachable!("patching {:?}", self.code[index]),
            },
        }
    }

    fn op_else(&mut self) {
        let control = self.controls.last_mut().expect("validated");
        control.kind = ControlKind::Else;
        if control.entered_dead {
            return;
        }
        if self.reachable {
            // The then-branch falls through to the end.
            let results = self.controls.last().expect("validated").results;
            self.materialize_top(results);
            let at = self.code.len();
            self.controls
                .last_mut()
                .expect("validated")
                .patches
                .push(Patch::Instr(at));
            self.emit(Instr::Br { to: u32::MAX });
        }
        let control = self.controls.last_mut().expect("validated");
        let else_patch = control.else_patch.take();
        let (height, params) = (control.height, control.params);
        if let Some(at) = else_patch {
            let to = self.pc();
            self.patch(Patch::Instr(at), to);
        }
        self.bind_label();
        // The else-branch starts with the if's parameters, which were put
        // in their temporaries when the if was entered.
        self.stack.truncate(height);
        for _ in 0..params {
            self.push(Operand::Temp);
        }
        self.reachable = true;
    }

    fn op_end(&mut self) {
        let control = self.controls.pop().expect("validated");
        if control.entered_dead {
            return;
        }
        if control.kind == ControlKind::Function {
            if self.reachable {
                self.emit_return();
            }
            return;
        }
        if self.reachable {
            self.materialize_top(control.results);
        }
        // An if without else: the false branch reaches the end with the
        // parameters as results (validation requires equal types).
        let implicit_else = control.kind == ControlKind::If;
        let end_reached = self.reachable || !control.patches.is_empty() || implicit_else;
        let to = self.pc();
        for patch in control.patches {
            self.patch(patch, to);
        }
        if let Some(at) = control.else_patch {
            self.patch(Patch::Instr(at), to);
        }
        self.bind_label();
        self.stack.truncate(control.height);
        for _ in 0..control.results {
            self.push(Operand::Temp);
        }
        self.reachable = end_reached;
    }

    fn op_br_table(&mut self, index: Slot, targets: &[u32], default: u32) {
        // Direct entries for targets without moves; for the others, a
        // trampoline after the table that moves the values and jumps.
        let first = self.br_targets.len();
        let len = targets.len() + 1;
        self.br_targets.resize(first + len, u32::MAX);
        self.emit(Instr::BrTable {
            index,
            first: first as u32,
            len: len as u32,
        });
        let all = targets.iter().copied().chain(std::iter::once(default));
        for (entry, depth) in all.enumerate() {
            let slot = first + entry;
            let target = self.controls.len() - 1 - depth as usize;
            let direct = !self.branch_needs_moves(depth)
                && self.controls[target].kind != ControlKind::Function;
            if direct {
                let control = &mut self.controls[target];
                if control.kind == ControlKind::Loop {
                    self.br_targets[slot] = control.start;
                } else {
                    control.patches.push(Patch::Table(slot));
                }
            } else {
                self.br_targets[slot] = self.pc();
                self.jump_to(depth);
            }
        }
    }
}

fn invalid(error: wasmparser::BinaryReaderError) -> Error {
    Error::InvalidModule {
        message: error.message().to_string(),
        offset: error.offset() as usize,
    }
}
