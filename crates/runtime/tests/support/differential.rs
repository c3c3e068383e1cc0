//! Differential testing: generated modules run on every configuration
//! (engine × memory backend), and each configuration's observable
//! behaviour is compared with the first one's.
//!
//! ```text
//!  base seed, index ──splitmix64──► bytes ──wasm-smith──► module
//!                                                          │
//!  for each Configuration of configs():                    ▼
//!     record: compile ─► instantiate (start function) ─► call every exported
//!             function in export order, with zeros, then with boundary values
//!             ─► every exported global, memory, table ─► a second instance
//!                                                          │
//!  compare(records[0], records[k]) ──► Divergence { seed, index, .wasm, difference }
//! ```
//!
//! Every run of module code gets the same fuel, so that loops (start
//! functions included) end with "all fuel consumed" at the same point on
//! every engine: fuel costs are engine-neutral (`waven_environ::fuel`), so
//! the fuel left after each call is compared too.
//!
//! The test `tests/differential.rs` and the campaign runner
//! `examples/differential.rs` include this file with `#[path]`. It is not in
//! the library because it needs wasm-smith and wasmprinter, which are
//! dev-dependencies: the runtime must not depend on a module generator, and
//! a feature for it would be a second way to build the crate for little gain.

// Each includer uses a different part of the harness.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::Unstructured;
use waven_runtime::{
    Config, Engine, EngineKind, Error, Extern, ExternType, Func, Instance, Linker, MemoryBackend,
    Module, Store, StoreLimit, TrapKind, Val, ValType, COMPILER_AVAILABLE, ENCLAVE_PROFILE,
};

/// Fuel for instantiation and for each call.
pub const FUEL_PER_CALL: u64 = 100_000;

/// The base seed when none is given ("waven_df").
pub const DEFAULT_SEED: u64 = 0x7761_7665_6e5f_6466;

/// Bytes of a Wasm page.
const WASM_PAGE: u64 = 1 << 16;

/// The largest memory a generated module declares, and the most any
/// memory may grow to on every configuration: without the cap, a memory
/// without a maximum grows as far as each backend's reserve allows (the
/// frame budget for virtual memory), which is a difference of
/// configuration, not of behaviour.
pub const MAX_MEMORY_BYTES: u64 = 16 * WASM_PAGE;

/// One way to run modules: an engine with a memory backend.
#[derive(Clone, Debug)]
pub struct Configuration {
    /// For reports: `interpreter×virtual`.
    pub name: String,
    /// The engine's settings.
    pub config: Config,
}

impl Configuration {
    /// `engine` over `memory`, with fuel and the harness's memory cap.
    pub fn new(engine: EngineKind, memory: MemoryBackend) -> Configuration {
        Configuration {
            name: format!("{engine:?}×{memory:?}").to_lowercase(),
            config: Config {
                engine,
                memory,
                fuel: true,
                // Enough frames for the 1 MiB memories of a few stores at
                // once; nothing near it is reserved.
                frame_budget: 64 << 20,
                max_memory_bytes: Some(MAX_MEMORY_BYTES),
                ..Config::default()
            },
        }
    }
}

/// The configurations compared, the reference first. Adding an engine or
/// backend is one line here, such as
/// `Configuration::new(EngineKind::Compiled, MemoryBackend::Virtual),`.
/// Every configuration listed must make an engine (the run panics
/// otherwise, rather than compare less than it claims).
pub fn configs() -> Vec<Configuration> {
    [
        Configuration::new(EngineKind::Interpreter, MemoryBackend::Virtual),
        Configuration::new(EngineKind::Interpreter, MemoryBackend::Plain),
        Configuration::new(EngineKind::Compiled, MemoryBackend::Virtual),
        Configuration::new(EngineKind::Compiled, MemoryBackend::Plain),
    ]
    .into_iter()
    // A build without the compiler (`--no-default-features`) compares the
    // interpreter's backends only.
    .filter(|c| COMPILER_AVAILABLE || c.config.engine != EngineKind::Compiled)
    // The enclave profile refuses the plain backend.
    .filter(|c| !(ENCLAVE_PROFILE && c.config.memory == MemoryBackend::Plain))
    .collect()
}

// ---------------------------------------------------------------------------
// Generation

/// The splitmix64 generator: `state` advances, the output is well mixed.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce5_e4b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of module `index` of a run with `base` seed.
pub fn module_seed(base: u64, index: u64) -> u64 {
    let mut state = base ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93);
    splitmix64(&mut state)
}

