//! The `.cwasm` artifact: a module's compiled code in a file, with what it
//! was compiled for and the module itself.
//!
//! `waven compile` writes one; `waven run`, manifests and the embedding API
//! load it. In the enclave profile (DESIGN.md section 6) nothing is compiled
//! at run time, so an artifact is the only way code gets in: a manifest pins
//! the file's SHA-256 ([`Artifact::file_sha256`]) and the runtime checks it,
//! then [`Artifact::from_bytes`] checks the file is whole and consistent,
//! then [`Artifact::check_compatible`] checks this host and runtime can run
//! it, and only then is the code loaded and made executable.
//!
//! # Layout
//!
//! Little-endian throughout; a *length* is a `u64` count (of bytes for
//! byte strings, of entries for vectors) followed by the entries.
//!
//! ```text
//!  magic            8 bytes  "\0wavencw"
//!  format_version   u32      FORMAT_VERSION
//!  waven_version    length + UTF-8
//!  target           length + UTF-8
//!  cpu_features     length + (length + UTF-8)*
//!  settings         u8 memory (0 virtual, 1 plain), u8 fuel (0 or 1)
//!  module_sha256    32 bytes
//!  module           length + bytes             (the source .wasm)
//!  text             length + bytes
//!  funcs            length + (u32 start, u32 end)*
//!  trampolines      length + u32*
//!  relocs           length + (u32 offset, u8 kind, u8 target kind,
//!                             u32 target, i64 addend)*
//!  file_sha256      32 bytes  SHA-256 of every byte before it
//! ```
//!
//! The parser reads through a bounded reader that reports
//! [`ArtifactError::Truncated`] rather than reading past the end, and checks
//! every count against the bytes actually left before allocating for it,
//! so no input makes it panic or allocate more than the file's size.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::code::{
    CodegenSettings, CompiledCode, MathFunc, MemoryLowering, Reloc, RelocKind, RelocTarget,
};

/// The first bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"\0wavencw";

/// The layout version this runtime writes and reads (2: the functions are
/// followed by the slow-path stubs, `vm::SlowPathStub`; 3: virtual memories
/// translate through a two-level directory, `vm::VMMemory::directory`, so
/// code of version 2 must not run against this runtime's `VMMemory`).
pub const FORMAT_VERSION: u32 = 3;

/// The bytes of the SHA-256 that ends the file.
const HASH_BYTES: usize = 32;

/// Magic plus format version: what is read before the integrity check.
const PREFIX_BYTES: usize = MAGIC.len() + 4;

/// Bytes of one encoded function range.
const FUNC_BYTES: usize = 8;
/// Bytes of one encoded trampoline offset.
const TRAMPOLINE_BYTES: usize = 4;
/// Bytes of one encoded relocation.
const RELOC_BYTES: usize = 4 + 1 + 1 + 4 + 8;
/// The smallest encoded string (an empty one: just its length).
const MIN_STRING_BYTES: usize = 8;

/// What an artifact was compiled for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactHeader {
    /// The layout version ([`FORMAT_VERSION`] when written by this crate).
    pub format_version: u32,
    /// The waven version that compiled it; only the same version runs it.
    pub waven_version: String,
    /// The target it was compiled for, as [`host_target`] names it.
    pub target: String,
    /// The CPU features the code may use (names as [`host_cpu_features`]
    /// gives them).
    pub cpu_features: Vec<String>,
    /// The code generation settings.
    pub settings: CodegenSettings,
    /// SHA-256 of [`Artifact::module`].
    pub module_sha256: [u8; 32],
}

/// A compiled module as stored in a `.cwasm` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// What it was compiled for.
    pub header: ArtifactHeader,
    /// The source `.wasm` bytes: the runtime validates them again to get
    /// the module's contents (types, imports, exports, segments). Their
    /// SHA-256 is [`ArtifactHeader::module_sha256`].
    pub module: Vec<u8>,
    /// The machine code. That its trampolines and functions match the
    /// module's types and functions is for the loader to check, once it
    /// has validated the module.
    pub code: CompiledCode,
}

