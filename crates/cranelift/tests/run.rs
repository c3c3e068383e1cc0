//! Runs compiled code on a minimal runtime written here from the contract
//! of `waven_environ::vm` alone (one instance, store index = function
//! index, one 64 KiB memory whose virtual tables leave page 1 to the slow
//! path), with both lowerings and fuel on and off.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::ptr;

use waven_cranelift::Compiler;
use waven_environ::code::{
    CodegenSettings, CompiledCode, MathFunc, MemoryLowering, RelocKind, RelocTarget,
};
use waven_environ::module::{ConstExpr, DataMode, ElementMode, ModuleInfo};
use waven_environ::vm::*;
use waven_environ::ValType;

const MEMORY_BYTES: usize = 65536;
/// The page the virtual tables leave to the slow path.
const HOLE_PAGE: usize = 1;
const DEPTH: u64 = 1000;

/// Compiled code mapped executable.
struct Code {
    ptr: *mut u8,
    len: usize,
}

impl Drop for Code {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `map_code`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

fn math_address(f: MathFunc) -> usize {
    match f {
        MathFunc::CeilF32 => ceil_f32 as *const () as usize,
        MathFunc::CeilF64 => ceil_f64 as *const () as usize,
        MathFunc::FloorF32 => floor_f32 as *const () as usize,
        MathFunc::FloorF64 => floor_f64 as *const () as usize,
        MathFunc::TruncF32 => trunc_f32 as *const () as usize,
        MathFunc::TruncF64 => trunc_f64 as *const () as usize,
        MathFunc::NearestF32 => nearest_f32 as *const () as usize,
        MathFunc::NearestF64 => nearest_f64 as *const () as usize,
        MathFunc::FmaF32 => fma_f32 as *const () as usize,
        MathFunc::FmaF64 => fma_f64 as *const () as usize,
    }
}

fn map_code(code: &CompiledCode) -> Code {
    let len = code.text.len().next_multiple_of(4096).max(4096);
    // SAFETY: a fresh anonymous mapping, written before it is made
    // executable; relocations stay inside the text (checked by the slice
    // indexing).
    unsafe {
        let ptr = libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(ptr, libc::MAP_FAILED);
        let text = std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len);
        text[..code.text.len()].copy_from_slice(&code.text);
        let base = ptr as *const () as usize;
        for reloc in &code.relocs {
            let target = match reloc.target {
                RelocTarget::Func(i) => base + code.funcs[i as usize].start as usize,
                RelocTarget::Math(f) => math_address(f),
            };
            let at = reloc.offset as usize;
            let value = (target as i64).wrapping_add(reloc.addend);
            match reloc.kind {
                RelocKind::X86PcRel4 => {
                    let rel = value.wrapping_sub((base + at) as i64);
                    let rel = i32::try_from(rel).expect("in range");
                    text[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                }
                RelocKind::Abs8 => text[at..at + 8].copy_from_slice(&value.to_le_bytes()),
                RelocKind::Arm64Call26 => panic!("not on x86-64"),
            }
        }
        assert_eq!(
            libc::mprotect(ptr, len, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        Code {
            ptr: ptr.cast(),
            len,
        }
    }
}

/// A host function: arguments in, results out of the value slots.
type HostFn = fn(&mut [VMVal]);

/// The context compiled code sees, followed by the test's instance.
#[repr(C)]
struct TestContext {
    ctx: VMContext,
    instance: *mut Instance,
}

/// Everything of one instance (leaked: tests are short).
struct Instance {
    info: ModuleInfo,
    code: Code,
    compiled: CompiledCode,
    runtime: &'static mut VMRuntime,
    interrupt: &'static mut u8,
    context: *mut TestContext,
    memory: Option<&'static mut VMMemory>,
    bytes: &'static mut [u8],
    safepoint: &'static mut VMSafepoint,
    globals: Vec<*mut VMGlobal>,
    host: Vec<Option<HostFn>>,
}

/// The test's instance behind a `vmctx`.
///
/// # Safety
///
/// `vmctx` must be a `TestContext` made by `instantiate`.
unsafe fn instance<'a>(vmctx: *mut VMContext) -> &'a mut Instance {
    unsafe { &mut *(*vmctx.cast::<TestContext>()).instance }
}

unsafe fn set_trap(vmctx: *mut VMContext, code: TrapCode) {
    let instance = unsafe { instance(vmctx) };
    if instance.runtime.trap == 0 {
        instance.runtime.trap = code as u32;
    }
}

unsafe extern "C" fn load_slow(vmctx: *mut VMContext, memory: u32, addr: u64, size: u32) -> u64 {
    assert_eq!(memory, 0);
    let instance = unsafe { instance(vmctx) };
    let (addr, size) = (addr as usize, size as usize);
    if addr + size > instance.bytes.len() {
        unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) };
        return 0;
    }
    let mut bits = [0u8; 8];
    bits[..size].copy_from_slice(&instance.bytes[addr..addr + size]);
    u64::from_le_bytes(bits)
}

unsafe extern "C" fn store_slow(
    vmctx: *mut VMContext,
    memory: u32,
    addr: u64,
    size: u32,
    value: u64,
) {
    assert_eq!(memory, 0);
    let instance = unsafe { instance(vmctx) };
    let (addr, size) = (addr as usize, size as usize);
    if addr + size > instance.bytes.len() {
        unsafe { set_trap(vmctx, TrapCode::MemoryOutOfBounds) };
        return;
    }
    instance.bytes[addr..addr + size].copy_from_slice(&value.to_le_bytes()[..size]);
}

unsafe extern "C" fn memory_size(vmctx: *mut VMContext, memory: u32) -> u64 {
    assert_eq!(memory, 0);
    (unsafe { instance(vmctx) }.bytes.len() / 65536) as u64
}

unsafe extern "C" fn memory_grow(_vmctx: *mut VMContext, _memory: u32, delta: u64) -> u64 {
    if delta == 0 {
        1
    } else {
        u64::MAX
    }
}

unsafe extern "C" fn host_call(vmctx: *mut VMContext, store_func: u32, values: *mut VMVal) {
    let instance = unsafe { instance(vmctx) };
    let ty = instance.info.func_type(store_func).clone();
    let n = ty.params().len().max(ty.results().len());
    // SAFETY: compiled code passes room for max(params, results) values.
    let values = unsafe { std::slice::from_raw_parts_mut(values, n) };
    match instance.host[store_func as usize] {
        Some(f) => f(values),
        None => unsafe { set_trap(vmctx, TrapCode::Host) },
    }
}

unsafe extern "C" fn unsupported(vmctx: *mut VMContext) -> u64 {
    unsafe { set_trap(vmctx, TrapCode::Host) };
    0
}

fn leak<T>(value: T) -> &'static mut T {
    Box::leak(Box::new(value))
}