/// Most bytes of randomness wasm-smith gets for one module; the module's
/// size grows with it.
const MAX_INPUT_BYTES: u64 = 32 << 10;

/// The function imports a module may have. The linker defines them as
/// trapping host functions (`Linker::define_unknown_imports_as_traps`):
/// calls into the host and a trap unwinding through Wasm frames are paths
/// every engine implements on its own, so they are worth comparing, while
/// imported memories, tables and globals would need host objects and are
/// better exercised as the module's own.
const AVAILABLE_IMPORTS: &str = r#"
(module
  (import "env" "nullary" (func))
  (import "env" "i32_i32" (func (param i32) (result i32)))
  (import "env" "i64_f64" (func (param i64 f64)))
  (import "env" "two_results" (func (param f32) (result i32 i64)))
  (import "env" "refs" (func (param funcref externref) (result externref))))
"#;

/// What wasm-smith generates: WebAssembly 2.0 without SIMD, as waven
/// supports it, small enough that thousands of modules run in seconds.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        available_imports: Some(wat::parse_str(AVAILABLE_IMPORTS).expect("valid WAT")),
        // WebAssembly 2.0 without SIMD.
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        compact_imports_enabled: false,
        custom_descriptors_enabled: false,
        max_memories: 1,
        // NaN payloads are nondeterministic across engines.
        canonicalize_nans: true,
        export_everything: true,
        // Bounded so that runs stay small.
        max_memory32_bytes: MAX_MEMORY_BYTES,
        max_tables: 3,
        max_table_elements: 1_000,
        // Left to itself, wasm-smith often makes no function at all.
        min_funcs: 3,
        max_funcs: 30,
        min_types: 2,
        max_types: 20,
        max_instructions: 300,
        max_globals: 20,
        max_data_segments: 10,
        max_element_segments: 10,
        max_elements: 50,
        ..wasm_smith::Config::default()
    }
}

/// Module `seed`'s binary: wasm-smith fed with splitmix64 output.
pub fn generate(seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut config = smith_config();
    // Calls that reach an import trap, and wasm-smith calls them often:
    // most modules go without, so that most calls run to the end.
    // (wasm-smith ignores `max_imports` when it has `available_imports`.)
    if !splitmix64(&mut state).is_multiple_of(4) {
        config.available_imports = None;
        config.max_imports = 0;
    }
    let len = 64 + splitmix64(&mut state) % MAX_INPUT_BYTES;
    let bytes: Vec<u8> = (0..len.div_ceil(8))
        .flat_map(|_| splitmix64(&mut state).to_le_bytes())
        .collect();
    let mut input = Unstructured::new(&bytes);
    match wasm_smith::Module::new(config, &mut input) {
        Ok(module) => module.to_bytes(),
        Err(error) => panic!("wasm-smith failed for seed {seed:#018x}: {error}"),
    }
}

// ---------------------------------------------------------------------------
// Recording

/// A value, engine-neutral: floats as bits (NaNs are canonical), functions
/// by the name they are exported under rather than a store index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `i32`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `f32` bits.
    F32(u32),
    /// `f64` bits.
    F64(u64),
    /// A function reference: the first export naming the function, or
    /// `"?"` for a function the instance does not export.
    FuncRef(Option<String>),
    /// A host reference (only null: the harness passes no others).
    ExternRef(Option<u32>),
}

/// Why compiling, instantiating or calling failed, without the parts that
/// may differ between correct engines (host messages, backtraces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The module was rejected as invalid.
    InvalidModule,
    /// The module uses a feature waven does not support.
    Unsupported,
    /// An import could not be resolved.
    Link,
    /// A trap: its kind, with the address of a memory fault; host messages
    /// are erased.
    Trap(TrapKind),
    /// A value of the wrong type.
    TypeMismatch,
    /// A missing export.
    NoSuchExport,
    /// A duplicate linker definition.
    DuplicateDefinition,
    /// The software MMU refused to create a memory.
    Memory,
    /// A per-object limit.
    Limit,
    /// A store limit.
    StoreLimit(StoreLimit),
    /// An error of a kind added after this harness, by its variant name.
    Other(String),
}