/// Why an artifact cannot be loaded or run here.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ArtifactError {
    /// The file does not start with [`MAGIC`].
    #[error("not a waven artifact (.cwasm): the file does not start with the artifact magic")]
    BadMagic,
    /// The file's layout version is not the one this waven reads.
    #[error(
        "unsupported artifact format version {found} (this waven reads version {expected}); \
         compile the module again"
    )]
    UnsupportedFormat {
        /// The file's version.
        found: u32,
        /// The version this crate reads.
        expected: u32,
    },
    /// The file ends before something it announces.
    #[error(
        "truncated artifact: the {what} at byte {offset} needs {needed} bytes but only \
         {remaining} remain"
    )]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts in the file.
        offset: usize,
        /// How many bytes it needs.
        needed: u64,
        /// How many bytes were left.
        remaining: usize,
    },
    /// The SHA-256 at the end of the file does not match its contents:
    /// the file was damaged or altered.
    #[error(
        "artifact integrity check failed: the file's SHA-256 does not match the one it \
         records (damaged or altered file)"
    )]
    IntegrityMismatch,
    /// A count is larger than the bytes left could hold.
    #[error(
        "malformed artifact: {what} at byte {offset} counts {count} entries of at least \
         {entry_bytes} bytes, but only {remaining} bytes remain"
    )]
    CountTooLarge {
        /// What was being counted.
        what: &'static str,
        /// Where the count is in the file.
        offset: usize,
        /// The count.
        count: u64,
        /// The smallest size of one entry.
        entry_bytes: usize,
        /// How many bytes were left after the count.
        remaining: usize,
    },
    /// The module's SHA-256 is not the one the header records.
    #[error("the artifact's module does not match the SHA-256 its header records")]
    ModuleHashMismatch,
    /// A function's byte range is empty or not inside the text.
    #[error(
        "malformed artifact: defined function {index} has code range {start:#x}..{end:#x}, \
         not inside the {text_len:#x}-byte text"
    )]
    FuncOutOfText {
        /// The defined function's index.
        index: u32,
        /// Its first byte.
        start: u32,
        /// One past its last byte.
        end: u32,
        /// The text's size.
        text_len: usize,
    },
    /// A trampoline's offset is not inside the text.
    #[error(
        "malformed artifact: the trampoline of type {type_index} is at {offset:#x}, not \
         inside the {text_len:#x}-byte text"
    )]
    TrampolineOutOfText {
        /// The type index.
        type_index: u32,
        /// Its offset.
        offset: u32,
        /// The text's size.
        text_len: usize,
    },
    /// A relocation patches bytes outside the text.
    #[error(
        "malformed artifact: relocation {index} patches {width} bytes at {offset:#x}, not \
         inside the {text_len:#x}-byte text"
    )]
    RelocOutOfText {
        /// The relocation's position in the list.
        index: usize,
        /// Its offset.
        offset: u32,
        /// How many bytes it patches.
        width: u32,
        /// The text's size.
        text_len: usize,
    },
    /// A relocation refers to a function the text does not have.
    #[error(
        "malformed artifact: relocation {index} refers to defined function {func}, but the \
         text has {num_funcs} functions"
    )]
    RelocTargetOutOfRange {
        /// The relocation's position in the list.
        index: usize,
        /// The function it refers to.
        func: u32,
        /// How many functions there are.
        num_funcs: usize,
    },
    /// Anything else wrong with the layout (an unknown tag, invalid UTF-8,
    /// bytes left over).
    #[error("malformed artifact: {0}")]
    Malformed(String),
    /// The artifact was compiled for another target.
    #[error("the artifact was compiled for {found}, but this host is {host}")]
    WrongTarget {
        /// The artifact's target.
        found: String,
        /// This host's.
        host: String,
    },
    /// The artifact's code uses a CPU feature this host lacks.
    #[error("the artifact's code uses the CPU feature {0:?}, which this host does not have")]
    MissingCpuFeature(String),
    /// The artifact was compiled by another waven version.
    #[error(
        "the artifact was compiled by waven {found}, but this is waven {expected}; compile \
         the module again"
    )]
    WavenVersion {
        /// The version that compiled it.
        found: String,
        /// This runtime's version.
        expected: String,
    },
    /// The artifact was compiled with other settings than this runtime
    /// runs code with.
    #[error(
        "the artifact was compiled for {found:?}, but this runtime is configured for \
         {expected:?}; compile the module again with matching settings"
    )]
    SettingsMismatch {
        /// The artifact's settings.
        found: CodegenSettings,
        /// This runtime's.
        expected: CodegenSettings,
    },
}

