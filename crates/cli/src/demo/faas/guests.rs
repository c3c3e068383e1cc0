//! The demo's guest modules: built from `demos/faas/*.c` by
//! `demos/build-faas.sh`, committed under `demos/build/` and embedded here,
//! or read from another directory (`--guests`, to try a rebuild).

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, Result};

/// One guest module: its file name and bytes.
pub struct Guest {
    /// `faas-NAME.wasm`.
    pub file: &'static str,
    /// The module's bytes.
    pub bytes: Cow<'static, [u8]>,
}

/// The four modules of the demo.
pub struct Guests {
    /// Stage 1: writes the events to state-1.
    pub parse: Guest,
    /// Stage 2: reads state-1, writes state-2.
    pub transform: Guest,
    /// Stage 3: reads state-2, sums up.
    pub aggregate: Guest,
    /// The function of the copy-on-write start-up part (2 MiB of data).
    pub price: Guest,
}

macro_rules! embedded {
    ($file:literal) => {
        Guest {
            file: $file,
            bytes: Cow::Borrowed(include_bytes!(concat!(
                "../../../../../demos/build/",
                $file
            ))),
        }
    };
}

impl Guests {
    /// The modules built into this binary.
    pub fn embedded() -> Guests {
        Guests {
            parse: embedded!("faas-parse.wasm"),
            transform: embedded!("faas-transform.wasm"),
            aggregate: embedded!("faas-aggregate.wasm"),
            price: embedded!("faas-price.wasm"),
        }
    }

    /// The modules of the same names in `dir`.
    ///
    /// # Errors
    ///
    /// If a file cannot be read.
    pub fn from_dir(dir: &Path) -> Result<Guests> {
        let read = |file: &'static str| -> Result<Guest> {
            let path = dir.join(file);
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read the guest {}", path.display()))?;
            Ok(Guest {
                file,
                bytes: Cow::Owned(bytes),
            })
        };
        Ok(Guests {
            parse: read("faas-parse.wasm")?,
            transform: read("faas-transform.wasm")?,
            aggregate: read("faas-aggregate.wasm")?,
            price: read("faas-price.wasm")?,
        })
    }
}