impl Failure {
    fn of(error: &Error) -> Failure {
        match error {
            Error::InvalidModule { .. } => Failure::InvalidModule,
            Error::Unsupported(_) => Failure::Unsupported,
            Error::Link { .. } => Failure::Link,
            Error::Trap(trap) => Failure::Trap(match &trap.kind {
                TrapKind::Host(_) => TrapKind::Host(String::new()),
                kind => kind.clone(),
            }),
            Error::TypeMismatch(_) => Failure::TypeMismatch,
            Error::NoSuchExport(_) => Failure::NoSuchExport,
            Error::DuplicateDefinition { .. } => Failure::DuplicateDefinition,
            Error::Memory(_) => Failure::Memory,
            Error::Limit(_) => Failure::Limit,
            Error::StoreLimit { limit, .. } => Failure::StoreLimit(*limit),
            // Kinds added later (such as the compiled engine's) compare by
            // name until they get a variant here.
            #[allow(unreachable_patterns)]
            other => Failure::Other(variant_name(other)),
        }
    }
}

/// `Name` of `Name(..)` or `Name { .. }` in `value`'s `Debug` form.
pub fn variant_name(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let end = debug
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(debug.len());
    debug[..end].to_owned()
}

/// Something a configuration did that every other must do alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// `Module::new` failed (nothing follows).
    Compile(Failure),
    /// Instantiation, start function included (nothing of the instance
    /// follows a failure).
    Instantiate {
        /// 0 for the instance that runs the calls, 1 for the second one.
        nth: u32,
        /// Success or why not.
        outcome: Result<(), Failure>,
        /// Fuel left afterwards.
        fuel_left: u64,
    },
    /// A call of an exported function.
    Call {
        /// The export's name.
        export: String,
        /// The arguments.
        args: Vec<Value>,
        /// The results, or why there are none.
        outcome: Result<Vec<Value>, Failure>,
        /// Fuel left afterwards.
        fuel_left: u64,
    },
    /// An exported global's value, after the calls (after instantiation
    /// for the second instance).
    Global {
        /// The export's name.
        export: String,
        /// Its value.
        value: Value,
    },
    /// An exported memory, likewise.
    Memory {
        /// The export's name.
        export: String,
        /// `memory.size` in bytes.
        bytes: u64,
        /// FNV-1a of each Wasm page, so that a report names the page.
        page_hashes: Vec<u64>,
    },
    /// An exported table, likewise.
    Table {
        /// The export's name.
        export: String,
        /// Every element, in order.
        elements: Vec<Value>,
    },
}

/// Whether `observation` is a run that ended with the call stack exhausted.
pub fn exhausts_stack(observation: Option<&Observation>) -> bool {
    matches!(
        observation,
        Some(
            Observation::Instantiate {
                outcome: Err(Failure::Trap(TrapKind::CallStackExhausted)),
                ..
            } | Observation::Call {
                outcome: Err(Failure::Trap(TrapKind::CallStackExhausted)),
                ..
            }
        )
    )
}

/// Everything one configuration observably did with one module, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record(pub Vec<Observation>);

/// Runs `wasm` on `engine`: instantiates it and calls every exported
/// function in export order, each with `fuel`, first with default
/// arguments and then with boundary values, then reads the exported
/// state. Then it instantiates the module once more, in a store of its
/// own, and reads that instance's state: on virtual memory, the second
/// instance starts from the module's copy-on-write image of its
/// initialized memory, which the first instance's writes must not reach.
pub fn record(engine: &Engine, wasm: &[u8], fuel: u64) -> Record {
    let module = match Module::new(engine, wasm) {
        Ok(module) => module,
        Err(error) => return Record(vec![Observation::Compile(Failure::of(&error))]),
    };
    let mut observations = Vec::new();
    if let Some(mut run) = Run::instantiate(engine, &module, 0, fuel, &mut observations) {
        run.call_exported_funcs(Arguments::Default, fuel, &mut observations);
        run.call_exported_funcs(Arguments::Boundaries, fuel, &mut observations);
        run.observe_exports(&mut observations);
    }
    if let Some(run) = Run::instantiate(engine, &module, 1, fuel, &mut observations) {
        run.observe_exports(&mut observations);
    }
    Record(observations)
}

/// An instance in a store of its own.
struct Run {
    store: Store<()>,
    instance: Instance,
    exports: Vec<(String, ExternType)>,
    names: FuncNames,
}

