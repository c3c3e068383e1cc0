//! Fuel: what executing a stretch of code costs, the same on every engine.
//!
//! A function body is cut into *segments*: the function's own segment
//! starts at its entry, and each `loop` starts a segment of its own (its
//! body, from the `loop` to its `end`). A segment's cost is the number of
//! Wasm operators in it, the operators of nested loops excluded (they
//! belong to those loops; the nested `loop` operator itself belongs to the
//! enclosing segment, its `end` to the loop's).
//!
//! Each time a segment starts (a call enters the function, or a loop
//! iteration begins) the engine charges its whole cost: with less fuel
//! left than the cost, execution traps with "all fuel consumed" and the
//! fuel is unchanged; otherwise the cost is subtracted. Because the costs
//! come from the Wasm operators only, the interpreter and the compiled
//! engine run out of fuel at the same point of the same program.

use wasmparser::{FunctionBody, Operator};

use crate::error::EnvironError;

/// The segment costs of a function body: index 0 is the function's own
/// segment, index `i > 0` the segment of the `i`-th `loop` operator of the
/// body in reading order.
///
/// # Errors
///
/// [`EnvironError::InvalidModule`] if the operators cannot be read (not for
/// a validated body).
pub fn segment_costs(body: &FunctionBody<'_>) -> Result<Vec<u64>, EnvironError> {
    let mut reader = body.get_operators_reader().map_err(invalid)?;
    let mut costs = vec![0u64];
    // For each open block: the segment it charges to, and whether it is a
    // loop (whose `end` closes its segment).
    let mut open: Vec<(usize, bool)> = vec![(0, false)];
    while !reader.eof() {
        let op = reader.read().map_err(invalid)?;
        let segment = open.last().map_or(0, |&(s, _)| s);
        costs[segment] += 1;
        match op {
            Operator::Loop { .. } => {
                costs.push(0);
                open.push((costs.len() - 1, true));
            }
            Operator::Block { .. } | Operator::If { .. } => open.push((segment, false)),
            Operator::End => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(costs)
}

fn invalid(e: wasmparser::BinaryReaderError) -> EnvironError {
    EnvironError::InvalidModule {
        message: e.message().to_string(),
        offset: usize::try_from(e.offset()).unwrap_or(usize::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::ModuleInfo;

    fn costs(text: &str) -> Vec<u64> {
        let info = ModuleInfo::parse(&wat::parse_str(text).unwrap()).unwrap();
        segment_costs(&info.body_reader(0)).unwrap()
    }

    #[test]
    fn loops_have_segments_of_their_own() {
        // func: nop, block, loop, end(block), end(func) = 5 operators;
        // loop: i32.const, br_if, loop, end = 4; inner loop: br 0, end = 2.
        let costs =
            costs("(module (func nop (block (loop (i32.const 0) (br_if 0) (loop (br 0))))))");
        assert_eq!(costs, vec![5, 4, 2]);
    }

    #[test]
    fn a_straight_body_is_one_segment() {
        assert_eq!(
            costs("(module (func (result i32) i32.const 1 i32.const 2 i32.add))"),
            vec![4]
        );
    }
}
