//! wasmtime's option groups: `-W` (WebAssembly and limits) and `-S` (WASI
//! and host interfaces).
//!
//! Each occurrence holds one or more `KEY=VALUE` pairs separated by commas
//! (`-W fuel=1000,timeout=2s`). A boolean key takes `y`, `yes`, `true`,
//! `n`, `no` or `false`, or no value at all, which means yes. An unknown
//! key is an error that lists the known ones: a wasmtime flag waven lacks
//! must not be silently ignored.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};

/// What the `-W` options say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WasmOptions {
    /// `timeout=DURATION`: the wall-clock limit of the run.
    pub timeout: Option<Duration>,
    /// `fuel=N`: fuel given to the guest.
    pub fuel: Option<u64>,
    /// `max-memory-size=BYTES`: the largest linear memory.
    pub max_memory_size: Option<u64>,
    /// `unknown-imports-trap=y`: imported functions nobody defines trap
    /// when called instead of failing instantiation.
    pub unknown_imports_trap: bool,
}

/// The keys `-W` knows.
const WASM_KEYS: &str = "timeout, fuel, max-memory-size, unknown-imports-trap";

/// What the `-S` options say.
#[derive(Debug, PartialEq, Eq)]
pub struct WasiOptions {
    /// `inherit-env=y`: the guest gets the host's environment.
    pub inherit_env: bool,
    /// `waven=n` leaves the `waven` guest ABI out of the linker.
    pub waven_abi: bool,
}

impl Default for WasiOptions {
    fn default() -> Self {
        WasiOptions {
            inherit_env: false,
            waven_abi: true,
        }
    }
}

/// The keys `-S` knows.
const WASI_KEYS: &str = "inherit-env, waven";

/// Parses every `-W` occurrence.
///
/// # Errors
///
/// A malformed pair, a bad value or an unknown key.
pub fn wasm_options(options: &[String]) -> Result<WasmOptions> {
    let mut parsed = WasmOptions::default();
    for (key, value) in pairs(options) {
        let option = Pair {
            group: "-W",
            key,
            value,
        };
        match key {
            "timeout" => {
                let duration = waven_platform::limits::parse_duration(option.value()?)
                    .map_err(|error| anyhow!("-W timeout: {error}"))?;
                parsed.timeout = Some(duration);
            }
            "fuel" => parsed.fuel = Some(option.number()?),
            "max-memory-size" => parsed.max_memory_size = Some(option.number()?),
            "unknown-imports-trap" => parsed.unknown_imports_trap = option.boolean()?,
            _ => bail!("-W {key}: unknown option (known: {WASM_KEYS})"),
        }
    }
    Ok(parsed)
}

/// Parses every `-S` occurrence.
///
/// # Errors
///
/// A malformed pair, a bad value or an unknown key.
pub fn wasi_options(options: &[String]) -> Result<WasiOptions> {
    let mut parsed = WasiOptions::default();
    for (key, value) in pairs(options) {
        let option = Pair {
            group: "-S",
            key,
            value,
        };
        match key {
            "inherit-env" => parsed.inherit_env = option.boolean()?,
            "waven" => parsed.waven_abi = option.boolean()?,
            _ => bail!("-S {key}: unknown option (known: {WASI_KEYS})"),
        }
    }
    Ok(parsed)
}

/// The `KEY[=VALUE]` pairs of all occurrences of a group, in order.
fn pairs(options: &[String]) -> impl Iterator<Item = (&str, Option<&str>)> {
    options
        .iter()
        .flat_map(|option| option.split(','))
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (pair, None),
        })
}

/// One `KEY[=VALUE]` pair of a group, for its messages.
struct Pair<'a> {
    group: &'static str,
    key: &'a str,
    value: Option<&'a str>,
}

impl Pair<'_> {
    fn value(&self) -> Result<&str> {
        self.value
            .ok_or_else(|| anyhow!("{} {key}: expected {key}=VALUE", self.group, key = self.key))
    }

    fn number(&self) -> Result<u64> {
        let value = self.value()?;
        value
            .parse()
            .map_err(|_| anyhow!("{} {}: {value:?} is not a number", self.group, self.key))
    }

    fn boolean(&self) -> Result<bool> {
        match self.value {
            None | Some("y" | "yes" | "true") => Ok(true),
            Some("n" | "no" | "false") => Ok(false),
            Some(value) => bail!(
                "{} {}: {value:?} is not y, yes, true, n, no or false",
                self.group,
                self.key
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(options: &[&str]) -> Vec<String> {
        options.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn pairs_booleans_and_errors() {
        let wasm = wasm_options(&strings(&["fuel=5,timeout=1s", "unknown-imports-trap"])).unwrap();
        assert_eq!(wasm.fuel, Some(5));
        assert_eq!(wasm.timeout, Some(Duration::from_secs(1)));
        assert!(wasm.unknown_imports_trap);
        let wasm = wasm_options(&strings(&["unknown-imports-trap=no"])).unwrap();
        assert!(!wasm.unknown_imports_trap);
        let wasi = wasi_options(&strings(&["inherit-env=yes,waven=false"])).unwrap();
        assert!(wasi.inherit_env && !wasi.waven_abi);
        assert_eq!(wasi_options(&[]).unwrap(), WasiOptions::default());

        let error = |result: Result<_>| result.err().unwrap().to_string();
        assert_eq!(
            error(wasm_options(&strings(&["fuel"])).map(|_| ())),
            "-W fuel: expected fuel=VALUE"
        );
        assert!(error(wasm_options(&strings(&["fuel=x"])).map(|_| ())).contains("not a number"));
        assert!(error(wasi_options(&strings(&["waven=maybe"])).map(|_| ())).contains("not y"));
        assert_eq!(
            error(wasi_options(&strings(&["tcplisten=0:80"])).map(|_| ())),
            "-S tcplisten: unknown option (known: inherit-env, waven)"
        );
    }
}
