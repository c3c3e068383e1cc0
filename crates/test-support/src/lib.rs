//! What waven's test suites share: running one suite on every engine
//! without copying it.
//!
//! A suite makes its engines with [`engine`] (or asks [`engine_kind`]), and
//! has one test that calls [`rerun_on_the_compiled_engine`]: the test
//! binary runs once as usual (the interpreter) and once more, from that
//! test, with [`ENGINE_VAR`] set to `compiled`.
#![deny(missing_docs)]

/// The environment variable that selects the engine of a suite's run:
/// `compiled` for the compiled engine, anything else (or nothing) for the
/// interpreter.
pub const ENGINE_VAR: &str = "WAVEN_TEST_ENGINE";

/// The engine this run of the suite uses (see [`ENGINE_VAR`]).
pub fn engine_kind() -> waven_runtime::EngineKind {
    match std::env::var(ENGINE_VAR).as_deref() {
        Ok("compiled") => waven_runtime::EngineKind::Compiled,
        _ => waven_runtime::EngineKind::Interpreter,
    }
}

/// An engine of this run's kind with the rest of `config`.
pub fn engine(config: waven_runtime::Config) -> waven_runtime::Engine {
    waven_runtime::Engine::new(waven_runtime::Config {
        engine: engine_kind(),
        ..config
    })
    .unwrap()
}

/// Runs every other test of this test binary again on the compiled engine
/// (the same binary, with [`ENGINE_VAR`] set) and fails with their output
/// unless all pass: the suite is parametrized over engines without a copy.
/// In that second run, and in builds without a compiler, it does nothing.
pub fn rerun_on_the_compiled_engine(this_test: &str) {
    if std::env::var_os(ENGINE_VAR).is_some() || !waven_runtime::COMPILER_AVAILABLE {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .env(ENGINE_VAR, "compiled")
        .args(["--skip", this_test, "--test-threads", "2"])
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("test result:"))
        .unwrap_or("no summary");
    assert!(
        output.status.success(),
        "on the compiled engine: {summary}\n{stdout}\n{stderr}"
    );
    assert!(
        !summary.contains(" 0 passed"),
        "no test ran on the compiled engine: {summary}"
    );
    println!("compiled engine: {summary}");
}

/// The arguments of a `waven` command for this run's engine, unless the
/// arguments choose an engine themselves: `--engine jit` or `--engine
/// interp` after the `run` or `platform` subcommand, or after the demo's
/// name for `demo NAME` (the default of all three is compiled code where
/// the build has a compiler, so the interpreter's run names its engine).
pub fn waven_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    if args.contains(&"--engine") {
        return args;
    }
    let engine = match engine_kind() {
        waven_runtime::EngineKind::Compiled => "jit",
        waven_runtime::EngineKind::Interpreter => "interp",
    };
    match args.first().copied() {
        Some("run" | "platform") => {
            args.splice(1..1, ["--engine", engine]);
        }
        Some("demo") if args.len() >= 2 => {
            args.splice(2..2, ["--engine", engine]);
        }
        _ => {}
    }
    args
}