impl Artifact {
    /// An artifact of `module` compiled to `code` on and for this host
    /// (target and CPU features from [`host_target`] and
    /// [`host_cpu_features`]) by waven `waven_version`.
    pub fn for_host(
        module: Vec<u8>,
        code: CompiledCode,
        settings: CodegenSettings,
        waven_version: &str,
    ) -> Artifact {
        let header = ArtifactHeader {
            format_version: FORMAT_VERSION,
            waven_version: waven_version.to_owned(),
            target: host_target(),
            cpu_features: host_cpu_features(),
            settings,
            module_sha256: Artifact::file_sha256(&module),
        };
        Artifact {
            header,
            module,
            code,
        }
    }

    /// The artifact's file bytes (the layout in the module docs), ending
    /// with the SHA-256 of everything before it.
    ///
    /// Writes what it is given: an artifact with, say, a wrong module hash
    /// is written as is, and [`Artifact::from_bytes`] rejects it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let code = &self.code;
        let mut out = Vec::with_capacity(
            256 + self.module.len()
                + code.text.len()
                + code.funcs.len() * FUNC_BYTES
                + code.trampolines.len() * TRAMPOLINE_BYTES
                + code.relocs.len() * RELOC_BYTES,
        );
        let header = &self.header;
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&header.format_version.to_le_bytes());
        put_bytes(&mut out, header.waven_version.as_bytes());
        put_bytes(&mut out, header.target.as_bytes());
        put_len(&mut out, header.cpu_features.len());
        for feature in &header.cpu_features {
            put_bytes(&mut out, feature.as_bytes());
        }
        out.push(memory_tag(header.settings.memory));
        out.push(u8::from(header.settings.fuel));
        out.extend_from_slice(&header.module_sha256);
        put_bytes(&mut out, &self.module);
        put_bytes(&mut out, &code.text);
        put_len(&mut out, code.funcs.len());
        for range in &code.funcs {
            out.extend_from_slice(&range.start.to_le_bytes());
            out.extend_from_slice(&range.end.to_le_bytes());
        }
        put_len(&mut out, code.trampolines.len());
        for offset in &code.trampolines {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        put_len(&mut out, code.relocs.len());
        for reloc in &code.relocs {
            out.extend_from_slice(&reloc.offset.to_le_bytes());
            out.push(reloc_kind_tag(reloc.kind));
            let (target_kind, target) = reloc_target_tag(reloc.target);
            out.push(target_kind);
            out.extend_from_slice(&target.to_le_bytes());
            out.extend_from_slice(&reloc.addend.to_le_bytes());
        }
        let hash = Artifact::file_sha256(&out);
        out.extend_from_slice(&hash);
        out
    }

    /// Parses an artifact file and checks that it is whole and consistent.
    ///
    /// # Errors
    ///
    /// The first problem found, checking in this order: the magic
    /// ([`ArtifactError::BadMagic`]), the format version
    /// ([`ArtifactError::UnsupportedFormat`]), the file's SHA-256
    /// ([`ArtifactError::IntegrityMismatch`]), sizes that do not add up
    /// ([`ArtifactError::Truncated`], [`ArtifactError::CountTooLarge`],
    /// [`ArtifactError::Malformed`]), the module's SHA-256
    /// ([`ArtifactError::ModuleHashMismatch`]), function ranges and
    /// trampolines inside the text ([`ArtifactError::FuncOutOfText`],
    /// [`ArtifactError::TrampolineOutOfText`]), relocations inside the text
    /// ([`ArtifactError::RelocOutOfText`]) and referring to functions that
    /// exist ([`ArtifactError::RelocTargetOutOfRange`]).
    ///
    /// Whether this host can run it is [`Artifact::check_compatible`]'s
    /// question.
    pub fn from_bytes(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        check_magic(bytes)?;
        let mut prefix = Reader::new(bytes, 0);
        prefix.skip(MAGIC.len(), "magic")?;
        let format_version = prefix.u32("format version")?;
        if format_version != FORMAT_VERSION {
            return Err(ArtifactError::UnsupportedFormat {
                found: format_version,
                expected: FORMAT_VERSION,
            });
        }
        let body_end = bytes
            .len()
            .checked_sub(HASH_BYTES)
            .filter(|&end| end >= PREFIX_BYTES)
            .ok_or(ArtifactError::Truncated {
                what: "file SHA-256",
                offset: PREFIX_BYTES,
                needed: HASH_BYTES as u64,
                remaining: bytes.len().saturating_sub(PREFIX_BYTES),
            })?;
        let (body, recorded) = bytes.split_at(body_end);
        if Artifact::file_sha256(body)[..] != *recorded {
            return Err(ArtifactError::IntegrityMismatch);
        }

        let mut r = Reader::new(&body[PREFIX_BYTES..], PREFIX_BYTES);
        let waven_version = r.string("waven version")?;
        let target = r.string("target")?;
        let num_features = r.count("CPU features", MIN_STRING_BYTES)?;
        let mut cpu_features = Vec::with_capacity(num_features);
        for _ in 0..num_features {
            cpu_features.push(r.string("CPU feature")?);
        }
        let memory = match r.u8("memory lowering")? {
            0 => MemoryLowering::Virtual,
            1 => MemoryLowering::Plain,
            other => {
                return Err(ArtifactError::Malformed(format!(
                    "unknown memory lowering {other}"
                )));
            }
        };
        let fuel = match r.u8("fuel setting")? {
            0 => false,
            1 => true,
            other => {
                return Err(ArtifactError::Malformed(format!(
                    "fuel setting {other} is neither 0 nor 1"
                )));
            }
        };
        let module_sha256 = r.array::<32>("module SHA-256")?;
        let header = ArtifactHeader {
            format_version,
            waven_version,
            target,
            cpu_features,
            settings: CodegenSettings { memory, fuel },
            module_sha256,
        };

        let module = r.bytes("module")?.to_vec();
        let text = r.bytes("text")?.to_vec();
        let num_funcs = r.count("function ranges", FUNC_BYTES)?;
        let mut funcs = Vec::with_capacity(num_funcs);
        for _ in 0..num_funcs {
            let start = r.u32("function start")?;
            let end = r.u32("function end")?;
            funcs.push(start..end);
        }
        let num_trampolines = r.count("trampolines", TRAMPOLINE_BYTES)?;
        let mut trampolines = Vec::with_capacity(num_trampolines);
        for _ in 0..num_trampolines {
            trampolines.push(r.u32("trampoline offset")?);
        }
        let num_relocs = r.count("relocations", RELOC_BYTES)?;
        let mut relocs = Vec::with_capacity(num_relocs);
        for _ in 0..num_relocs {
            relocs.push(r.reloc()?);
        }
        if r.remaining() != 0 {
            return Err(ArtifactError::Malformed(format!(
                "{} unexpected bytes after the relocations, at byte {}",
                r.remaining(),
                r.offset()
            )));
        }

        let artifact = Artifact {
            header,
            module,
            code: CompiledCode {
                text,
                funcs,
                trampolines,
                relocs,
            },
        };
        artifact.check_consistent()?;
        Ok(artifact)
    }

    /// Checks that this host and runtime can run the artifact.
    ///
    /// # Errors
    ///
    /// [`ArtifactError::SettingsMismatch`] if it was compiled with other
    /// settings than `expected`, [`ArtifactError::WrongTarget`] if for
    /// another target than [`host_target`],
    /// [`ArtifactError::MissingCpuFeature`] if it may use a CPU feature
    /// [`host_cpu_features`] lacks, [`ArtifactError::WavenVersion`] if
    /// another waven version than `waven_version` compiled it.
    pub fn check_compatible(
        &self,
        waven_version: &str,
        expected: CodegenSettings,
    ) -> Result<(), ArtifactError> {
        let header = &self.header;
        if header.settings != expected {
            return Err(ArtifactError::SettingsMismatch {
                found: header.settings,
                expected,
            });
        }
        let host = host_target();
        if header.target != host {
            return Err(ArtifactError::WrongTarget {
                found: header.target.clone(),
                host,
            });
        }
        let host_features = host_cpu_features();
        if let Some(missing) = header
            .cpu_features
            .iter()
            .find(|feature| !host_features.contains(feature))
        {
            return Err(ArtifactError::MissingCpuFeature(missing.clone()));
        }
        if header.waven_version != waven_version {
            return Err(ArtifactError::WavenVersion {
                found: header.waven_version.clone(),
                expected: waven_version.to_owned(),
            });
        }
        Ok(())
    }

    /// The SHA-256 of `bytes` (of an artifact file: what a manifest pins as
    /// `artifact_sha256`).
    pub fn file_sha256(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The checks after parsing: the module's hash, then that everything
    /// the code refers to lies inside the text.
    fn check_consistent(&self) -> Result<(), ArtifactError> {
        if Artifact::file_sha256(&self.module) != self.header.module_sha256 {
            return Err(ArtifactError::ModuleHashMismatch);
        }
        let code = &self.code;
        let text_len = code.text.len();
        let inside = |offset: u32| usize::try_from(offset).is_ok_and(|o| o <= text_len);
        for (index, range) in (0u32..).zip(&code.funcs) {
            if range.start >= range.end || !inside(range.end) {
                return Err(ArtifactError::FuncOutOfText {
                    index,
                    start: range.start,
                    end: range.end,
                    text_len,
                });
            }
        }
        for (type_index, &offset) in (0u32..).zip(&code.trampolines) {
            if offset.checked_add(1).is_none_or(|end| !inside(end)) {
                return Err(ArtifactError::TrampolineOutOfText {
                    type_index,
                    offset,
                    text_len,
                });
            }
        }
        for (index, reloc) in code.relocs.iter().enumerate() {
            let width = reloc_width(reloc.kind);
            if reloc
                .offset
                .checked_add(width)
                .is_none_or(|end| !inside(end))
            {
                return Err(ArtifactError::RelocOutOfText {
                    index,
                    offset: reloc.offset,
                    width,
                    text_len,
                });
            }
        }
        for (index, reloc) in code.relocs.iter().enumerate() {
            let RelocTarget::Func(func) = reloc.target else {
                continue;
            };
            if !usize::try_from(func).is_ok_and(|f| f < code.funcs.len()) {
                return Err(ArtifactError::RelocTargetOutOfRange {
                    index,
                    func,
                    num_funcs: code.funcs.len(),
                });
            }
        }
        Ok(())
    }
}

