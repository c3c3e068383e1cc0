//! A pass over a function body before its translation: which accesses in
//! loops walk memory in steps, so that a translation kept from the last
//! pass of the loop likely serves the next (see `loop_slots.rs`). A nest
//! of loops keeps at most 16, the most deeply nested first.
//!
//! An access qualifies when its index, within its innermost loop, is built
//! by additions, subtractions, multiplications and shifts from constants,
//! locals the loop does not assign, and locals the loop assigns only such
//! values (an induction variable `i = i + 8`, a pointer `p = base + i`).
//! So does one that adds such a value to a small range (a value masked by
//! a constant below the page size, such as a table index `x & 0xff`).
//! An index that depends on a loaded value or on other arithmetic (a hash,
//! a pointer chase) otherwise does not: its translations rarely serve twice, and
//! keeping them would cost each pass a load, a compare and two stores.
//! The answer is a hint: every access stays correct whatever it says.

use std::collections::HashMap;

use wasmparser::{Operator, OperatorsReader};

use super::is_load_or_store;
use super::lookahead::{ends_stretch, NoModule};

/// How an `i32` value changes from one pass of the innermost loop to the
/// next (ordered: the join of two kinds is the larger).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    /// The same on every pass.
    Invariant,
    /// A small range of values (masked by a constant below a page, like
    /// a table index `x & 0xff`): its accesses stay within a page or two.
    Bounded,
    /// Arithmetic of invariants and induction variables.
    Stepping,
    /// Anything else.
    Other,
}

/// The page size of the software MMU's tables.
const PAGE_SIZE: i64 = 4096;

/// Loops nested deeper than this count as part of their enclosing loop at
/// this depth (bounds the work per `local.set`).
const MAX_LOOP_DEPTH: usize = 8;

/// The most accesses of one loop nest that keep translations (each has a
/// stack slot, voided when the nest is entered).
const MAX_SITES_PER_NEST: usize = 16;

/// Rounds of the pass: each refines the kinds of the locals that loops
/// assign; the kinds only rise, and more rounds rarely change an answer.
const MAX_ROUNDS: usize = 4;

/// Accesses to keep loop translations for.
pub(super) struct LoopPlan {
    /// The positions (operator ordinals) of the accesses, ascending.
    pub(super) sites: Vec<usize>,
    /// Each outermost loop's position with the number of those accesses
    /// inside it, ascending (loops without any left out).
    pub(super) nests: Vec<(usize, u32)>,
}

/// Plans the loop translations of a body.
pub(super) fn plan(reader: OperatorsReader<'_>) -> Result<LoopPlan, wasmparser::BinaryReaderError> {
    // The kinds of the locals each loop (by position) assigns.
    let mut assigned: HashMap<usize, HashMap<u32, Kind>> = HashMap::new();
    let mut round = 0;
    loop {
        let mut pass = Pass::new(&assigned);
        for (position, op) in reader.clone().into_iter().enumerate() {
            pass.step(position, &op?);
        }
        round += 1;
        if pass.assigned == assigned || round == MAX_ROUNDS {
            let mut sites = pass.sites;
            sites.sort_unstable();
            return Ok(LoopPlan {
                sites,
                nests: pass.nests,
            });
        }
        assigned = pass.assigned;
    }
}

/// A loop being read.
struct OpenLoop {
    position: usize,
    /// Accesses whose innermost loop this is and whose index qualifies.
    sites: Vec<usize>,
    /// Whether a call or a `memory.*` operator lies inside (they void
    /// every kept translation, so keeping them would not pay).
    calls: bool,
}

struct Pass<'a> {
    /// The last round's kinds of assigned locals, by loop.
    previous: &'a HashMap<usize, HashMap<u32, Kind>>,
    /// This round's.
    assigned: HashMap<usize, HashMap<u32, Kind>>,
    /// The operand stack of this stretch of straight-line code, with the
    /// values of constants.
    stack: Vec<(Kind, Option<i64>)>,
    /// Kinds of locals set in this stretch, with the stretch.
    locals: HashMap<u32, (u32, Kind)>,
    stretch: u32,
    /// Open blocks: whether each opened a tracked loop.
    open: Vec<bool>,
    /// The open tracked loops, innermost last.
    loops: Vec<OpenLoop>,
    /// Qualifying accesses of the open outermost loop, with the depth of
    /// their loop.
    nest_sites: Vec<(usize, usize)>,
    sites: Vec<usize>,
    nests: Vec<(usize, u32)>,
}