impl Run {
    /// Instantiates `module` with `fuel`, observing the outcome.
    fn instantiate(
        engine: &Engine,
        module: &Module,
        nth: u32,
        fuel: u64,
        observations: &mut Vec<Observation>,
    ) -> Option<Run> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new();
        linker
            .define_unknown_imports_as_traps(module)
            .expect("a fresh linker has no definitions to clash with");
        store.set_fuel(fuel);
        let instance = linker.instantiate(&mut store, module);
        observations.push(Observation::Instantiate {
            nth,
            outcome: instance.as_ref().map(|_| ()).map_err(Failure::of),
            fuel_left: store.fuel(),
        });
        let instance = instance.ok()?;
        let exports: Vec<(String, ExternType)> = module
            .exports()
            .map(|(name, kind)| (name.to_owned(), kind))
            .collect();
        let names = FuncNames::of(&store, instance, &exports);
        Some(Run {
            store,
            instance,
            exports,
            names,
        })
    }

    /// Calls every exported function in export order, each with `fuel`:
    /// with `Arguments::Default`, zeros and null references; with
    /// `Arguments::Boundaries`, numbers at the edges of MMU pages, Wasm
    /// pages and integer ranges (where addresses are computed from
    /// parameters, they land where backends differ most).
    fn call_exported_funcs(
        &mut self,
        arguments: Arguments,
        fuel: u64,
        observations: &mut Vec<Observation>,
    ) {
        let store = &mut self.store;
        let funcs = self
            .exports
            .iter()
            .filter(|(_, kind)| *kind == ExternType::Func);
        for (position, (name, _)) in funcs.enumerate() {
            let func = self
                .instance
                .get_func(store, name)
                .expect("an exported function");
            let ty = func.ty(store);
            let args: Vec<Val> = ty
                .params()
                .iter()
                .enumerate()
                .map(|(j, &t)| match arguments {
                    Arguments::Default => Val::default_for(t),
                    Arguments::Boundaries => boundary_value(t, position + j),
                })
                .collect();
            let mut results: Vec<Val> = ty.results().iter().map(|&t| Val::default_for(t)).collect();
            store.set_fuel(fuel);
            let outcome = func
                .call(store, &args, &mut results)
                .map(|()| results.iter().map(|v| self.names.value(v)).collect())
                .map_err(|error| Failure::of(&error));
            observations.push(Observation::Call {
                export: name.clone(),
                args: args.iter().map(|v| self.names.value(v)).collect(),
                outcome,
                fuel_left: store.fuel(),
            });
        }
    }

    /// Every exported global, memory and table.
    fn observe_exports(&self, observations: &mut Vec<Observation>) {
        let store = &self.store;
        for (name, _) in &self.exports {
            let export = name.clone();
            match self.instance.get_export(store, name).expect("an export") {
                Extern::Func(_) => {}
                Extern::Global(global) => observations.push(Observation::Global {
                    export,
                    value: self.names.value(&global.get(store)),
                }),
                Extern::Memory(memory) => {
                    let bytes = memory.size_bytes(store);
                    let mut page = vec![0; WASM_PAGE as usize];
                    let page_hashes = (0..bytes / WASM_PAGE)
                        .map(|i| {
                            memory
                                .read(store, i * WASM_PAGE, &mut page)
                                .expect("guest memory is readable up to its size");
                            fnv1a(&page)
                        })
                        .collect();
                    observations.push(Observation::Memory {
                        export,
                        bytes,
                        page_hashes,
                    });
                }
                Extern::Table(table) => {
                    let elements = (0..table.size(store))
                        .map(|i| self.names.value(&table.get(store, i).expect("in bounds")))
                        .collect();
                    observations.push(Observation::Table { export, elements });
                }
            }
        }
    }
}

/// Which arguments exported functions are called with.
#[derive(Clone, Copy, Debug)]
enum Arguments {
    /// Zeros and null references.
    Default,
    /// Numbers at the edges of pages and ranges.
    Boundaries,
}

/// Integers at the edges of MMU pages (4 KiB), Wasm pages, the harness's
/// largest memory and the integer ranges.
const BOUNDARIES: [i64; 12] = [
    1,
    -1,
    4092,
    4096,
    65532,
    65535,
    65536,
    131064,
    MAX_MEMORY_BYTES as i64 - 8,
    i32::MAX as i64,
    i32::MIN as i64,
    i64::MIN,
];

