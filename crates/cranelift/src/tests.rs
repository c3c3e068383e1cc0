//! Unit tests of the whole compiler on small modules.

use waven_environ::code::{CodegenSettings, MemoryLowering, RelocTarget};
use waven_environ::module::ModuleInfo;
use waven_environ::vm::SlowPathStub;

use super::*;

pub(crate) const ALL_SETTINGS: [CodegenSettings; 4] = [
    CodegenSettings {
        memory: MemoryLowering::Virtual,
        fuel: false,
    },
    CodegenSettings {
        memory: MemoryLowering::Virtual,
        fuel: true,
    },
    CodegenSettings {
        memory: MemoryLowering::Plain,
        fuel: false,
    },
    CodegenSettings {
        memory: MemoryLowering::Plain,
        fuel: true,
    },
];

fn compile(text: &str, settings: CodegenSettings) -> CompiledCode {
    let info = ModuleInfo::parse(&wat::parse_str(text).unwrap()).unwrap();
    Compiler::new(settings).unwrap().compile(&info).unwrap()
}

#[test]
fn every_operator_family_compiles() {
    let text = r#"(module
        (import "env" "f" (func $imp (param i32 f64) (result i64)))
        (import "env" "g" (global $g (mut i32)))
        (memory 1) (table $t 4 funcref) (table $e 2 externref)
        (global $h (mut f32) (f32.const 1.5)) (global $k i64 (i64.const 3))
        (type $bin (func (param i32 i32) (result i32)))
        (elem $seg func $add $div)
        (data $d "hello")
        (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
        (func $div (type $bin)
            (i32.add (i32.div_s (local.get 0) (local.get 1))
                (i32.add (i32.rem_s (local.get 0) (local.get 1))
                    (i32.add (i32.div_u (local.get 0) (local.get 1)) (i32.rem_u (local.get 0) (local.get 1))))))
        (func $conv (param f32 f64) (result i64)
            (i64.add (i64.trunc_f32_s (local.get 0))
                (i64.add (i64.trunc_f64_u (local.get 1))
                    (i64.extend_i32_s (i32.add (i32.trunc_f32_u (local.get 0)) (i32.trunc_sat_f64_s (local.get 1)))))))
        (func $mem (param i32) (result i64) (local f64)
            (i32.store offset=4 (local.get 0) (i32.load8_s offset=3 (local.get 0)))
            (i64.store32 (local.get 0) (i64.load16_u (local.get 0)))
            (f64.store (local.get 0) (f64.load offset=100000 (local.get 0)))
            (f32.store (local.get 0) (f32.load (local.get 0)))
            (memory.fill (local.get 0) (i32.const 0) (i32.const 10))
            (memory.copy (local.get 0) (i32.const 0) (i32.const 10))
            (memory.init $d (local.get 0) (i32.const 0) (i32.const 2))
            (data.drop $d)
            (memory.discard (i32.const 0) (i32.const 65536))
            (drop (memory.grow (memory.size)))
            (i64.load32_s (local.get 0)))
        (func $ctl (param i32) (result i32 i64)
            (block $out (result i32)
                (local.get 0)
                (loop $l (param i32) (result i32)
                    (drop)
                    (br_if $out (i32.const 7) (i32.eqz (local.get 0)))
                    (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                    (local.get 0)
                    (br_table $l $out $l (local.get 0))))
            (if (param i32) (result i32) (local.get 0) (then (i32.const 1) (i32.add)) (else))
            (call $imp (i32.const 1) (f64.const 2))
            (return))
        (func $tab (param i32) (result i32)
            (table.set $t (local.get 0) (ref.func $add))
            (drop (ref.is_null (table.get $t (local.get 0))))
            (drop (table.grow $e (ref.null extern) (i32.const 1)))
            (table.fill $e (i32.const 0) (ref.null extern) (i32.const 1))
            (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
            (table.init $t $seg (i32.const 0) (i32.const 0) (i32.const 1))
            (elem.drop $seg)
            (drop (call $add (i32.const 1) (i32.const 2)))
            (global.set $g (i32.add (global.get $g) (table.size $t)))
            (global.set $h (f32.add (global.get $h) (f32.const 1)))
            (drop (global.get $k))
            (select (i32.const 1) (i32.const 2) (local.get 0))
            (call_indirect $t (type $bin) (i32.const 3) (local.get 0)))
        (func $dead (result i32)
            (unreachable) (i32.add) (block (loop (br 0))) (drop) (i32.const 0)))"#;
    for settings in ALL_SETTINGS {
        let code = compile(text, settings);
        // Seven functions, then the slow-path stubs.
        assert_eq!(code.funcs.len(), 7 + SlowPathStub::COUNT as usize);
        assert!(code.trampolines.len() >= 6);
        for range in &code.funcs {
            assert_eq!(range.start % 16, 0);
            assert!(range.end > range.start);
        }
        assert!(code
            .relocs
            .iter()
            .any(|r| r.target == RelocTarget::Func(0) && r.addend == -4));
    }
}

#[test]
fn target_names_the_host() {
    let compiler = Compiler::new(ALL_SETTINGS[0]).unwrap();
    let (triple, _features) = compiler.target();
    assert!(triple.starts_with(std::env::consts::ARCH), "{triple}");
    assert_eq!(compiler.settings(), ALL_SETTINGS[0]);
}

/// The disassembly of function 0 of `text`.
fn disassembly(text: &str, settings: CodegenSettings) -> String {
    let info = ModuleInfo::parse(&wat::parse_str(text).unwrap()).unwrap();
    let compiler = Compiler::new(settings).unwrap();
    translate::disassemble(&*compiler.isa, settings, &info, 0).unwrap()
}

/// The machine instructions of the hot path of function 0 of `text`:
/// those Cranelift emits before the first return (cold blocks, the slow
/// paths and traps, come after it), without unconditional jumps (the
/// emitter drops the ones to the next block) and register-allocator
/// pseudo-instructions.
fn hot_instructions(text: &str, settings: CodegenSettings) -> usize {
    let disassembly = disassembly(text, settings);
    let mut count = 0;
    for line in disassembly.lines().map(str::trim) {
        if line.starts_with("ret") {
            return count;
        }
        let skip = line.is_empty()
            || line.ends_with(':')
            || line.starts_with("jmp")
            || line.starts_with("uninit");
        if !skip {
            count += 1;
        }
    }
    panic!("no return in\n{disassembly}")
}

/// Golden instruction counts of guest memory accesses on the hot path:
/// a function with two accesses (`i32.load offset=4` or `i32.store
/// offset=4`, at different addresses) minus the same function with one.
/// This is the marginal cost of an access once `VMContext::memory0` is
/// loaded; Cranelift reuses `VMMemory` fields loaded before (no call or
/// safepoint in between). The disassembly of the one-access functions is
/// printed for review.
#[test]
#[cfg(target_arch = "x86_64")]
fn memory_access_instruction_counts() {
    let module =
        |body: &str| format!("(module (memory 1) (func (param i32 i32) (result i32) {body}))");
    let load1 = module("(i32.add (i32.load offset=4 (local.get 0)) (local.get 1))");
    let load2 =
        module("(i32.add (i32.load offset=4 (local.get 0)) (i32.load offset=4 (local.get 1)))");
    let store1 = module("(i32.store offset=4 (local.get 0) (local.get 1)) (local.get 1)");
    let store2 = module(
        "(i32.store offset=4 (local.get 0) (local.get 1))
         (i32.store offset=4 (local.get 1) (local.get 0)) (local.get 1)",
    );
    for (settings, bound) in [(ALL_SETTINGS[2], 6), (ALL_SETTINGS[0], 21)] {
        let load = hot_instructions(&load2, settings) - hot_instructions(&load1, settings);
        let store = hot_instructions(&store2, settings) - hot_instructions(&store1, settings);
        println!(
            "{:?}: i32.load {load} instructions, i32.store {store}\n{}\n{}",
            settings.memory,
            disassembly(&load1, settings),
            disassembly(&store1, settings),
        );
        assert!(load <= bound, "{:?} load: {load}", settings.memory);
        assert!(store <= bound, "{:?} store: {store}", settings.memory);
    }
}

#[test]
fn output_is_deterministic() {
    let text = r#"(module (memory 1)
        (func (param i32) (result i32)
            (i32.div_s (i32.load (local.get 0)) (i32.trunc_f32_s (f32.load (local.get 0)))))
        (func (param i32) (result i32) (call 0 (i32.rem_u (local.get 0) (local.get 0)))))"#;
    for settings in ALL_SETTINGS {
        let first = compile(text, settings);
        for _ in 0..3 {
            assert_eq!(compile(text, settings), first);
        }
    }
}

#[test]
fn compiler_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Compiler>();
}