impl<'a> Pass<'a> {
    fn new(previous: &'a HashMap<usize, HashMap<u32, Kind>>) -> Pass<'a> {
        Pass {
            previous,
            assigned: HashMap::new(),
            stack: Vec::new(),
            locals: HashMap::new(),
            stretch: 0,
            open: Vec::new(),
            loops: Vec::new(),
            nest_sites: Vec::new(),
            sites: Vec::new(),
            nests: Vec::new(),
        }
    }

    fn pop(&mut self) -> Kind {
        self.pop_entry().0
    }

    fn pop_entry(&mut self) -> (Kind, Option<i64>) {
        self.stack.pop().unwrap_or((Kind::Other, None))
    }

    fn push(&mut self, kind: Kind) {
        self.stack.push((kind, None));
    }

    fn end_stretch(&mut self) {
        self.stack.clear();
        self.stretch += 1;
    }

    fn local(&self, index: u32) -> Kind {
        if let Some(&(stretch, kind)) = self.locals.get(&index) {
            if stretch == self.stretch {
                return kind;
            }
        }
        match self.loops.last() {
            Some(innermost) => self
                .previous
                .get(&innermost.position)
                .and_then(|locals| locals.get(&index))
                .copied()
                .unwrap_or(Kind::Invariant),
            None => Kind::Other,
        }
    }

    fn set_local(&mut self, index: u32, kind: Kind) {
        self.locals.insert(index, (self.stretch, kind));
        // An induction variable is stepping in its loop whatever its own
        // kind says (it rises to `Stepping` in the next round at most).
        let kind = kind.max(Kind::Stepping);
        for open in &self.loops {
            let entry = self
                .assigned
                .entry(open.position)
                .or_default()
                .entry(index)
                .or_insert(kind);
            *entry = (*entry).max(kind);
        }
    }

    fn step(&mut self, position: usize, op: &Operator<'_>) {
        use Operator as O;
        match op {
            O::Loop { .. } => {
                self.end_stretch();
                let tracked = self.loops.len() < MAX_LOOP_DEPTH;
                if tracked {
                    self.loops.push(OpenLoop {
                        position,
                        sites: Vec::new(),
                        calls: false,
                    });
                }
                self.open.push(tracked);
            }
            O::Block { .. } | O::If { .. } => {
                self.end_stretch();
                self.open.push(false);
            }
            O::End => {
                self.end_stretch();
                if self.open.pop() == Some(true) {
                    self.close_loop();
                }
            }
            O::I32Const { value } => self.stack.push((Kind::Invariant, Some(i64::from(*value)))),
            O::LocalGet { local_index } => {
                let kind = self.local(*local_index);
                self.push(kind);
            }
            O::LocalSet { local_index } => {
                let kind = self.pop();
                self.set_local(*local_index, kind);
            }
            O::LocalTee { local_index } => {
                let kind = self.pop();
                self.set_local(*local_index, kind);
                self.push(kind);
            }
            O::I32Add | O::I32Sub | O::I32Mul | O::I32Shl => {
                let (b, a) = (self.pop(), self.pop());
                self.push(a.max(b));
            }
            O::I32And => {
                let (b, a) = (self.pop_entry(), self.pop_entry());
                let small = |(_, constant): (Kind, Option<i64>)| {
                    constant.is_some_and(|c| (0..PAGE_SIZE).contains(&c))
                };
                let kind = if small(a) || small(b) {
                    a.0.max(b.0).min(Kind::Bounded)
                } else {
                    Kind::Other
                };
                self.push(kind);
            }
            _ if is_load_or_store(op) => {
                let (params, results) = op.operator_arity(&NoModule).unwrap_or((1, 1));
                if params == 2 {
                    self.pop();
                }
                let index = self.pop();
                if let Some(innermost) = self.loops.last_mut() {
                    if index != Kind::Other {
                        innermost.sites.push(position);
                    }
                }
                for _ in 0..results {
                    self.push(Kind::Other);
                }
            }
            _ => match op.operator_arity(&NoModule) {
                Some((params, results)) if !ends_stretch(op) => {
                    for _ in 0..params {
                        self.pop();
                    }
                    for _ in 0..results {
                        self.push(Kind::Other);
                    }
                }
                _ => {
                    if voids_translations(op) {
                        if let Some(innermost) = self.loops.last_mut() {
                            innermost.calls = true;
                        }
                    }
                    self.end_stretch();
                }
            },
        }
    }

    /// At the `end` of a tracked loop: its accesses count unless it calls;
    /// at the end of an outermost loop, the most deeply nested of its
    /// nest's accesses are chosen.
    fn close_loop(&mut self) {
        let Some(closed) = self.loops.pop() else {
            return;
        };
        let depth = self.loops.len() + 1;
        // The enclosing loop calls whenever this one does.
        if let Some(outer) = self.loops.last_mut() {
            outer.calls |= closed.calls;
        }
        if !closed.calls {
            self.nest_sites
                .extend(closed.sites.iter().map(|&site| (depth, site)));
        }
        if !self.loops.is_empty() || self.nest_sites.is_empty() {
            return;
        }
        self.nest_sites
            .sort_unstable_by_key(|&(depth, site)| (std::cmp::Reverse(depth), site));
        self.nest_sites.truncate(MAX_SITES_PER_NEST);
        self.nests
            .push((closed.position, self.nest_sites.len() as u32));
        self.sites
            .extend(self.nest_sites.drain(..).map(|(_, site)| site));
    }
}

/// Whether `op` voids kept translations (a call, or a `memory.*` operator
/// that may change the tables).
fn voids_translations(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Call { .. }
            | O::CallIndirect { .. }
            | O::MemoryGrow { .. }
            | O::MemoryFill { .. }
            | O::MemoryCopy { .. }
            | O::MemoryInit { .. }
            | O::MemoryDiscard { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accesses `body` keeps loop translations for.
    fn sites(body: &str) -> Vec<usize> {
        let text = format!("(module (memory 1) (func (param i32 i32) (local i32 i32) {body}))");
        let wasm = wat::parse_str(text).unwrap();
        let info = waven_environ::module::ModuleInfo::parse(&wasm).unwrap();
        let reader = info.body_reader(0).get_operators_reader().unwrap();
        plan(reader).unwrap().sites
    }

    #[test]
    fn an_array_walk_by_an_induction_variable_qualifies() {
        // 0 loop, 1 local.get 0, 2 local.get 2, 3 i32.add, 4 i32.load,
        // 5 drop, 6 local.get 2, 7 i32.const 8, 8 i32.add, 9 local.set 2,
        // 10 br 0, 11 end
        let body = "(loop
            (drop (i32.load (i32.add (local.get 0) (local.get 2))))
            (local.set 2 (i32.add (local.get 2) (i32.const 8)))
            (br 0))";
        assert_eq!(sites(body), [4]);
        // Through a local the loop assigns from the induction variable, in
        // an earlier stretch.
        let body = "(loop
            (local.set 3 (i32.add (local.get 0) (local.get 2)))
            (block (drop (i32.load (local.get 3))))
            (local.set 2 (i32.add (local.get 2) (i32.const 8)))
            (br 0))";
        assert_eq!(sites(body).len(), 1);
    }