/// A value of type `ty` from [`BOUNDARIES`], the `i`th in turn.
fn boundary_value(ty: ValType, i: usize) -> Val {
    let n = BOUNDARIES[i % BOUNDARIES.len()];
    match ty {
        ValType::I32 => Val::I32(n as i32),
        ValType::I64 => Val::I64(n),
        ValType::F32 => Val::F32((n as f32).to_bits()),
        ValType::F64 => Val::F64((n as f64).to_bits()),
        ValType::FuncRef | ValType::ExternRef => Val::default_for(ty),
    }
}

/// The exported functions by store handle, to name function references.
struct FuncNames(Vec<(Func, String)>);

impl FuncNames {
    fn of(store: &Store<()>, instance: Instance, exports: &[(String, ExternType)]) -> FuncNames {
        FuncNames(
            exports
                .iter()
                .filter_map(|(name, _)| match instance.get_export(store, name)? {
                    Extern::Func(func) => Some((func, name.clone())),
                    _ => None,
                })
                .collect(),
        )
    }

    fn value(&self, value: &Val) -> Value {
        match *value {
            Val::I32(v) => Value::I32(v),
            Val::I64(v) => Value::I64(v),
            Val::F32(bits) => Value::F32(bits),
            Val::F64(bits) => Value::F64(bits),
            Val::FuncRef(func) => Value::FuncRef(func.map(|func| {
                self.0
                    .iter()
                    .find(|(f, _)| *f == func)
                    .map_or_else(|| "?".to_owned(), |(_, name)| name.clone())
            })),
            Val::ExternRef(r) => Value::ExternRef(r.map(|r| r.0)),
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------
// Comparing

/// How `other` differs from `reference`, named for a reader, or `None`.
pub fn compare(reference: &Record, other: &Record) -> Option<String> {
    let (a, b) = (&reference.0, &other.0);
    // How deep a call may go is each engine's own limit (frames differ in
    // size: interpreter slots, native stack), so a run that exhausts the
    // call stack on either side is compared only up to that point: which
    // limit ends a deep recursion first (stack or fuel), the fuel spent on
    // the way and what the deeper side wrote to memory may differ.
    let comparable = (0..a.len().max(b.len()))
        .find(|&i| exhausts_stack(a.get(i)) || exhausts_stack(b.get(i)))
        .unwrap_or(a.len().max(b.len()));
    let at = (0..comparable).find(|&i| a.get(i) != b.get(i))?;
    let mut out = format!("observation #{at} differs\n");
    match (a.get(at), b.get(at)) {
        (
            Some(Observation::Memory {
                export,
                bytes: size_a,
                page_hashes: pages_a,
            }),
            Some(Observation::Memory {
                bytes: size_b,
                page_hashes: pages_b,
                ..
            }),
        ) => {
            let _ = write!(out, "  memory {export:?}: {size_a} bytes vs {size_b} bytes");
            if let Some(page) =
                (0..pages_a.len().min(pages_b.len())).find(|&p| pages_a[p] != pages_b[p])
            {
                let _ = write!(
                    out,
                    "; contents differ first in page {page} (from byte {:#x})",
                    page as u64 * WASM_PAGE
                );
            }
        }
        (
            Some(Observation::Table {
                export,
                elements: elements_a,
            }),
            Some(Observation::Table {
                elements: elements_b,
                ..
            }),
        ) => {
            let _ = write!(
                out,
                "  table {export:?}: {} elements vs {}",
                elements_a.len(),
                elements_b.len()
            );
            if let Some(i) = (0..elements_a.len().min(elements_b.len()))
                .find(|&i| elements_a[i] != elements_b[i])
            {
                let _ = write!(
                    out,
                    "; element {i}: {:?} vs {:?}",
                    elements_a[i], elements_b[i]
                );
            }
        }
        (x, y) => {
            let _ = write!(out, "  reference: {x:?}\n  this:      {y:?}");
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// Campaigns

/// Which modules a run generates, and with how much fuel.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// The base seed.
    pub seed: u64,
    /// The index of the first module.
    pub first: u64,
    /// How many modules.
    pub modules: u64,
    /// Fuel for instantiation and each call.
    pub fuel: u64,
    /// Worker threads.
    pub threads: usize,
    /// Print a line to stderr every this many modules (0: never).
    pub progress_every: u64,
}

impl Campaign {
    /// `modules` modules from `seed`, starting at index 0, on every core.
    pub fn new(seed: u64, modules: u64) -> Campaign {
        Campaign {
            seed,
            first: 0,
            modules,
            fuel: FUEL_PER_CALL,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            progress_every: 0,
        }
    }
}

/// A module on which a configuration differs from the reference.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// The run's base seed.
    pub base_seed: u64,
    /// The module's index in the run.
    pub index: u64,
    /// The module's binary.
    pub wasm: Vec<u8>,
    /// The configuration that differs.
    pub config: String,
    /// The reference configuration.
    pub reference: String,
    /// The first difference.
    pub difference: String,
}

impl Divergence {
    /// Saves the module to `target/differential-failures/` (as .wasm and
    /// .wat) and describes the divergence: seed, difference, how to
    /// reproduce, and the module's text.
    pub fn report(&self) -> String {
        self.report_in(&failures_dir())
    }

    /// [`Divergence::report`], saving the module in `dir`.
    pub fn report_in(&self, dir: &std::path::Path) -> String {
        let wat = wasmprinter::print_bytes(&self.wasm)
            .unwrap_or_else(|error| format!("(wasmprinter failed: {error})"));
        let stem = format!("seed-{:#018x}-module-{}", self.base_seed, self.index);
        let wasm_path = dir.join(format!("{stem}.wasm"));
        let saved = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&wasm_path, &self.wasm))
            .and_then(|()| std::fs::write(dir.join(format!("{stem}.wat")), &wat));
        let saved = match saved {
            Ok(()) => format!("saved as {}", wasm_path.display()),
            Err(error) => format!("not saved ({error})"),
        };
        format!(
            "DIVERGENCE: {} differs from {} on module {} of seed {:#018x} (module seed {:#018x})\n\
             {}\n\
             module {saved}\n\
             reproduce: WAVEN_DIFF_SEED={:#x} WAVEN_DIFF_FIRST={} WAVEN_DIFF_MODULES=1 \
             cargo test -p waven-runtime --test differential generated_modules\n\
             \x20      or: cargo run -p waven-runtime --example differential -- --wasm {}\n\
             {wat}",
            self.config,
            self.reference,
            self.index,
            self.base_seed,
            module_seed(self.base_seed, self.index),
            self.difference,
            self.base_seed,
            self.index,
            wasm_path.display(),
        )
    }
}

fn failures_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("differential-failures")
}

/// What the reference configuration did over a run, to show that the
/// modules exercise something.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Modules that compiled.
    pub compiled: u64,
    /// Modules that instantiated.
    pub instantiated: u64,
    /// Calls made.
    pub calls: u64,
    /// Calls that returned.
    pub returned: u64,
    /// Calls that ran out of fuel.
    pub out_of_fuel: u64,
    /// Calls by outcome: "returned" or the trap.
    pub outcomes: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    fn add(&mut self, record: &Record) {
        for observation in &record.0 {
            match observation {
                Observation::Instantiate {
                    nth: 0, outcome, ..
                } => {
                    self.compiled += 1;
                    self.instantiated += u64::from(outcome.is_ok());
                }
                Observation::Call { outcome, .. } => {
                    self.calls += 1;
                    self.returned += u64::from(outcome.is_ok());
                    self.out_of_fuel +=
                        u64::from(*outcome == Err(Failure::Trap(TrapKind::OutOfFuel)));
                    let key = match outcome {
                        Ok(_) => "returned".to_owned(),
                        Err(Failure::Trap(TrapKind::Host(_))) => "host error".to_owned(),
                        Err(Failure::Trap(kind)) => kind.to_string(),
                        Err(failure) => format!("{failure:?}"),
                    };
                    *self.outcomes.entry(key).or_default() += 1;
                }
                _ => {}
            }
        }
    }

