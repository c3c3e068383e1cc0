//! A pass over a function body before its translation: which loads are
//! followed, in the same stretch of straight-line code, by a store through
//! the same pointer (`p[i] += x`, a swap, a counter update).
//!
//! Such a load translates through the write table (falling back to the
//! read table when the page is not writable), so that the store reuses its
//! translation instead of looking up the write table again (see `Reuse` in
//! `memory.rs`). The answer is a hint: whatever it says, every access
//! stays correct; a wrong hint only costs a lookup.
//!
//! The pass follows the operand stack symbolically: an `i32` value is
//! `root + constant` when an addition or subtraction of a constant made it
//! (locals carry their symbolic value), and two indices are the same
//! pointer when their roots are. A stretch ends where the translator's
//! does (`forget_memory_views`): at control operators, calls and `memory.*`
//! operators other than loads and stores.

use wasmparser::{
    BlockType, ContType, FrameKind, FuncType, ModuleArity, Operator, OperatorsReader, RefType,
    SubType,
};

use super::is_load_or_store;

/// A symbolic operand: `root + offset`, with a root that names one value.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Symbol {
    root: u32,
    offset: i64,
}

/// The root of constants (`0 + c`).
const ZERO: u32 = 0;

/// The positions (operator ordinals in the body), ascending, of loads to
/// translate through the write table.
pub(super) fn loads_before_stores(
    reader: OperatorsReader<'_>,
) -> Result<Vec<usize>, wasmparser::BinaryReaderError> {
    let mut pass = Pass::default();
    for (position, op) in reader.into_iter().enumerate() {
        pass.step(position, &op?);
    }
    pass.found.sort_unstable();
    pass.found.dedup();
    Ok(pass.found)
}

#[derive(Default)]
struct Pass {
    /// The operand stack of this stretch (values from before it are not
    /// known: popping past the bottom gives a fresh root).
    stack: Vec<Symbol>,
    /// Symbolic values of locals, each with the stretch it belongs to (an
    /// older one is unknown).
    locals: Vec<(u32, Symbol)>,
    /// The number of the current stretch.
    stretch: u32,
    /// Loads of this stretch: their roots and positions.
    loads: Vec<(u32, usize)>,
    /// The last root given out.
    roots: u32,
    found: Vec<usize>,
}

impl Pass {
    fn fresh(&mut self) -> Symbol {
        self.roots += 1;
        Symbol {
            root: self.roots,
            offset: 0,
        }
    }

    fn pop(&mut self) -> Symbol {
        self.stack.pop().unwrap_or_else(|| self.fresh())
    }

    fn push_fresh(&mut self, count: u32) {
        for _ in 0..count {
            let symbol = self.fresh();
            self.stack.push(symbol);
        }
    }

    /// Ends the stretch.
    fn end_stretch(&mut self) {
        self.stack.clear();
        self.stretch += 1;
        self.loads.clear();
    }

    /// The symbolic value of local `index` in this stretch.
    fn local(&mut self, index: u32) -> Option<Symbol> {
        match self.locals.get(index as usize) {
            Some(&(stretch, symbol)) if stretch == self.stretch => Some(symbol),
            _ => None,
        }
    }

    fn set_local(&mut self, index: u32, symbol: Symbol) {
        let index = index as usize;
        if index >= self.locals.len() {
            // Locals are at most 50,000 (wasmparser's limit).
            self.locals.resize(index + 1, (u32::MAX, symbol));
        }
        self.locals[index] = (self.stretch, symbol);
    }