/// A second access through the same index in the same page reuses the
/// first one's translation: far fewer instructions than a table lookup.
#[test]
#[cfg(target_arch = "x86_64")]
fn a_second_access_of_the_same_index_reuses_the_translation() {
    let module =
        |body: &str| format!("(module (memory 1) (func (param i32 i32) (result i32) {body}))");
    let one = module("(i32.add (i32.load offset=4 (local.get 0)) (local.get 1))");
    let two =
        module("(i32.add (i32.load offset=4 (local.get 0)) (i32.load offset=8 (local.get 0)))");
    let other =
        module("(i32.add (i32.load offset=4 (local.get 0)) (i32.load offset=8 (local.get 1)))");
    // A relative: `p - 8` after `p`, as compilers emit negative field
    // offsets; compared with the same access through another local.
    let relative = module(
        "(i32.add (i32.load offset=4 (local.get 0))
                  (i32.load (i32.add (local.get 0) (i32.const -8))))",
    );
    let unrelated = module(
        "(i32.add (i32.load offset=4 (local.get 0))
                  (i32.load (i32.add (local.get 1) (i32.const -8))))",
    );
    let settings = ALL_SETTINGS[0];
    let base = hot_instructions(&one, settings);
    let reused = hot_instructions(&two, settings) - base;
    let looked_up = hot_instructions(&other, settings) - base;
    let related = hot_instructions(&relative, settings) - base;
    let unrelated = hot_instructions(&unrelated, settings) - base;
    println!(
        "same index: reused {reused} instructions, looked up {looked_up}; \
         relative: reused {related}, looked up {unrelated}"
    );
    assert!(
        reused + 8 <= looked_up,
        "reused {reused}, looked up {looked_up}"
    );
    assert!(
        related + 3 <= unrelated,
        "relative {related}, looked up {unrelated}"
    );
}

