//! Unit tests of the whole compiler on small modules.

use waven_environ::code::{CodegenSettings, MemoryLowering, RelocTarget};
use waven_environ::module::ModuleInfo;

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
        assert_eq!(code.funcs.len(), 7);
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