/// How many bytes a relocation of `kind` patches.
pub fn reloc_width(kind: RelocKind) -> u32 {
    match kind {
        RelocKind::X86PcRel4 | RelocKind::Arm64Call26 => 4,
        RelocKind::Abs8 => 8,
    }
}

/// This host's target, as artifacts record it: `ARCH-OS` (for example
/// `x86_64-linux`). The compiler writes the target it compiled for in the
/// same form.
pub fn host_target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// The CPU features of this host that compiled code may use, from a fixed
/// list per architecture (empty on others).
pub fn host_cpu_features() -> Vec<String> {
    detected_cpu_features()
        .into_iter()
        .filter(|&(_, present)| present)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Each feature of the list with whether this CPU has it.
#[cfg(target_arch = "x86_64")]
fn detected_cpu_features() -> Vec<(&'static str, bool)> {
    use std::arch::is_x86_feature_detected as has;
    vec![
        ("sse3", has!("sse3")),
        ("ssse3", has!("ssse3")),
        ("sse4.1", has!("sse4.1")),
        ("sse4.2", has!("sse4.2")),
        ("popcnt", has!("popcnt")),
        ("avx", has!("avx")),
        ("avx2", has!("avx2")),
        ("bmi1", has!("bmi1")),
        ("bmi2", has!("bmi2")),
        ("lzcnt", has!("lzcnt")),
        ("fma", has!("fma")),
    ]
}

/// Each feature of the list with whether this CPU has it.
#[cfg(target_arch = "aarch64")]
fn detected_cpu_features() -> Vec<(&'static str, bool)> {
    use std::arch::is_aarch64_feature_detected as has;
    vec![
        ("neon", has!("neon")),
        ("lse", has!("lse")),
        ("fp16", has!("fp16")),
        ("paca", has!("paca")),
    ]
}

/// Each feature of the list with whether this CPU has it.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detected_cpu_features() -> Vec<(&'static str, bool)> {
    Vec::new()
}

