//! The `.cwasm` format: round trips, and that every damaged, truncated,
//! inconsistent or foreign artifact is refused with the right error and
//! without a panic.

use proptest::prelude::*;
use waven_environ::artifact::{
    host_cpu_features, host_target, Artifact, ArtifactError, FORMAT_VERSION, MAGIC,
};
use waven_environ::code::{
    CodegenSettings, CompiledCode, MathFunc, MemoryLowering, Reloc, RelocKind, RelocTarget,
};

const VERSION: &str = "0.1.0";

const SETTINGS: CodegenSettings = CodegenSettings {
    memory: MemoryLowering::Virtual,
    fuel: true,
};

/// A module of a few functions (its contents do not matter to the format,
/// but it is a real one).
fn module() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (func $a (export "a") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
            (func $b (export "b") (param f64) (result f64) local.get 0 f64.ceil)
            (func $c (export "c") (result i32) i32.const 7 call $a))"#,
    )
    .unwrap()
}

/// Code of a realistic size (about 10 KiB of text): 24 functions, 5
/// trampolines, calls between functions and to math routines.
fn code() -> CompiledCode {
    let mut text = Vec::new();
    let mut funcs = Vec::new();
    let mut relocs = Vec::new();
    for i in 0..24u32 {
        let start = text.len() as u32;
        let len = 300 + 17 * i as usize;
        text.extend((0..len).map(|b| (b as u32 * 31 + i) as u8));
        funcs.push(start..text.len() as u32);
        relocs.push(Reloc {
            offset: start + 8,
            kind: RelocKind::X86PcRel4,
            target: RelocTarget::Func((i + 1) % 24),
            addend: -4,
        });
        relocs.push(Reloc {
            offset: start + 32,
            kind: RelocKind::Abs8,
            target: RelocTarget::Math(MathFunc::FmaF64),
            addend: 0,
        });
    }
    let mut trampolines = Vec::new();
    for _ in 0..5 {
        trampolines.push(text.len() as u32);
        text.extend_from_slice(&[0xcc; 64]);
    }
    CompiledCode {
        text,
        funcs,
        trampolines,
        relocs,
    }
}

fn artifact() -> Artifact {
    Artifact::for_host(module(), code(), SETTINGS, VERSION)
}

/// Replaces the file hash at the end by the hash of the rest, so a change
/// reaches the checks after the integrity check.
fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - 32;
    let hash = Artifact::file_sha256(&bytes[..end]);
    bytes[end..].copy_from_slice(&hash);
}

#[test]
fn round_trip() {
    let artifact = artifact();
    let bytes = artifact.to_bytes();
    assert!(bytes.len() > 8 * 1024, "{} bytes", bytes.len());
    assert!(bytes.starts_with(&MAGIC));
    let parsed = Artifact::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, artifact);
    assert_eq!(parsed.to_bytes(), bytes);
    parsed.check_compatible(VERSION, SETTINGS).unwrap();
}