    fn step(&mut self, position: usize, op: &Operator<'_>) {
        use Operator as O;
        match op {
            O::I32Const { value } => self.stack.push(Symbol {
                root: ZERO,
                offset: i64::from(*value),
            }),
            O::LocalGet { local_index } => {
                let symbol = match self.local(*local_index) {
                    Some(symbol) => symbol,
                    None => {
                        let symbol = self.fresh();
                        self.set_local(*local_index, symbol);
                        symbol
                    }
                };
                self.stack.push(symbol);
            }
            O::LocalSet { local_index } => {
                let symbol = self.pop();
                self.set_local(*local_index, symbol);
            }
            O::LocalTee { local_index } => {
                let symbol = self.pop();
                self.set_local(*local_index, symbol);
                self.stack.push(symbol);
            }
            O::I32Add | O::I32Sub => {
                let b = self.pop();
                let a = self.pop();
                let sum = match (a, b) {
                    (a, b) if b.root == ZERO && matches!(op, O::I32Add) => Some(Symbol {
                        offset: a.offset.wrapping_add(b.offset),
                        ..a
                    }),
                    (a, b) if b.root == ZERO => Some(Symbol {
                        offset: a.offset.wrapping_sub(b.offset),
                        ..a
                    }),
                    (a, b) if a.root == ZERO && matches!(op, O::I32Add) => Some(Symbol {
                        offset: a.offset.wrapping_add(b.offset),
                        ..b
                    }),
                    _ => None,
                };
                match sum {
                    Some(symbol) => self.stack.push(symbol),
                    None => self.push_fresh(1),
                }
            }
            _ if is_load_or_store(op) => {
                let (params, results) = op.operator_arity(&NoModule).unwrap_or((1, 1));
                if params == 2 {
                    self.pop(); // the value
                    let index = self.pop();
                    for &(root, load) in &self.loads {
                        if root == index.root {
                            self.found.push(load);
                        }
                    }
                } else {
                    let index = self.pop();
                    self.loads.push((index.root, position));
                }
                self.push_fresh(results);
            }
            _ => match op.operator_arity(&NoModule) {
                Some((params, results)) if !ends_stretch(op) => {
                    for _ in 0..params {
                        self.pop();
                    }
                    self.push_fresh(results);
                }
                _ => self.end_stretch(),
            },
        }
    }
}

/// Whether `op` ends a stretch (or may have an arity that depends on the
/// module): control operators, calls, and the `memory.*` operators, which
/// may move or change memory.
pub(super) fn ends_stretch(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Block { .. }
            | O::Loop { .. }
            | O::If { .. }
            | O::Else
            | O::End
            | O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::Call { .. }
            | O::CallIndirect { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::MemorySize { .. }
            | O::MemoryGrow { .. }
            | O::MemoryFill { .. }
            | O::MemoryCopy { .. }
            | O::MemoryInit { .. }
            | O::DataDrop { .. }
            | O::MemoryDiscard { .. }
            | O::Unreachable
            | O::Nop
            | O::Return
    )
}

/// Module facts for operator arities: none, so every operator whose arity
/// depends on the module (calls, blocks, branches) has none and ends the
/// stretch.
pub(super) struct NoModule;

impl ModuleArity for NoModule {
    fn sub_type_at(&self, _: u32) -> Option<&SubType> {
        None
    }
    fn tag_type_arity(&self, _: u32) -> Option<(u32, u32)> {
        None
    }
    fn type_index_of_function(&self, _: u32) -> Option<u32> {
        None
    }
    fn func_type_of_cont_type(&self, _: &ContType) -> Option<&FuncType> {
        None
    }
    fn sub_type_of_ref_type(&self, _: &RefType) -> Option<&SubType> {
        None
    }
    fn control_stack_height(&self) -> u32 {
        0
    }
    fn label_block(&self, _: u32) -> Option<(BlockType, FrameKind)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(body: &str) -> Vec<usize> {
        let text = format!("(module (memory 1) (func (param i32 i32) (local i32) {body}))");
        let wasm = wat::parse_str(text).unwrap();
        let info = waven_environ::module::ModuleInfo::parse(&wasm).unwrap();
        let reader = info.body_reader(0).get_operators_reader().unwrap();
        loads_before_stores(reader).unwrap()
    }

    #[test]
    fn a_load_then_a_store_through_the_same_pointer_is_found() {
        // 0 local.get 0, 1 local.get 0, 2 i32.load, 3 i32.const 1,
        // 4 i32.add, 5 i32.store
        assert_eq!(
            found("(i32.store (local.get 0) (i32.add (i32.load (local.get 0)) (i32.const 1)))"),
            [2]
        );
        // Through a local and a constant offset.
        assert_eq!(
            found(
                "(local.set 2 (i32.add (local.get 0) (i32.const 8)))
                 (i32.store (i32.sub (local.get 2) (i32.const 4)) (i32.load (local.get 0)))"
            ),
            [8]
        );
    }

    #[test]
    fn other_pointers_and_later_stretches_are_not() {
        assert!(found("(i32.store (local.get 1) (i32.load (local.get 0)))").is_empty());
        // A block between the load and the store ends the stretch.
        assert!(found(
            "(local.set 2 (i32.load (local.get 0)))
             (block (i32.store (local.get 0) (local.get 2)))"
        )
        .is_empty());
        // So does a redefinition of the pointer's local (a new root).
        assert!(found(
            "(local.set 2 (i32.load (local.get 0)))
             (local.set 0 (local.get 1))
             (i32.store (local.get 0) (local.get 2))"
        )
        .is_empty());
    }
}