fn const_bits(expr: ConstExpr) -> u64 {
    match expr {
        ConstExpr::I32(v) => v as u32 as u64,
        ConstExpr::I64(v) => v as u64,
        ConstExpr::F32(v) => u64::from(v),
        ConstExpr::F64(v) => v,
        ConstExpr::RefNull(_) => 0,
        ConstExpr::RefFunc(f) => u64::from(f) + 1,
        ConstExpr::GlobalGet(_) => panic!("not in these tests"),
    }
}

fn instantiate(text: &str, settings: CodegenSettings, host: Vec<Option<HostFn>>) -> Box<Instance> {
    let info = ModuleInfo::parse(&wat::parse_str(text).unwrap()).unwrap();
    let compiled = Compiler::new(settings).unwrap().compile(&info).unwrap();
    let code = map_code(&compiled);

    let mut libcalls = vec![unsupported as *const () as usize; Libcall::COUNT];
    libcalls[Libcall::LoadSlow as usize] = load_slow as *const () as usize;
    libcalls[Libcall::StoreSlow as usize] = store_slow as *const () as usize;
    libcalls[Libcall::MemorySize as usize] = memory_size as *const () as usize;
    libcalls[Libcall::MemoryGrow as usize] = memory_grow as *const () as usize;
    libcalls[Libcall::HostCall as usize] = host_call as *const () as usize;
    let libcalls = leak(libcalls);
    let interrupt = leak(0u8);
    let runtime = leak(VMRuntime {
        fuel: u64::MAX,
        depth_left: DEPTH,
        stack_limit: 0,
        interrupt: &*interrupt,
        trap: 0,
        _pad: 0,
        funcrefs: ptr::null(),
        libcalls: libcalls.as_ptr(),
    });

    let bytes = leak(vec![0u8; MEMORY_BYTES]).as_mut_slice();
    for segment in &info.data {
        if let DataMode::Active { offset, .. } = segment.mode {
            let at = const_bits(offset) as usize;
            bytes[at..at + segment.bytes.len()].copy_from_slice(&segment.bytes);
        }
    }
    let pages: Vec<usize> = (0..MEMORY_BYTES / 4096)
        .map(|vpn| {
            if vpn == HOLE_PAGE {
                0
            } else {
                bytes.as_ptr() as usize + vpn * 4096
            }
        })
        .collect();
    let safepoint = leak(VMSafepoint {
        requested: 0,
        acked: 0,
    });
    let memory = (!info.memories.is_empty()).then(|| {
        leak(VMMemory {
            read_table: leak(pages.clone()).as_ptr(),
            write_table: leak(pages.clone()).as_ptr(),
            table_pages: pages.len() as u64,
            base: bytes.as_mut_ptr(),
            bound: MEMORY_BYTES as u64,
            safepoint: &*safepoint,
        })
    });

    let mut globals = Vec::new();
    for (i, _) in info.globals.iter().enumerate() {
        let init = i
            .checked_sub(info.num_imported_globals as usize)
            .map_or(0, |d| const_bits(info.global_inits[d]));
        let cell: *mut VMGlobal = leak(VMGlobal { bits: [init, 0] });
        globals.push(cell);
    }
    let mut tables = Vec::new();
    for decl in &info.tables {
        let elems = leak(vec![0u64; decl.initial as usize]);
        let table: *mut VMTable = leak(VMTable {
            base: elems.as_mut_ptr(),
            len: decl.initial,
        });
        tables.push(table);
    }
    for segment in &info.elements {
        if let ElementMode::Active { table, offset } = segment.mode {
            let table = tables[table as usize];
            for (i, item) in segment.items.iter().enumerate() {
                // SAFETY: the tables above, and the segments fit them.
                unsafe { *(*table).base.add(const_bits(offset) as usize + i) = const_bits(*item) };
            }
        }
    }
    let sig_ids: Vec<u32> = (0..info.types.len())
        .map(|t| info.types.iter().position(|u| *u == info.types[t]).unwrap() as u32)
        .collect();

    let context = leak(TestContext {
        ctx: VMContext {
            runtime: &mut *runtime,
            memory0: ptr::null_mut(),
            memories: ptr::null(),
            globals: leak(globals.clone()).as_ptr(),
            funcs: ptr::null(),
            tables: leak(tables).as_ptr(),
            sig_ids: leak(sig_ids.clone()).as_ptr(),
        },
        instance: ptr::null_mut(),
    }) as *mut TestContext;
    let funcs: Vec<VMFuncRef> = (0..info.funcs.len() as u32)
        .map(|f| {
            let imported = f < info.num_imported_funcs;
            VMFuncRef {
                code: if imported {
                    ptr::null()
                } else {
                    let range = &compiled.funcs[(f - info.num_imported_funcs) as usize];
                    // SAFETY: inside the mapping.
                    unsafe { code.ptr.add(range.start as usize) }
                },
                vmctx: if imported {
                    ptr::null_mut()
                } else {
                    context.cast()
                },
                sig: sig_ids[info.funcs[f as usize] as usize],
                store_index: f,
            }
        })
        .collect();
    let funcs = leak(funcs);
    runtime.funcrefs = funcs.as_ptr();
    let mut instance = Box::new(Instance {
        info,
        code,
        compiled,
        runtime,
        interrupt,
        context,
        memory,
        bytes,
        safepoint,
        globals,
        host,
    });
    // SAFETY: `context` was leaked above; the instance is boxed (stable).
    unsafe {
        (*context).ctx.funcs = funcs.as_ptr();
        if let Some(memory) = &mut instance.memory {
            (*context).ctx.memory0 = &mut **memory;
            (*context).ctx.memories = leak(vec![(*context).ctx.memory0]).as_ptr();
        }
        (*context).instance = &mut *instance;
    }
    instance
}

