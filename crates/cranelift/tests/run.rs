//! Runs compiled code on the minimal runtime of `common` (built from the
//! contract of `waven_environ::vm` alone), with both lowerings and fuel on
//! and off: arithmetic traps, memory accesses on the fast and slow paths,
//! calls of every kind, tables, globals, and the entry checks.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;

use common::{Extern, Memory, Store, HOLE_PAGE};
use waven_cranelift::Compiler;
use waven_environ::code::{CodegenSettings, MemoryLowering};
use waven_environ::module::ModuleInfo;
use waven_environ::vm::*;
use waven_environ::{FuncType, ValType};

/// One instance of MODULE in its own store.
struct Instance {
    store: Box<Store>,
    instance: usize,
    memory: *mut Memory,
}

impl Instance {
    fn call(&mut self, func: u32, args: &[u64]) -> Result<Vec<u64>, u32> {
        let f = self.store.func(self.instance, func);
        self.store.call(f, args)
    }

    fn call1(&mut self, func: u32, args: &[u64]) -> Result<u64, u32> {
        self.call(func, args).map(|r| r[0])
    }

    fn memory(&mut self) -> &mut Memory {
        // SAFETY: the instance's memory, alive with the store.
        unsafe { &mut *self.memory }
    }

    fn global(&self, name: &str) -> u64 {
        match self.store.instances[self.instance].exports[name] {
            // SAFETY: a global cell of the store.
            Extern::Global(cell, _) => unsafe { (*cell).bits[0] },
            _ => panic!("{name} is not a global"),
        }
    }
}