    #[test]
    fn a_pointer_chase_and_accesses_outside_loops_do_not() {
        let chase = "(loop
            (local.set 2 (i32.load (local.get 2)))
            (br_if 0 (local.get 2)))";
        assert!(sites(chase).is_empty());
        // A hashed index: `xor` is not stepping arithmetic.
        let hashed = "(loop
            (drop (i32.load (i32.xor (local.get 2) (local.get 1))))
            (local.set 2 (i32.add (local.get 2) (i32.const 1)))
            (br 0))";
        assert!(sites(hashed).is_empty());
        // Unless masked to a small range, as a table index (the load is
        // operator 10).
        let table = "(loop
            (drop (i32.load (i32.add (local.get 0)
                                     (i32.shl (i32.and (i32.xor (local.get 2) (local.get 1))
                                                       (i32.const 255))
                                              (i32.const 2)))))
            (local.set 2 (i32.add (local.get 2) (i32.const 1)))
            (br 0))";
        assert_eq!(sites(table), [10]);
        assert!(sites("(drop (i32.load (local.get 0)))").is_empty());
        // A loop that calls voids its translations on every pass.
        let calling = "(loop
            (drop (i32.load (local.get 2)))
            (memory.fill (local.get 0) (i32.const 0) (i32.const 4))
            (local.set 2 (i32.add (local.get 2) (i32.const 4)))
            (br 0))";
        assert!(sites(calling).is_empty());
    }

    #[test]
    fn nests_count_their_accesses() {
        let text = "(module (memory 1) (func (param i32) (local i32)
            (loop (loop (drop (i32.load (local.get 0))) (br 1)))
            (drop (i32.load (local.get 0)))
            (loop (drop (i32.load (local.get 0))) (drop (i32.load (local.get 1))))))";
        let wasm = wat::parse_str(text).unwrap();
        let info = waven_environ::module::ModuleInfo::parse(&wasm).unwrap();
        let reader = info.body_reader(0).get_operators_reader().unwrap();
        let plan = plan(reader).unwrap();
        assert_eq!(plan.nests.iter().map(|n| n.1).collect::<Vec<_>>(), [1, 2]);
    }
}