impl Instance {
    /// Calls function `func` with raw argument bits; the raw result bits
    /// (masked to the type's width) or the trap code.
    fn call(&mut self, func: u32, args: &[u64]) -> Result<Vec<u64>, u32> {
        let type_index = self.info.funcs[func as usize];
        let ty = self.info.types[type_index as usize].clone();
        assert_eq!(args.len(), ty.params().len());
        let mut values = vec![VMVal::default(); ty.params().len().max(ty.results().len()).max(1)];
        for (value, &arg) in values.iter_mut().zip(args) {
            value.bits = [arg, 0];
        }
        let trampoline = self.compiled.trampolines[type_index as usize] as usize;
        let defined = (func - self.info.num_imported_funcs) as usize;
        self.runtime.trap = 0;
        // SAFETY: the trampoline and function of this type in the mapped
        // code, with the contexts built by `instantiate`.
        unsafe {
            let trampoline: EntryTrampoline =
                std::mem::transmute(self.code.ptr.add(trampoline) as *const u8);
            let code = self
                .code
                .ptr
                .add(self.compiled.funcs[defined].start as usize);
            trampoline(
                code,
                self.context.cast(),
                self.context.cast(),
                values.as_mut_ptr(),
            );
        }
        assert_eq!(self.runtime.depth_left, DEPTH, "depth restored");
        if self.runtime.trap != 0 {
            return Err(self.runtime.trap);
        }
        Ok(ty
            .results()
            .iter()
            .zip(&values)
            .map(|(t, v)| match t {
                ValType::I32 | ValType::F32 => v.bits[0] & 0xffff_ffff,
                _ => v.bits[0],
            })
            .collect())
    }