/// An access in a loop whose index steps keeps its translation from one
/// pass to the next: its hot path (the page of the last pass hits) is
/// shorter than the table lookup of the same loop with a hashed index,
/// which keeps none (see `streams.rs`).
#[test]
fn a_loop_access_that_steps_keeps_its_translation() {
    let module = |index: &str| {
        format!(
            "(module (memory 1)
               (func (param i32 i32) (result i32) (local i32 i32)
                 (loop
                   (local.set 3 (i32.add (local.get 3) (i32.load {index})))
                   (local.set 2 (i32.add (local.get 2) (i32.const 4)))
                   (br_if 0 (i32.lt_u (local.get 2) (local.get 1))))
                 (local.get 3)))"
        )
    };
    let settings = ALL_SETTINGS[0];
    let stepping = hot_instructions(&module("(i32.add (local.get 0) (local.get 2))"), settings);
    let hashed = hot_instructions(&module("(i32.xor (local.get 0) (local.get 2))"), settings);
    println!("loop access: kept {stepping} instructions, looked up {hashed}");
    assert!(
        stepping + 4 <= hashed,
        "kept {stepping}, looked up {hashed}"
    );
}

/// The jumps of the hot path (before the first return) that the emitter
/// keeps: unconditional jumps, and conditional branches with neither
/// target the next block.
fn far_jumps(disassembly: &str) -> Vec<String> {
    let hot = &disassembly[..disassembly.find("\n  ret").expect("a return")];
    let lines: Vec<&str> = hot.lines().map(str::trim).collect();
    let mut far = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if !line.starts_with('j') {
            continue;
        }
        // `jmp labelN`, or `jCC labelA; j labelB` (the emitter inverts the
        // condition when A is the next block).
        let targets: Vec<&str> = line
            .split(';')
            .filter_map(|part| part.trim().rsplit_once(" label").map(|(_, t)| t))
            .collect();
        let next = lines[at + 1..].iter().find(|l| l.ends_with(':'));
        let falls_through = targets
            .iter()
            .any(|target| next == Some(&format!("block{target}:").as_str()));
        if !falls_through {
            far.push(line.to_string());
        }
    }
    far
}

