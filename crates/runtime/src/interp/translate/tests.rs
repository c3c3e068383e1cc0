//! Golden tests of the translation: what a reader should expect the
//! compiled form of small functions to be.

use super::Translator;
use crate::interp::ir::Instr;
use crate::module::ModuleInfo;

fn translate(body: &str) -> Vec<Instr> {
    let wasm = wat::parse_str(format!("(module {body})")).unwrap();
    let info = ModuleInfo::parse(&wasm).unwrap();
    Translator::translate(&info, 0, false)
        .unwrap()
        .code
        .into_vec()
}

#[test]
fn locals_and_constants_are_operands_not_instructions() {
    // Slots: 0, 1 params; 2 local; 3 the constant; temporaries from 4.
    let code = translate(
        "(func (param i32 i32) (result i32) (local i32)
           (local.set 2 (i32.add (local.get 0) (local.get 1)))
           (i32.mul (local.get 2) (i32.const 3)))",
    );
    assert_eq!(
        code,
        [
            Instr::I32Add { dst: 2, a: 0, b: 1 },
            Instr::I32Mul { dst: 4, a: 2, b: 3 },
            Instr::Return { src: 4, count: 1 },
        ]
    );
}

#[test]
fn a_pending_local_read_is_saved_before_the_local_is_written() {
    let code = translate(
        "(func (param i32) (result i32)
           (local.get 0)
           (local.set 0 (i32.const 5))
           )",
    );
    assert_eq!(
        code,
        [
            Instr::Copy { dst: 2, src: 0 },
            Instr::Copy { dst: 0, src: 1 },
            Instr::Return { src: 2, count: 1 },
        ]
    );
}

#[test]
fn loops_branch_back_to_their_first_instruction() {
    let code = translate(
        "(func (param i32) (result i32)
           (loop
             (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
             (br_if 0 (local.get 0)))
           (local.get 0))",
    );
    assert_eq!(
        code,
        [
            // The jump back is the loop's safepoint.
            Instr::I32Sub { dst: 0, a: 0, b: 1 },
            Instr::BrIfNez { cond: 0, to: 0 },
            Instr::Return { src: 0, count: 1 },
        ]
    );
}

#[test]
fn calls_pass_arguments_in_place() {
    let code = translate(
        "(func $f (param i32 i32) (result i32) (local.get 0))
         (func (result i32) (call $f (i32.const 1) (i32.const 2)))",
    );
    // The second function is not translated here; the first returns its
    // parameter directly.
    assert_eq!(code, [Instr::Return { src: 0, count: 1 }]);
    let wasm = wat::parse_str(
        "(module (func $f (param i32 i32) (result i32) (local.get 0))
                 (func (result i32) (call $f (i32.const 1) (i32.const 2))))",
    )
    .unwrap();
    let info = ModuleInfo::parse(&wasm).unwrap();
    let caller = Translator::translate(&info, 1, false).unwrap();
    // Constants in slots 0 and 1; the arguments are copied into the
    // temporaries 2 and 3, where the callee's frame starts.
    assert_eq!(
        &caller.code[..],
        [
            Instr::Copy { dst: 2, src: 0 },
            Instr::Copy { dst: 3, src: 1 },
            Instr::Call { func: 0, base: 2 },
            Instr::Return { src: 2, count: 1 },
        ]
    );
}

#[test]
fn comparisons_fuse_with_the_branch_that_consumes_them() {
    let code = translate(
        "(func (param i32 i32) (result i32)
           (loop
             (local.set 0 (i32.add (local.get 0) (i32.const 1)))
             (br_if 0 (i32.lt_u (local.get 0) (local.get 1))))
           (if (result i32) (i32.ge_s (local.get 0) (local.get 1))
             (then (i32.const 1))
             (else (i32.const 2))))",
    );
    assert_eq!(
        code,
        [
            Instr::I32Add { dst: 0, a: 0, b: 2 },
            Instr::BrI32LtU { a: 0, b: 1, to: 0 },
            // `if` jumps to the else branch when the condition is false.
            Instr::BrI32LtS { a: 0, b: 1, to: 5 },
            Instr::Copy { dst: 4, src: 2 },
            Instr::Br { to: 6 },
            Instr::Copy { dst: 4, src: 3 },
            Instr::Return { src: 4, count: 1 },
        ]
    );
}