    fn call1(&mut self, func: u32, args: &[u64]) -> Result<u64, u32> {
        self.call(func, args).map(|r| r[0])
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
  (memory 1)
  (table 4 funcref)
  (global $g (mut i32) (i32.const 5))
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

fn add3(values: &mut [VMVal]) {
    let sum = (values[0].bits[0] as u32)
        .wrapping_add(values[1].bits[0] as u32)
        .wrapping_add(values[2].bits[0] as u32);
    values[0].bits[0] = u64::from(sum);
}

fn module(settings: CodegenSettings) -> Box<Instance> {
    instantiate(MODULE, settings, vec![Some(add3)])
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
        // Fast path, slow path (page 1 has no entry), page crossing.
        for addr in [200u32, 4096 + 8, 4090, 8190, 65530] {
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
            assert_eq!(m.bytes[at..at + 4], value.to_le_bytes(), "{addr}");
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
        assert_eq!(m.bytes[4100..4108], x.to_le_bytes());
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
        // SAFETY: the cell of global 0.
        assert_eq!(unsafe { (*m.globals[0]).bits[0] }, 7);
        assert_eq!(m.call1(SUM, &[100]), Ok(5050));
    }
}

#[test]
fn depth_stack_fuel_interrupt_and_safepoints() {
    use TrapCode::*;
    for settings in SETTINGS {
        let mut m = module(settings);
        assert_eq!(m.call(RECURSE, &[]), Err(StackExhausted as u32));
        m.runtime.stack_limit = usize::MAX / 2;
        assert_eq!(m.call1(ADD, &[1, 2]), Err(StackExhausted as u32));
        m.runtime.stack_limit = 0;

        m.safepoint.requested = 5;
        assert_eq!(m.call1(ADD, &[1, 2]), Ok(3));
        let expected = if settings.memory == MemoryLowering::Virtual {
            5
        } else {
            0
        };
        assert_eq!(m.safepoint.acked, expected);

        *m.interrupt = 1;
        assert_eq!(m.call1(ADD, &[1, 2]), Err(Interrupted as u32));
        *m.interrupt = 0;

        if settings.fuel {
            // $add: 4 operators (local.get, local.get, i32.add, end).
            m.runtime.fuel = 4;
            assert_eq!(m.call1(ADD, &[1, 2]), Ok(3));
            assert_eq!(m.runtime.fuel, 0);
            assert_eq!(m.call1(ADD, &[1, 2]), Err(OutOfFuel as u32));
            assert_eq!(m.runtime.fuel, 0);
            m.runtime.fuel = 1000;
            assert_eq!(m.call1(SUM, &[1000]), Err(OutOfFuel as u32));
            // $sum: 5 operators outside the loop, 13 in it, entered 11 times.
            m.runtime.fuel = 5 + 13 * 11;
            assert_eq!(m.call1(SUM, &[10]), Ok(55));
            assert_eq!(m.runtime.fuel, 0);
            m.runtime.fuel = 5 + 13 * 11 - 1;
            assert_eq!(m.call1(SUM, &[10]), Err(OutOfFuel as u32));
            assert_eq!(m.runtime.fuel, 12, "fuel left before the 11th iteration");
        }
    }
}