/// A loop of loads and a store keeps one taken jump per pass, the one back
/// to its head: the code after a slow path's call (the trap test, the
/// result) stays out of line with the slow path instead of sitting
/// between the fast paths, which would then jump over it.
#[test]
#[cfg(target_arch = "x86_64")]
fn a_loop_of_accesses_jumps_only_back() {
    let text = "(module (memory 1) (func (param i32 i32 i32) (local i32)
        (loop
            (f64.store (i32.add (local.get 0) (local.get 3))
                (f64.add (f64.load (i32.add (local.get 0) (local.get 3)))
                    (f64.load (i32.add (local.get 1) (local.get 3)))))
            (local.set 3 (i32.add (local.get 3) (i32.const 8)))
            (br_if 0 (i32.lt_u (local.get 3) (local.get 2))))))";
    for settings in ALL_SETTINGS {
        let disassembly = disassembly(text, settings);
        let far = far_jumps(&disassembly);
        assert_eq!(far.len(), 1, "{settings:?}: {far:?}\n{disassembly}");
    }
}

/// A square root that two stores of virtual memory use is computed once
/// on the hot path (Cranelift would place it on the first store's fast
/// path and compute it again on the second's, see `anchor` in
/// `translate/memory.rs`).
#[test]
#[cfg(target_arch = "x86_64")]
fn a_costly_value_two_stores_use_is_computed_once() {
    let text = "(module (memory 1) (func (param i32 f64) (local f64)
        (local.set 2 (f64.sqrt (local.get 1)))
        (f64.store (local.get 0) (f64.add (local.get 2) (f64.const 1)))
        (f64.store offset=8 (local.get 0) (f64.add (local.get 2) (f64.const 2)))))";
    for settings in [ALL_SETTINGS[0], ALL_SETTINGS[2]] {
        let disassembly = disassembly(text, settings);
        let hot = &disassembly[..disassembly.find("ret").expect("a return")];
        let roots = hot.matches("sqrtsd").count();
        assert_eq!(roots, 1, "{:?}:\n{disassembly}", settings.memory);
    }
}

/// A store through the pointer an earlier load of the same stretch used
/// reuses the load's translation: the load looked up the write table (see
/// `translate/lookahead.rs`).
#[test]
#[cfg(target_arch = "x86_64")]
fn a_store_after_a_load_through_the_same_pointer_reuses_its_translation() {
    let module =
        |body: &str| format!("(module (memory 1) (func (param i32 i32) (result i32) {body}))");
    let same = module(
        "(i32.store (local.get 0) (i32.add (i32.load (local.get 0)) (i32.const 1))) (local.get 1)",
    );
    let other = module(
        "(i32.store (local.get 1) (i32.add (i32.load (local.get 0)) (i32.const 1))) (local.get 1)",
    );
    let settings = ALL_SETTINGS[0];
    let (same, other) = (
        hot_instructions(&same, settings),
        hot_instructions(&other, settings),
    );
    println!("load and store: same pointer {same} instructions, another {other}");
    assert!(same + 8 <= other, "same pointer {same}, another {other}");
}
