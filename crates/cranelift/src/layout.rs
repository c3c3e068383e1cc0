//! Laying out compiled pieces in one text section, and turning
//! Cranelift's relocations into the loader's.

use cranelift_codegen::ir::{ExternalName, Function, LibCall, UserExternalName};
use cranelift_codegen::{binemit, FinalizedMachReloc, FinalizedRelocTarget};
use waven_environ::code::{CompiledCode, MathFunc, Reloc, RelocKind, RelocTarget};

use crate::CompileError;

/// The namespace of [`UserExternalName`]s naming defined functions (the
/// index is the defined index).
pub(crate) const FUNC_NAMESPACE: u32 = 0;

/// The alignment of every piece in the text section.
const PIECE_ALIGN: usize = 16;

/// One compiled function or trampoline, before layout.
#[derive(Debug)]
pub(crate) struct CompiledPiece {
    /// The machine code.
    pub code: Vec<u8>,
    /// Relocations, with offsets relative to the start of `code`.
    pub relocs: Vec<Reloc>,
}

/// Converts Cranelift's relocations of `func`'s code.
pub(crate) fn convert_relocs(
    what: &str,
    func: &Function,
    relocs: &[FinalizedMachReloc],
) -> Result<Vec<Reloc>, CompileError> {
    let error = |message: String| CompileError::Relocation {
        what: what.to_string(),
        message,
    };
    relocs
        .iter()
        .map(|reloc| {
            let kind = match reloc.kind {
                binemit::Reloc::X86PCRel4 | binemit::Reloc::X86CallPCRel4 => RelocKind::X86PcRel4,
                binemit::Reloc::Abs8 => RelocKind::Abs8,
                binemit::Reloc::Arm64Call => RelocKind::Arm64Call26,
                other => return Err(error(format!("kind {other:?}"))),
            };
            let target = match &reloc.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                    match func.params.user_named_funcs().get(*name) {
                        Some(&UserExternalName {
                            namespace: FUNC_NAMESPACE,
                            index,
                        }) => RelocTarget::Func(index),
                        other => return Err(error(format!("user name {other:?}"))),
                    }
                }
                FinalizedRelocTarget::ExternalName(ExternalName::LibCall(libcall)) => {
                    RelocTarget::Math(
                        math_func(*libcall).ok_or_else(|| error(format!("libcall {libcall:?}")))?,
                    )
                }
                other => return Err(error(format!("target {other:?}"))),
            };
            Ok(Reloc {
                offset: reloc.offset,
                kind,
                target,
                addend: reloc.addend,
            })
        })
        .collect()
}

/// The math routine standing for a Cranelift libcall, if any.
fn math_func(libcall: LibCall) -> Option<MathFunc> {
    Some(match libcall {
        LibCall::CeilF32 => MathFunc::CeilF32,
        LibCall::CeilF64 => MathFunc::CeilF64,
        LibCall::FloorF32 => MathFunc::FloorF32,
        LibCall::FloorF64 => MathFunc::FloorF64,
        LibCall::TruncF32 => MathFunc::TruncF32,
        LibCall::TruncF64 => MathFunc::TruncF64,
        LibCall::NearestF32 => MathFunc::NearestF32,
        LibCall::NearestF64 => MathFunc::NearestF64,
        LibCall::FmaF32 => MathFunc::FmaF32,
        LibCall::FmaF64 => MathFunc::FmaF64,
        _ => return None,
    })
}

/// Lays out the pieces (the `num_funcs` functions first, then one
/// trampoline per type index) in one text section.
pub(crate) fn link(
    pieces: Vec<CompiledPiece>,
    num_funcs: usize,
) -> Result<CompiledCode, CompileError> {
    let mut code = CompiledCode::default();
    for (i, piece) in pieces.into_iter().enumerate() {
        let padded = code.text.len().next_multiple_of(PIECE_ALIGN);
        code.text.resize(padded, 0);
        let start = u32::try_from(padded).map_err(|_| CompileError::TooLarge)?;
        let end = padded
            .checked_add(piece.code.len())
            .and_then(|end| u32::try_from(end).ok())
            .ok_or(CompileError::TooLarge)?;
        code.text.extend_from_slice(&piece.code);
        code.relocs
            .extend(piece.relocs.into_iter().map(|reloc| Reloc {
                offset: start + reloc.offset,
                ..reloc
            }));
        if i < num_funcs {
            code.funcs.push(start..end);
        } else {
            code.trampolines.push(start);
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_aligned_and_relocations_moved() {
        let reloc = Reloc {
            offset: 1,
            kind: RelocKind::X86PcRel4,
            target: RelocTarget::Func(0),
            addend: -4,
        };
        let pieces = vec![
            CompiledPiece {
                code: vec![0x90; 5],
                relocs: vec![],
            },
            CompiledPiece {
                code: vec![0xc3; 3],
                relocs: vec![reloc],
            },
            CompiledPiece {
                code: vec![0xcc; 1],
                relocs: vec![],
            },
        ];
        let code = link(pieces, 2).unwrap();
        assert_eq!(code.funcs, vec![0..5, 16..19]);
        assert_eq!(code.trampolines, vec![32]);
        assert_eq!(code.relocs[0].offset, 17);
        assert_eq!(code.text.len(), 33);
        assert_eq!(&code.text[5..16], &[0; 11]);
    }
}