    fn merge(&mut self, other: Stats) {
        self.compiled += other.compiled;
        self.instantiated += other.instantiated;
        self.calls += other.calls;
        self.returned += other.returned;
        self.out_of_fuel += other.out_of_fuel;
        for (outcome, count) in other.outcomes {
            *self.outcomes.entry(outcome).or_default() += count;
        }
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Summary {
    /// Modules run.
    pub modules: u64,
    /// Configurations compared.
    pub configurations: usize,
    /// What the reference did.
    pub stats: Stats,
    /// Every divergence, by module index.
    pub divergences: Vec<Divergence>,
}

impl Summary {
    /// `differential: N modules, K configurations, D divergences`.
    pub fn line(&self) -> String {
        format!(
            "differential: {} modules, {} configurations, {} divergences",
            self.modules,
            self.configurations,
            self.divergences.len()
        )
    }

    /// The first few divergences in full (saving their modules), the rest
    /// one line each: a systematic divergence shows in every module.
    pub fn reports(&self) -> String {
        const IN_FULL: usize = 5;
        let mut out = String::new();
        for (i, d) in self.divergences.iter().enumerate() {
            if i < IN_FULL {
                let _ = writeln!(out, "{}", d.report());
            } else {
                let _ = writeln!(
                    out,
                    "DIVERGENCE: {} on module {} of seed {:#x}: {}",
                    d.config,
                    d.index,
                    d.base_seed,
                    d.difference.replace('\n', " ")
                );
            }
        }
        out
    }
}

/// Engines for `configs`.
///
/// # Panics
///
/// If a configuration has no engine: a configuration in the list must
/// work, or the run would compare less than it claims.
fn engines(configs: &[Configuration]) -> Vec<Engine> {
    configs
        .iter()
        .map(|c| {
            Engine::new(c.config.clone())
                .unwrap_or_else(|error| panic!("configuration {}: no engine: {error}", c.name))
        })
        .collect()
}

/// Runs `wasm` on every configuration: the divergences from the first
/// one, and the first one's record.
pub fn check(
    configs: &[Configuration],
    engines: &[Engine],
    wasm: &[u8],
    fuel: u64,
) -> (Record, Vec<(String, String)>) {
    let reference = record(&engines[0], wasm, fuel);
    let divergences = configs
        .iter()
        .zip(engines)
        .skip(1)
        .filter_map(|(config, engine)| {
            compare(&reference, &record(engine, wasm, fuel))
                .map(|difference| (config.name.clone(), difference))
        })
        .collect();
    (reference, divergences)
}

/// Runs one module file on every configuration.
pub fn run_file(
    configs: &[Configuration],
    wasm: &[u8],
    fuel: u64,
) -> (Record, Vec<(String, String)>) {
    check(configs, &engines(configs), wasm, fuel)
}

/// Runs `campaign` on `configs`, spreading modules over its threads.
pub fn run(campaign: &Campaign, configs: &[Configuration]) -> Summary {
    assert!(!configs.is_empty(), "no configuration to run");
    let threads = campaign.threads.max(1) as u64;
    let (mut stats, mut divergences) = (Stats::default(), Vec::new());
    let (done, diverged) = (&AtomicU64::new(0), &AtomicU64::new(0));
    // Made before any worker starts, so that a configuration without an
    // engine fails the run at once; the workers share them.
    let engines = &engines(configs);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    let (mut stats, mut divergences) = (Stats::default(), Vec::new());
                    for index in (campaign.first + worker..campaign.first + campaign.modules)
                        .step_by(threads as usize)
                    {
                        let wasm = generate(module_seed(campaign.seed, index));
                        // A panic is a finding too, reported with its seed.
                        let checked = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            check(configs, engines, &wasm, campaign.fuel)
                        }));
                        let found = match checked {
                            Ok((reference, found)) => {
                                stats.add(&reference);
                                found
                            }
                            Err(payload) => vec![("a panic".to_owned(), panic_message(&payload))],
                        };
                        diverged.fetch_add(found.len() as u64, Ordering::Relaxed);
                        for (config, difference) in found {
                            divergences.push(Divergence {
                                base_seed: campaign.seed,
                                index,
                                wasm: wasm.clone(),
                                config,
                                reference: configs[0].name.clone(),
                                difference,
                            });
                        }
                        let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if campaign.progress_every != 0 && done % campaign.progress_every == 0 {
                            eprintln!(
                                "differential: {done}/{} modules, {} divergences so far",
                                campaign.modules,
                                diverged.load(Ordering::Relaxed)
                            );
                        }
                    }
                    (stats, divergences)
                })
            })
            .collect();
        for worker in workers {
            let (worker_stats, found) = worker.join().expect("a worker panicked");
            stats.merge(worker_stats);
            divergences.extend(found);
        }
    });
    divergences.sort_by_key(|d| d.index);
    Summary {
        modules: campaign.modules,
        configurations: configs.len(),
        stats,
        divergences,
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    format!("panicked: {message}")
}

/// A number in decimal or `0x` hexadecimal.
pub fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim().replace('_', "");
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
