//! Structured control flow: blocks, loops, ifs, branches and return.
//!
//! Every block's results arrive as parameters of its `dest` block, a
//! loop's parameters as parameters of its header. Code after an
//! unconditional branch is unreachable until the end (or `else`) of the
//! enclosing block; it is skipped, counting the blocks it opens.

use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, JumpTableData, Type};
use wasmparser::{BlockType, Operator};
use waven_environ::vm::{offsets, TrapCode};
use waven_environ::ValType;

use super::{clif_type, Frame, FrameKind, FuncTranslator};
use crate::CompileError;

/// Values as branch arguments.
fn args(values: &[cranelift_codegen::ir::Value]) -> Vec<BlockArg> {
    values.iter().map(|&v| BlockArg::Value(v)).collect()
}

impl FuncTranslator<'_> {
    /// The parameter and result types of a block type.
    fn block_types(&self, ty: BlockType) -> (Vec<Type>, Vec<Type>) {
        match ty {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(ty) => (Vec::new(), vec![clif_type(ValType::from_wasmparser(ty))]),
            BlockType::FuncType(index) => {
                let ty = &self.info.types[index as usize];
                (
                    ty.params().iter().map(|&t| clif_type(t)).collect(),
                    ty.results().iter().map(|&t| clif_type(t)).collect(),
                )
            }
        }
    }

    /// A new block with parameters of `types`.
    fn block_with_params(&mut self, types: &[Type]) -> Block {
        let block = self.b.create_block();
        for &ty in types {
            self.b.append_block_param(block, ty);
        }
        block
    }

    /// Translates a control operator; `false` if `op` is none.
    pub(super) fn translate_control(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::Nop => {}
            Operator::Unreachable => self.trap(TrapCode::Unreachable),
            Operator::Block { blockty } => {
                let (params, results) = self.block_types(*blockty);
                let dest = self.block_with_params(&results);
                self.frames.push(Frame {
                    kind: FrameKind::Block,
                    dest,
                    dest_reached: false,
                    base: self.stack.len() - params.len(),
                    params,
                    results,
                });
            }
            Operator::Loop { blockty } => {
                self.loops_seen += 1;
                let cost = self.fuel_costs.get(self.loops_seen).copied().unwrap_or(0);
                let (params, results) = self.block_types(*blockty);
                let header = self.block_with_params(&params);
                let entry = self.pop_n(params.len());
                self.enter_loop_slots();
                self.b.ins().jump(header, &args(&entry));
                self.b.switch_to_block(header);
                let base = self.stack.len();
                self.stack.extend_from_slice(self.b.block_params(header));
                let dest = self.block_with_params(&results);
                self.safepoint(cost);
                self.frames.push(Frame {
                    kind: FrameKind::Loop { header },
                    dest,
                    dest_reached: false,
                    base,
                    params,
                    results,
                });
            }
            Operator::If { blockty } => {
                let cond = self.pop();
                let (params, results) = self.block_types(*blockty);
                let then_block = self.b.create_block();
                let else_block = self.block_with_params(&params);
                let entry = args(self.peek_n(params.len()));
                self.b.ins().brif(cond, then_block, &[], else_block, &entry);
                self.b.switch_to_block(then_block);
                self.b.seal_block(then_block);
                let dest = self.block_with_params(&results);
                self.frames.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        has_else: false,
                    },
                    dest,
                    dest_reached: false,
                    base: self.stack.len() - params.len(),
                    params,
                    results,
                });
            }
            Operator::Else => self.translate_else(),
            Operator::End => self.translate_end(),
            Operator::Br { relative_depth } => {
                self.branch(*relative_depth);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                let (target, values) = self.branch_target(*relative_depth);
                let cont = self.b.create_block();
                self.b.ins().brif(cond, target, &args(&values), cont, &[]);
                self.b.switch_to_block(cont);
                self.b.seal_block(cont);
            }
            Operator::BrTable { targets } => {
                let index = self.pop();
                let read_error = |e: wasmparser::BinaryReaderError| CompileError::InvalidBody {
                    func: self.func_index,
                    message: e.to_string(),
                };
                let depths = targets
                    .targets()
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(read_error)?;
                self.br_table(index, &depths, targets.default());
                self.reachable = false;
            }
            Operator::Return => {
                let values = args(self.peek_n(self.results.len()));
                self.b.ins().jump(self.ret_block, &values);
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Skips an operator of unreachable code, keeping track of blocks.
    pub(super) fn translate_dead(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. } | Operator::If { .. } => self.dead_depth += 1,
            Operator::Loop { .. } => {
                self.loops_seen += 1;
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => self.translate_else(),
            Operator::End if self.dead_depth == 0 => self.translate_end(),
            Operator::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    /// The block a branch of `depth` goes to and the values it carries
    /// (marking the destination reached).
    fn branch_target(&mut self, depth: u32) -> (Block, Vec<cranelift_codegen::ir::Value>) {
        let index = self.frames.len() - 1 - depth as usize;
        let frame = &mut self.frames[index];
        let n = frame.branch_types().len();
        let target = match frame.kind {
            FrameKind::Loop { header } => header,
            _ => {
                frame.dest_reached = true;
                frame.dest
            }
        };
        (target, self.peek_n(n).to_vec())
    }

    /// An unconditional branch of `depth`.
    fn branch(&mut self, depth: u32) {
        let (target, values) = self.branch_target(depth);
        self.b.ins().jump(target, &args(&values));
    }

    /// `br_table`: a jump table; branches carrying values go through one
    /// small block per distinct target.
    fn br_table(&mut self, index: cranelift_codegen::ir::Value, depths: &[u32], default: u32) {
        let mut edges: Vec<(u32, Block)> = Vec::new();
        let mut pending: Vec<(Block, Block, Vec<cranelift_codegen::ir::Value>)> = Vec::new();
        let mut edge = |this: &mut Self, depth: u32| -> Block {
            if let Some(&(_, block)) = edges.iter().find(|(d, _)| *d == depth) {
                return block;
            }
            let (target, values) = this.branch_target(depth);
            let block = if values.is_empty() {
                target
            } else {
                let block = this.b.create_block();
                pending.push((block, target, values));
                block
            };
            edges.push((depth, block));
            block
        };
        let default_block = edge(self, default);
        let blocks: Vec<Block> = depths.iter().map(|&d| edge(self, d)).collect();
        let default_call = self.b.func.dfg.block_call(default_block, &[]);
        let calls: Vec<_> = blocks
            .iter()
            .map(|&block| self.b.func.dfg.block_call(block, &[]))
            .collect();
        let table = self
            .b
            .create_jump_table(JumpTableData::new(default_call, &calls));
        self.b.ins().br_table(index, table);
        for (block, target, values) in pending {
            self.b.switch_to_block(block);
            self.b.seal_block(block);
            self.b.ins().jump(target, &args(&values));
        }
    }

    /// `else`: closes the `then` arm and opens the `else` arm.
    fn translate_else(&mut self) {
        let reachable = self.reachable;
        let frame = self.frames.last_mut().expect("validated: else in an if");
        let FrameKind::If { else_block, .. } = frame.kind else {
            unreachable!("validated: else in an if")
        };
        frame.kind = FrameKind::If {
            else_block,
            has_else: true,
        };
        let (dest, base, n) = (frame.dest, frame.base, frame.results.len());
        if reachable {
            frame.dest_reached = true;
            let values = self.pop_n(n);
            self.b.ins().jump(dest, &args(&values));
        }
        self.b.switch_to_block(else_block);
        self.b.seal_block(else_block);
        self.stack.truncate(base);
        self.stack
            .extend_from_slice(self.b.block_params(else_block));
        self.reachable = true;
    }

    /// `end` of a block, loop, if or of the function.
    fn translate_end(&mut self) {
        let mut frame = self.frames.pop().expect("validated: end closes a block");
        self.leave_loop_slots();
        if self.reachable {
            frame.dest_reached = true;
            let values = self.pop_n(frame.results.len());
            self.b.ins().jump(frame.dest, &args(&values));
        }
        match frame.kind {
            FrameKind::If {
                else_block,
                has_else: false,
            } => {
                // No else arm: the parameters pass through as results.
                self.b.switch_to_block(else_block);
                self.b.seal_block(else_block);
                let values = self.b.block_params(else_block).to_vec();
                self.b.ins().jump(frame.dest, &args(&values));
                frame.dest_reached = true;
            }
            FrameKind::Loop { header } => self.b.seal_block(header),
            _ => {}
        }
        self.stack.truncate(frame.base);
        if self.frames.is_empty() {
            self.emit_return_block();
            self.reachable = false;
            return;
        }
        self.b.switch_to_block(frame.dest);
        self.b.seal_block(frame.dest);
        self.stack
            .extend_from_slice(self.b.block_params(frame.dest));
        self.reachable = frame.dest_reached;
    }

    /// The return block: gives the call's depth back and returns.
    fn emit_return_block(&mut self) {
        self.b.switch_to_block(self.ret_block);
        let flags = self.vm_flags();
        let depth = self.b.ins().load(
            cranelift_codegen::ir::types::I64,
            flags,
            self.runtime,
            offsets::RUNTIME_DEPTH_LEFT,
        );
        let depth = self.b.ins().iadd_imm_s(depth, 1);
        self.b
            .ins()
            .store(flags, depth, self.runtime, offsets::RUNTIME_DEPTH_LEFT);
        let values = self.b.block_params(self.ret_block).to_vec();
        self.b.ins().return_(&values);
    }
}
