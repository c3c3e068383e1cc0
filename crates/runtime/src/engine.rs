//! Engine configuration: which memory backend, how much memory, fuel and
//! stack limits.

use std::sync::Arc;

use waven_mmu::FramePool;

use crate::error::Error;

/// How linear memories are implemented.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemoryBackend {
    /// The software MMU: pages, rights, sharing (the default).
    #[default]
    Virtual,
    /// One contiguous bounds-checked array per memory, no virtualization.
    Plain,
}

/// Which engine executes code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The interpreter: translates each function to a register IR and
    /// runs it in a loop. The default of builds without a compiler (the
    /// enclave profile).
    Interpreter,
    /// The compiled engine: machine code from Cranelift, compiled in
    /// process (builds with the `jit` feature) or loaded from a
    /// precompiled artifact. The default where the build has a compiler.
    Compiled,
}

impl Default for EngineKind {
    /// Compiled code where this build can compile ([`COMPILER_AVAILABLE`]),
    /// else the interpreter.
    fn default() -> EngineKind {
        if COMPILER_AVAILABLE {
            EngineKind::Compiled
        } else {
            EngineKind::Interpreter
        }
    }
}

/// Settings of an [`Engine`].
#[derive(Clone, Debug)]
pub struct Config {
    /// The engine that executes code.
    pub engine: EngineKind,
    /// The memory backend of every memory made by this engine.
    pub memory: MemoryBackend,
    /// Bytes of the frame pool that virtual memories take their frames
    /// from (the enclave's memory budget).
    pub frame_budget: u64,
    /// Whether execution consumes fuel (set with [`crate::Store::set_fuel`]).
    pub fuel: bool,
    /// Deepest call nesting before a call traps with "call stack exhausted".
    pub max_call_depth: usize,
    /// The most cells (8 bytes each) the interpreter's value stack of a
    /// store may grow to; it starts at 64 KiB and doubles as calls need.
    pub max_stack_cells: usize,
    /// The most bytes any one linear memory may have: a module whose memory
    /// starts larger fails to instantiate, and `memory.grow` beyond it
    /// fails. `None`: the 4 GiB of 32-bit memories.
    pub max_memory_bytes: Option<u64>,
    /// Start instances of a module from a copy-on-write image of its
    /// initialized memory (virtual memory only): the first instance writes
    /// the data segments, later ones clone the result in time proportional
    /// to the number of pages, and copy a page only when they write it.
    pub cow_instantiation: bool,
    /// Let the frame pool overcommit (virtual memory only): `memory.grow`
    /// then never fails for lack of frames, and a write that finds no
    /// frame left traps instead. Off by default: every page a memory may
    /// write is reserved when it grows, so a tenant within its quota never
    /// faults for lack of frames. Manifests and `waven run` never turn it
    /// on; it is for embedders (and tests) that prefer density.
    pub overcommit: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            engine: EngineKind::default(),
            memory: MemoryBackend::Virtual,
            frame_budget: 1 << 30,
            fuel: false,
            max_call_depth: 10_000,
            max_stack_cells: 1 << 20,
            max_memory_bytes: None,
            cow_instantiation: true,
            overcommit: false,
        }
    }
}

/// Compiles modules and holds what their stores share: the configuration
/// and the frame pool. Cloning gives another handle to the same engine.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) config: Arc<Config>,
    pub(crate) pool: FramePool,
}

impl Engine {
    /// An engine with `config`.
    ///
    /// With the `enclave` feature, the plain backend, whose memory lies
    /// outside the frame pool, is refused. Memories are not capped: a
    /// memory's translation tables grow with its pages, and the frames it
    /// may grow by are promised from the pool (and the store's quota)
    /// when it grows, so `memory.grow` beyond the budget returns -1.
    ///
    /// # Errors
    ///
    /// [`Error::Memory`] if the frame pool cannot be reserved;
    /// [`Error::Unsupported`] for the plain backend in the enclave profile.
    pub fn new(config: Config) -> Result<Engine, Error> {
        #[cfg(feature = "enclave")]
        let config = enclave_config(config)?;
        let budget = match config.memory {
            MemoryBackend::Virtual => config.frame_budget,
            MemoryBackend::Plain => 0,
        };
        let pool = if config.overcommit {
            FramePool::new_overcommitted(budget)?
        } else {
            FramePool::new(budget)?
        };
        Ok(Engine {
            config: Arc::new(config),
            pool,
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The frame pool of virtual memories.
    pub fn frame_pool(&self) -> &FramePool {
        &self.pool
    }
}

/// Whether this build can compile modules in process (the `jit` feature):
/// without it, the compiled engine runs only precompiled artifacts.
pub const COMPILER_AVAILABLE: bool = cfg!(all(feature = "jit", not(feature = "enclave")));

/// Whether this build is the enclave profile (the `enclave` feature).
pub const ENCLAVE_PROFILE: bool = cfg!(feature = "enclave");

/// `config` as the enclave profile allows it.
#[cfg(feature = "enclave")]
fn enclave_config(config: Config) -> Result<Config, Error> {
    if config.memory == MemoryBackend::Plain {
        return Err(Error::Unsupported(
            "the plain memory backend keeps guest memory outside the frame pool; \
             the enclave profile allows only virtual memory"
                .to_owned(),
        ));
    }
    Ok(config)
}