/// [`ArtifactError::BadMagic`] unless `bytes` starts with [`MAGIC`];
/// [`ArtifactError::Truncated`] if it is a proper prefix of it.
fn check_magic(bytes: &[u8]) -> Result<(), ArtifactError> {
    let present = bytes.len().min(MAGIC.len());
    if bytes[..present] != MAGIC[..present] {
        return Err(ArtifactError::BadMagic);
    }
    if present < MAGIC.len() {
        return Err(ArtifactError::Truncated {
            what: "magic",
            offset: 0,
            needed: MAGIC.len() as u64,
            remaining: bytes.len(),
        });
    }
    Ok(())
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // usize is at most 64 bits on every target Rust supports.
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn memory_tag(memory: MemoryLowering) -> u8 {
    match memory {
        MemoryLowering::Virtual => 0,
        MemoryLowering::Plain => 1,
    }
}

fn reloc_kind_tag(kind: RelocKind) -> u8 {
    match kind {
        RelocKind::X86PcRel4 => 0,
        RelocKind::Abs8 => 1,
        RelocKind::Arm64Call26 => 2,
    }
}

fn reloc_kind_from_tag(tag: u8) -> Option<RelocKind> {
    Some(match tag {
        0 => RelocKind::X86PcRel4,
        1 => RelocKind::Abs8,
        2 => RelocKind::Arm64Call26,
        _ => return None,
    })
}

/// The encoding of a relocation target: a kind (0 function, 1 math
/// routine) and a number (the function index, the routine's number).
fn reloc_target_tag(target: RelocTarget) -> (u8, u32) {
    match target {
        RelocTarget::Func(index) => (0, index),
        RelocTarget::Math(math) => (1, math_func_tag(math)),
    }
}

fn reloc_target_from_tag(kind: u8, value: u32) -> Option<RelocTarget> {
    match kind {
        0 => Some(RelocTarget::Func(value)),
        1 => math_func_from_tag(value).map(RelocTarget::Math),
        _ => None,
    }
}

/// The artifact's numbers of math routines (fixed: they are in files).
const MATH_FUNCS: [MathFunc; 10] = [
    MathFunc::CeilF32,
    MathFunc::CeilF64,
    MathFunc::FloorF32,
    MathFunc::FloorF64,
    MathFunc::TruncF32,
    MathFunc::TruncF64,
    MathFunc::NearestF32,
    MathFunc::NearestF64,
    MathFunc::FmaF32,
    MathFunc::FmaF64,
];

fn math_func_tag(math: MathFunc) -> u32 {
    match math {
        MathFunc::CeilF32 => 0,
        MathFunc::CeilF64 => 1,
        MathFunc::FloorF32 => 2,
        MathFunc::FloorF64 => 3,
        MathFunc::TruncF32 => 4,
        MathFunc::TruncF64 => 5,
        MathFunc::NearestF32 => 6,
        MathFunc::NearestF64 => 7,
        MathFunc::FmaF32 => 8,
        MathFunc::FmaF64 => 9,
    }
}

fn math_func_from_tag(tag: u32) -> Option<MathFunc> {
    usize::try_from(tag)
        .ok()
        .and_then(|i| MATH_FUNCS.get(i))
        .copied()
}

/// Reads little-endian values from a byte slice, never past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The file offset of `bytes[0]`, for messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            base,
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The file offset of the next byte.
    fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// The next `n` bytes, or [`ArtifactError::Truncated`].
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ArtifactError> {
        if n > self.remaining() {
            return Err(ArtifactError::Truncated {
                what,
                offset: self.offset(),
                needed: n as u64,
                remaining: self.remaining(),
            });
        }
        let taken = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(taken)
    }

    fn skip(&mut self, n: usize, what: &'static str) -> Result<(), ArtifactError> {
        self.take(n, what).map(|_| ())
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ArtifactError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N, what)?);
        Ok(array)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ArtifactError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ArtifactError> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, ArtifactError> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, ArtifactError> {
        self.array(what).map(i64::from_le_bytes)
    }

    /// A count of entries of at least `entry_bytes` bytes each, checked
    /// against the bytes left, so allocating for it is bounded by the file.
    fn count(&mut self, what: &'static str, entry_bytes: usize) -> Result<usize, ArtifactError> {
        let offset = self.offset();
        let count = self.u64(what)?;
        let fits = usize::try_from(count).ok().filter(|&count| {
            count
                .checked_mul(entry_bytes)
                .is_some_and(|bytes| bytes <= self.remaining())
        });
        fits.ok_or(ArtifactError::CountTooLarge {
            what,
            offset,
            count,
            entry_bytes,
            remaining: self.remaining(),
        })
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], ArtifactError> {
        let offset = self.offset();
        let len = self.u64(what)?;
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => self.take(len, what),
            _ => Err(ArtifactError::Truncated {
                what,
                offset,
                needed: len,
                remaining: self.remaining(),
            }),
        }
    }

    /// A length-prefixed UTF-8 string.
    fn string(&mut self, what: &'static str) -> Result<String, ArtifactError> {
        let offset = self.offset();
        let bytes = self.bytes(what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            ArtifactError::Malformed(format!("the {what} at byte {offset} is not UTF-8"))
        })
    }

    fn reloc(&mut self) -> Result<Reloc, ArtifactError> {
        let at = self.offset();
        let offset = self.u32("relocation offset")?;
        let kind_tag = self.u8("relocation kind")?;
        let target_kind = self.u8("relocation target kind")?;
        let target_value = self.u32("relocation target")?;
        let addend = self.i64("relocation addend")?;
        let kind = reloc_kind_from_tag(kind_tag).ok_or_else(|| {
            ArtifactError::Malformed(format!(
                "the relocation at byte {at} has unknown kind {kind_tag}"
            ))
        })?;
        let target = reloc_target_from_tag(target_kind, target_value).ok_or_else(|| {
            ArtifactError::Malformed(format!(
                "the relocation at byte {at} has unknown target {target_kind}:{target_value}"
            ))
        })?;
        Ok(Reloc {
            offset,
            kind,
            target,
            addend,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_func_tags_round_trip() {
        for (i, &math) in MATH_FUNCS.iter().enumerate() {
            assert_eq!(math_func_tag(math) as usize, i);
            assert_eq!(math_func_from_tag(i as u32), Some(math));
        }
        assert_eq!(math_func_from_tag(MATH_FUNCS.len() as u32), None);
        assert_eq!(math_func_from_tag(u32::MAX), None);
    }

    #[test]
    fn reader_reports_truncation_instead_of_panicking() {
        let mut r = Reader::new(&[1, 2, 3], 100);
        assert_eq!(
            r.u32("x"),
            Err(ArtifactError::Truncated {
                what: "x",
                offset: 100,
                needed: 4,
                remaining: 3
            })
        );
        let mut r = Reader::new(&[0xff; 8], 0);
        assert!(matches!(
            r.count("y", 8),
            Err(ArtifactError::CountTooLarge { .. })
        ));
        let mut r = Reader::new(&[0xff; 8], 0);
        assert!(matches!(r.bytes("z"), Err(ArtifactError::Truncated { .. })));
    }
}
