//! A tenant's `artifact_sha256` pins the file as it is when the platform
//! loads it, whatever it has become since the manifest was checked.

use std::fs;

use waven_platform::manifest::Manifest;
use waven_platform::run::{self, measure, Options, Outcome};

fn hex(bytes: &[u8]) -> String {
    measure(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_pinned_artifact_replaced_after_the_check_is_refused() {
    let dir = std::env::temp_dir().join(format!("waven-artifact-pin-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    // The checker knows an artifact by its magic alone.
    let artifact = b"\0wavencw\x01\0\0\0rest".to_vec();
    let module = dir.join("m.cwasm");
    fs::write(&module, &artifact).unwrap();
    let text = format!(
        "engine = \"compiled\"\n[[tenant]]\nname = \"t\"\nmodule = \"m.cwasm\"\n\
         artifact_sha256 = \"{}\"\n",
        hex(&artifact)
    );
    let manifest = Manifest::parse(&text, &dir).unwrap();
    // Replaced by a plain module (which would compile and run): refused.
    let wasm = wat::parse_str("(module (func (export \"_start\")))").unwrap();
    fs::write(&module, &wasm).unwrap();
    let report = run::run(&manifest, &Options::default()).unwrap();
    let Outcome::Failed { error } = &report.tenants[0].outcome else {
        panic!("{:?}", report.tenants[0].outcome);
    };
    let expected = format!(
        "the artifact's SHA-256 is {}, but the manifest's artifact_sha256 is {}",
        hex(&wasm),
        hex(&artifact)
    );
    assert!(error.contains(&expected), "{error}");
    let _ = fs::remove_dir_all(&dir);
}