const SETTINGS: [CodegenSettings; 4] = [
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

fn i32b(v: i32) -> u64 {
    v as u32 as u64
}

const MODULE: &str = r#"(module
  (import "env" "add3" (func $add3 (param i32 i32 i32) (result i32)))
  (type $ii_i (func (param i32 i32) (result i32)))
  (memory (export "mem") 1)
  (table 4 funcref)
  (global $g (export "g") (mut i32) (i32.const 5))
  (elem (i32.const 0) $add $sub $fac)
  (data (i32.const 100) "\01\02\03\04\05\06\07\08\ff")
  (func $add (type $ii_i) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $ii_i) (i32.sub (local.get 0) (local.get 1)))
  (func $fac (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func $div_s (type $ii_i) (i32.div_s (local.get 0) (local.get 1)))
  (func $rem_s (type $ii_i) (i32.rem_s (local.get 0) (local.get 1)))
  (func $div_u (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
  (func $trunc (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func $trunc_u (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
  (func $sat (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
  (func $load (param i32) (result i32) (i32.load offset=2 (local.get 0)))
  (func $store (param i32 i32) (i32.store offset=2 (local.get 0) (local.get 1)))
  (func $load8s (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func $fstore (param i32 f64) (result f64)
    (f64.store (local.get 0) (local.get 1)) (f64.load (local.get 0)))
  (func $indirect (param i32 i32 i32) (result i32)
    (call_indirect (type $ii_i) (local.get 1) (local.get 2) (local.get 0)))
  (func $host (param i32) (result i32) (call $add3 (local.get 0) (i32.const 10) (i32.const 100)))
  (func $sum (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br 0)))
    (local.get 1))
  (func $multi (param i32) (result i32 i64 f32) (local.get 0) (i64.const -2) (f32.const 1.5))
  (func $br_table (param i32) (result i32)
    (block (block (block (br_table 0 1 2 (local.get 0)))
      (return (i32.const 10))) (return (i32.const 11))) (i32.const 12))
  (func $global (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g))
  (func $recurse (call $recurse))
  (func $unreachable (unreachable))
  (func $is_null (param i32) (result i32) (ref.is_null (table.get 0 (local.get 0))))
  (func $size (result i32) (memory.size))
  (func $nearest (param f64) (result f64) (f64.nearest (local.get 0)))
  (func $multi_call (param i32) (result i32)
    (call $multi (local.get 0)) (drop) (drop))
  (func $grow_load (param i32) (result i32)
    (i32.store (i32.const 16) (i32.const 77))
    (drop (i32.load (i32.const 65532)))
    (drop (memory.grow (local.get 0)))
    (i32.store (i32.const 65536) (i32.const 78))
    (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 65536))))
)"#;

// Function indices of MODULE (the import is 0).
const ADD: u32 = 1;
const FAC: u32 = 3;
const DIV_S: u32 = 4;
const REM_S: u32 = 5;
const DIV_U: u32 = 6;
const TRUNC: u32 = 7;
const TRUNC_U: u32 = 8;
const SAT: u32 = 9;
const LOAD: u32 = 10;
const STORE: u32 = 11;
const LOAD8S: u32 = 12;
const FSTORE: u32 = 13;
const INDIRECT: u32 = 14;
const HOST: u32 = 15;
const SUM: u32 = 16;
const MULTI: u32 = 17;
const BR_TABLE: u32 = 18;
const GLOBAL: u32 = 19;
const RECURSE: u32 = 20;
const UNREACHABLE: u32 = 21;
const IS_NULL: u32 = 22;
const SIZE: u32 = 23;
const NEAREST: u32 = 24;
const MULTI_CALL: u32 = 25;
const GROW_LOAD: u32 = 26;

fn add3(values: &mut [VMVal]) -> Result<(), ()> {
    let sum = (values[0].bits[0] as u32)
        .wrapping_add(values[1].bits[0] as u32)
        .wrapping_add(values[2].bits[0] as u32);
    values[0].bits[0] = u64::from(sum);
    Ok(())
}

fn module(settings: CodegenSettings) -> Instance {
    let mut store = Store::new();
    let add3 = store.host_func(FuncType::new([ValType::I32; 3], [ValType::I32]), add3);
    let env = [("add3".to_string(), add3)].into_iter().collect();
    store.registered.insert("env".into(), env);
    let info = ModuleInfo::parse(&wat::parse_str(MODULE).unwrap()).unwrap();
    let compiler = Compiler::new(settings).unwrap();
    let instance = store.instantiate(&compiler, info).unwrap();
    let Extern::Memory(memory) = store.instances[instance].exports["mem"] else {
        panic!("no memory")
    };
    Instance {
        store,
        instance,
        memory,
    }
}

#[test]
fn arithmetic_and_traps() {
    use TrapCode::*;
    for settings in SETTINGS {
        let mut m = module(settings);
        assert_eq!(m.call1(ADD, &[i32b(-3), 5]), Ok(2));
        assert_eq!(m.call1(FAC, &[20]), Ok(2432902008176640000));
        assert_eq!(m.call1(DIV_S, &[i32b(-7), 2]), Ok(i32b(-3)));
        assert_eq!(m.call1(DIV_S, &[1, 0]), Err(IntegerDivideByZero as u32));
        assert_eq!(
            m.call1(DIV_S, &[i32b(i32::MIN), i32b(-1)]),
            Err(IntegerOverflow as u32)
        );
        assert_eq!(m.call1(REM_S, &[i32b(i32::MIN), i32b(-1)]), Ok(0));
        assert_eq!(m.call1(REM_S, &[i32b(-7), 2]), Ok(i32b(-1)));
        assert_eq!(m.call1(REM_S, &[7, 0]), Err(IntegerDivideByZero as u32));
        assert_eq!(m.call1(DIV_U, &[u64::MAX, 2]), Ok(u64::MAX / 2));
        assert_eq!(m.call1(DIV_U, &[1, 0]), Err(IntegerDivideByZero as u32));
        let f = |x: f64| x.to_bits();
        assert_eq!(m.call1(TRUNC, &[f(-2147483648.9)]), Ok(i32b(i32::MIN)));
        assert_eq!(m.call1(TRUNC, &[f(2147483647.9)]), Ok(i32b(i32::MAX)));
        assert_eq!(
            m.call1(TRUNC, &[f(-2147483649.0)]),
            Err(IntegerOverflow as u32)
        );
        assert_eq!(
            m.call1(TRUNC, &[f(2147483648.0)]),
            Err(IntegerOverflow as u32)
        );
        assert_eq!(
            m.call1(TRUNC, &[f(f64::NAN)]),
            Err(InvalidConversionToInteger as u32)
        );
        let g = |x: f32| u64::from(x.to_bits());
        assert_eq!(m.call1(TRUNC_U, &[g(-0.9)]), Ok(0));
        assert_eq!(m.call1(TRUNC_U, &[g(-1.0)]), Err(IntegerOverflow as u32));
        assert_eq!(
            m.call1(TRUNC_U, &[g(1.8446743e19)]),
            Ok(18446742974197923840)
        );
        assert_eq!(
            m.call1(TRUNC_U, &[g(1.8446744e19)]),
            Err(IntegerOverflow as u32)
        );
        assert_eq!(m.call1(SAT, &[f(-5.0)]), Ok(0));
        assert_eq!(m.call1(SAT, &[f(1e20)]), Ok(u64::from(u32::MAX)));
        assert_eq!(m.call1(SAT, &[f(f64::NAN)]), Ok(0));
        assert_eq!(m.call1(NEAREST, &[f(2.5)]), Ok(f(2.0)));
        assert_eq!(m.call1(NEAREST, &[f(-3.5)]), Ok(f(-4.0)));
        assert_eq!(m.call1(UNREACHABLE, &[]), Err(Unreachable as u32));
    }
}

#[test]
fn memory_accesses() {
    use TrapCode::*;
    for settings in SETTINGS {
        let mut m = module(settings);
        assert_eq!(m.call1(LOAD, &[98]), Ok(0x04030201));
        assert_eq!(m.call1(LOAD8S, &[108]), Ok(u64::MAX));
        assert_eq!(m.call1(SIZE, &[]), Ok(1));
        let hole = HOLE_PAGE as u32 * 4096;
        // Fast path, no entry (slow), crossing into and out of the hole page.
        for addr in [200u32, hole + 8, hole - 4, hole + 4092, 65530] {
            let value = 0xdead_0000 | addr;
            assert_eq!(
                m.call(STORE, &[u64::from(addr), u64::from(value)]),
                Ok(vec![])
            );
            assert_eq!(
                m.call1(LOAD, &[u64::from(addr)]),
                Ok(u64::from(value)),
                "{addr}"
            );
            let at = addr as usize + 2;
            assert_eq!(m.memory().bytes[at..at + 4], value.to_le_bytes(), "{addr}");
        }
        assert_eq!(m.call1(LOAD, &[65531]), Err(MemoryOutOfBounds as u32));
        assert_eq!(m.call(STORE, &[65531, 1]), Err(MemoryOutOfBounds as u32));
        assert_eq!(
            m.call1(LOAD, &[u64::from(u32::MAX)]),
            Err(MemoryOutOfBounds as u32)
        );
        let x = (-1.25f64).to_bits();
        for addr in [0u64, 4092, 4100] {
            assert_eq!(m.call1(FSTORE, &[addr, x]), Ok(x), "{addr}");
        }
        assert_eq!(m.memory().bytes[4100..4108], x.to_le_bytes());
        // Growing moves the memory: the code reloads base and tables.
        let before = m.memory().bytes.as_ptr();
        assert_eq!(m.call1(GROW_LOAD, &[1]), Ok(77 + 78));
        assert_ne!(m.memory().bytes.as_ptr(), before);
        assert_eq!(m.call1(SIZE, &[]), Ok(2));
    }
}

#[test]
fn calls_tables_and_globals() {
    use TrapCode::*;
    for settings in SETTINGS {
        let mut m = module(settings);
        assert_eq!(m.call1(INDIRECT, &[0, 7, 2]), Ok(9));
        assert_eq!(m.call1(INDIRECT, &[1, 7, 2]), Ok(5));
        assert_eq!(
            m.call1(INDIRECT, &[2, 7, 2]),
            Err(IndirectCallTypeMismatch as u32)
        );
        assert_eq!(
            m.call1(INDIRECT, &[3, 7, 2]),
            Err(UninitializedElement as u32)
        );
        assert_eq!(m.call1(INDIRECT, &[4, 7, 2]), Err(UndefinedElement as u32));
        assert_eq!(m.call1(IS_NULL, &[0]), Ok(0));
        assert_eq!(m.call1(IS_NULL, &[3]), Ok(1));
        assert_eq!(m.call1(IS_NULL, &[4]), Err(TableOutOfBounds as u32));
        assert_eq!(m.call1(HOST, &[1]), Ok(111));
        assert_eq!(
            m.call(MULTI, &[7]),
            Ok(vec![7, (-2i64) as u64, 1.5f32.to_bits().into()])
        );
        assert_eq!(m.call1(MULTI_CALL, &[9]), Ok(9));
        assert_eq!(m.call1(BR_TABLE, &[0]), Ok(10));
        assert_eq!(m.call1(BR_TABLE, &[1]), Ok(11));
        assert_eq!(m.call1(BR_TABLE, &[2]), Ok(12));
        assert_eq!(m.call1(BR_TABLE, &[99]), Ok(12));
        assert_eq!(m.call1(GLOBAL, &[]), Ok(6));
        assert_eq!(m.call1(GLOBAL, &[]), Ok(7));
        assert_eq!(m.global("g"), 7);
        assert_eq!(m.call1(SUM, &[100]), Ok(5050));
    }
}

#[test]
fn depth_stack_fuel_interrupt_and_safepoints() {
    use TrapCode::*;
    for settings in SETTINGS {
        let mut m = module(settings);
        assert_eq!(m.call(RECURSE, &[]), Err(StackExhausted as u32));
        m.store.stack_limit = Some(usize::MAX / 2);
        assert_eq!(m.call1(ADD, &[1, 2]), Err(StackExhausted as u32));
        m.store.stack_limit = None;

        m.memory().safepoint.requested = 5;
        assert_eq!(m.call1(ADD, &[1, 2]), Ok(3));
        let expected = if settings.memory == MemoryLowering::Virtual {
            5
        } else {
            0
        };
        assert_eq!(m.memory().safepoint.acked, expected);

        *m.store.interrupt = 1;
        assert_eq!(m.call1(ADD, &[1, 2]), Err(Interrupted as u32));
        *m.store.interrupt = 0;

        if settings.fuel {
            // $add: 4 operators (local.get, local.get, i32.add, end).
            m.store.runtime.fuel = 4;
            assert_eq!(m.call1(ADD, &[1, 2]), Ok(3));
            assert_eq!(m.store.runtime.fuel, 0);
            assert_eq!(m.call1(ADD, &[1, 2]), Err(OutOfFuel as u32));
            assert_eq!(m.store.runtime.fuel, 0);
            m.store.runtime.fuel = 1000;
            assert_eq!(m.call1(SUM, &[1000]), Err(OutOfFuel as u32));
            // $sum: 5 operators outside the loop, 13 in it, entered 11 times.
            m.store.runtime.fuel = 5 + 13 * 11;
            assert_eq!(m.call1(SUM, &[10]), Ok(55));
            assert_eq!(m.store.runtime.fuel, 0);
            m.store.runtime.fuel = 5 + 13 * 11 - 1;
            assert_eq!(m.call1(SUM, &[10]), Err(OutOfFuel as u32));
            assert_eq!(
                m.store.runtime.fuel, 12,
                "fuel left before the 11th iteration"
            );
        }
    }
}