#[test]
fn round_trip_of_empty_code_and_every_math_func() {
    let math = [
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
    let empty = Artifact::for_host(Vec::new(), CompiledCode::default(), SETTINGS, "");
    assert_eq!(Artifact::from_bytes(&empty.to_bytes()).unwrap(), empty);
    let code = CompiledCode {
        text: vec![0; 256],
        funcs: vec![std::ops::Range { start: 0, end: 256 }],
        trampolines: vec![0, 255],
        relocs: (0u32..)
            .zip(math)
            .map(|(i, math)| Reloc {
                offset: i * 8,
                kind: [
                    RelocKind::Abs8,
                    RelocKind::X86PcRel4,
                    RelocKind::Arm64Call26,
                ][i as usize % 3],
                target: RelocTarget::Math(math),
                addend: i64::MIN + i64::from(i),
            })
            .collect(),
    };
    let settings = CodegenSettings {
        memory: MemoryLowering::Plain,
        fuel: false,
    };
    let artifact = Artifact::for_host(module(), code, settings, VERSION);
    assert_eq!(
        Artifact::from_bytes(&artifact.to_bytes()).unwrap(),
        artifact
    );
}

#[test]
fn file_sha256_is_sha256_of_the_file() {
    // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    assert_eq!(Artifact::file_sha256(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    let bytes = artifact().to_bytes();
    assert_ne!(Artifact::file_sha256(&bytes), [0; 32]);
}

#[test]
fn flipping_any_byte_is_detected() {
    let bytes = artifact().to_bytes();
    let mut damaged = bytes.clone();
    for i in 0..bytes.len() {
        for mask in [0xff, 0x01] {
            damaged[i] ^= mask;
            let error = Artifact::from_bytes(&damaged).unwrap_err();
            let expected = if i < 8 {
                matches!(error, ArtifactError::BadMagic)
            } else if i < 12 {
                matches!(error, ArtifactError::UnsupportedFormat { .. })
            } else {
                matches!(error, ArtifactError::IntegrityMismatch)
            };
            assert!(expected, "byte {i} ^ {mask:#x}: {error:?}");
            damaged[i] ^= mask;
        }
    }
    assert_eq!(damaged, bytes);
}

#[test]
fn truncation_is_detected() {
    let bytes = artifact().to_bytes();
    let cuts = (0..256).chain((0..bytes.len()).step_by(4096)).chain([
        bytes.len() - 1,
        bytes.len() - 32,
        bytes.len() - 33,
    ]);
    for len in cuts {
        let error = Artifact::from_bytes(&bytes[..len]).unwrap_err();
        assert!(
            matches!(
                error,
                ArtifactError::Truncated { .. } | ArtifactError::IntegrityMismatch
            ),
            "cut at {len}: {error:?}"
        );
    }
    assert!(matches!(
        Artifact::from_bytes(&bytes[..5]),
        Err(ArtifactError::Truncated { what: "magic", .. })
    ));
    assert!(matches!(
        Artifact::from_bytes(&bytes[..20]),
        Err(ArtifactError::Truncated { .. })
    ));
}

#[test]
fn extra_bytes_are_refused() {
    let mut bytes = artifact().to_bytes();
    bytes.push(0);
    assert!(matches!(
        Artifact::from_bytes(&bytes),
        Err(ArtifactError::IntegrityMismatch)
    ));
    // Even resealed: bytes after the relocations are not part of the layout.
    let end = bytes.len() - 33;
    bytes.insert(end, 0);
    bytes.pop();
    reseal(&mut bytes);
    let error = Artifact::from_bytes(&bytes).unwrap_err();
    assert!(matches!(error, ArtifactError::Malformed(_)), "{error:?}");
}

#[test]
fn bad_magic_and_format_version() {
    assert!(matches!(
        Artifact::from_bytes(b"\0asm\x01\0\0\0"),
        Err(ArtifactError::BadMagic)
    ));
    assert!(matches!(
        Artifact::from_bytes(b""),
        Err(ArtifactError::Truncated { .. })
    ));
    let mut artifact = artifact();
    artifact.header.format_version = FORMAT_VERSION + 1;
    assert_eq!(
        Artifact::from_bytes(&artifact.to_bytes()),
        Err(ArtifactError::UnsupportedFormat {
            found: FORMAT_VERSION + 1,
            expected: FORMAT_VERSION
        })
    );
}

#[test]
fn module_hash_mismatch() {
    let mut artifact = artifact();
    artifact.module.push(0);
    assert_eq!(
        Artifact::from_bytes(&artifact.to_bytes()),
        Err(ArtifactError::ModuleHashMismatch)
    );
}

#[test]
fn inconsistent_code_is_refused() {
    let text_len = code().text.len();
    let check = |change: &dyn Fn(&mut CompiledCode), expected: &dyn Fn(&ArtifactError) -> bool| {
        let mut artifact = artifact();
        change(&mut artifact.code);
        let error = Artifact::from_bytes(&artifact.to_bytes()).unwrap_err();
        assert!(expected(&error), "{error:?}");
        // The message says what is wrong.
        assert!(error.to_string().contains("artifact"), "{error}");
    };
    check(&|code| code.funcs[3].end = text_len as u32 + 1, &|e| {
        matches!(e, ArtifactError::FuncOutOfText { index: 3, .. })
    });
    check(&|code| code.funcs[2] = 10..10, &|e| {
        matches!(e, ArtifactError::FuncOutOfText { index: 2, .. })
    });
    check(
        &|code| code.funcs[1] = std::ops::Range { start: 20, end: 10 },
        &|e| matches!(e, ArtifactError::FuncOutOfText { index: 1, .. }),
    );
    check(&|code| code.trampolines[4] = text_len as u32, &|e| {
        matches!(e, ArtifactError::TrampolineOutOfText { type_index: 4, .. })
    });
    check(&|code| code.trampolines[0] = u32::MAX, &|e| {
        matches!(e, ArtifactError::TrampolineOutOfText { type_index: 0, .. })
    });
    check(&|code| code.relocs[4].offset = text_len as u32 - 3, &|e| {
        matches!(
            e,
            ArtifactError::RelocOutOfText {
                index: 4,
                width: 4,
                ..
            }
        )
    });
    check(&|code| code.relocs[1].offset = text_len as u32 - 7, &|e| {
        matches!(
            e,
            ArtifactError::RelocOutOfText {
                index: 1,
                width: 8,
                ..
            }
        )
    });
    check(&|code| code.relocs[7].offset = u32::MAX - 1, &|e| {
        matches!(e, ArtifactError::RelocOutOfText { index: 7, .. })
    });
    check(
        &|code| code.relocs[6].target = RelocTarget::Func(24),
        &|e| {
            matches!(
                e,
                ArtifactError::RelocTargetOutOfRange {
                    index: 6,
                    func: 24,
                    num_funcs: 24
                }
            )
        },
    );
    // A relocation may patch the text's last bytes.
    let mut artifact = artifact();
    artifact.code.relocs[0].offset = text_len as u32 - 4;
    artifact.code.relocs[1].offset = text_len as u32 - 8;
    Artifact::from_bytes(&artifact.to_bytes()).unwrap();
}

/// The offset of the first encoded length (the waven version's).
const FIRST_LENGTH: usize = 12;

#[test]
fn huge_counts_are_refused_before_allocating() {
    let bytes = artifact().to_bytes();
    for len in [u64::MAX, u64::MAX / 8, 1 << 40, bytes.len() as u64] {
        let mut damaged = bytes.clone();
        damaged[FIRST_LENGTH..FIRST_LENGTH + 8].copy_from_slice(&len.to_le_bytes());
        reseal(&mut damaged);
        let error = Artifact::from_bytes(&damaged).unwrap_err();
        assert!(
            matches!(
                error,
                ArtifactError::Truncated {
                    what: "waven version",
                    offset: FIRST_LENGTH,
                    ..
                }
            ),
            "{error:?}"
        );
    }
    // The feature count comes after the version and target strings.
    let offset = FIRST_LENGTH + 8 + VERSION.len() + 8 + host_target().len();
    let mut damaged = bytes.clone();
    damaged[offset..offset + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    reseal(&mut damaged);
    let error = Artifact::from_bytes(&damaged).unwrap_err();
    assert!(
        matches!(
            error,
            ArtifactError::CountTooLarge {
                what: "CPU features",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn unknown_tags_are_malformed() {
    let bytes = artifact().to_bytes();
    let features: usize = host_cpu_features().iter().map(|f| 8 + f.len()).sum();
    let memory = FIRST_LENGTH + 8 + VERSION.len() + 8 + host_target().len() + 8 + features;
    for (at, value) in [(memory, 2), (memory + 1, 2)] {
        let mut damaged = bytes.clone();
        damaged[at] = value;
        reseal(&mut damaged);
        let error = Artifact::from_bytes(&damaged).unwrap_err();
        assert!(matches!(error, ArtifactError::Malformed(_)), "{error:?}");
    }
    // Invalid UTF-8 in the version.
    let mut damaged = bytes.clone();
    damaged[FIRST_LENGTH + 8] = 0xff;
    reseal(&mut damaged);
    let error = Artifact::from_bytes(&damaged).unwrap_err();
    assert!(matches!(error, ArtifactError::Malformed(_)), "{error:?}");
}

#[test]
fn compatible_with_this_host() {
    artifact().check_compatible(VERSION, SETTINGS).unwrap();
}

#[test]
fn foreign_artifacts_are_incompatible() {
    let parse = |change: &dyn Fn(&mut Artifact)| {
        let mut artifact = artifact();
        change(&mut artifact);
        Artifact::from_bytes(&artifact.to_bytes()).unwrap()
    };

    let other = CodegenSettings {
        memory: MemoryLowering::Plain,
        fuel: true,
    };
    assert_eq!(
        artifact().check_compatible(VERSION, other),
        Err(ArtifactError::SettingsMismatch {
            found: SETTINGS,
            expected: other
        })
    );
    let no_fuel = CodegenSettings {
        fuel: false,
        ..SETTINGS
    };
    assert!(matches!(
        parse(&|a| a.header.settings = no_fuel).check_compatible(VERSION, SETTINGS),
        Err(ArtifactError::SettingsMismatch { .. })
    ));

    let target = "riscv64-plan9".to_owned();
    assert_eq!(
        parse(&|a| a.header.target = target.clone()).check_compatible(VERSION, SETTINGS),
        Err(ArtifactError::WrongTarget {
            found: target.clone(),
            host: host_target()
        })
    );

    assert_eq!(
        parse(&|a| a.header.cpu_features.push("avx1024".into()))
            .check_compatible(VERSION, SETTINGS),
        Err(ArtifactError::MissingCpuFeature("avx1024".into()))
    );

    assert_eq!(
        parse(&|a| a.header.waven_version = "0.0.9".into()).check_compatible(VERSION, SETTINGS),
        Err(ArtifactError::WavenVersion {
            found: "0.0.9".into(),
            expected: VERSION.into()
        })
    );
}

#[test]
fn host_description() {
    let target = host_target();
    assert!(target.starts_with(std::env::consts::ARCH), "{target}");
    let features = host_cpu_features();
    #[cfg(target_arch = "x86_64")]
    assert!(features.iter().all(|f| [
        "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "bmi1", "bmi2", "lzcnt",
        "fma"
    ]
    .contains(&f.as_str())));
    assert_eq!(host_cpu_features(), features);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Artifact::from_bytes(&bytes);
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        with_magic.extend_from_slice(&bytes);
        let _ = Artifact::from_bytes(&with_magic);
        if with_magic.len() >= 44 {
            reseal(&mut with_magic);
            let _ = Artifact::from_bytes(&with_magic);
        }
    }

    /// Mutations of a valid artifact, resealed so they reach the checks
    /// behind the integrity check: refused or accepted, never a panic; and
    /// whatever is accepted writes back to the same bytes.
    #[test]
    fn mutations_never_panic(
        changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = artifact().to_bytes();
        for (at, value) in changes {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let _ = Artifact::from_bytes(&bytes);
        if bytes.len() >= 44 {
            reseal(&mut bytes);
            if let Ok(artifact) = Artifact::from_bytes(&bytes) {
                prop_assert_eq!(artifact.to_bytes(), bytes);
            }
        }
    }
}
