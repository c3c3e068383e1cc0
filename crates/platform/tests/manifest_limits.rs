//! The manifest's bounds: the largest frame budget and host heap, the
//! largest manifest file, the deepest nesting, each refused up front with
//! a position and the limit; and an engine that cannot be created after
//! the checks names the manifest key.

use std::fs;
use std::path::PathBuf;

use waven_platform::manifest::{
    Manifest, ManifestError, MAX_FRAME_BUDGET, MAX_MANIFEST_BYTES, MAX_MANIFEST_ITEMS, MAX_NESTING,
    UNNAMED,
};
use waven_platform::run::{self, Options, RunError};

/// A fresh directory for `test` with a module `m.wat`.
fn dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waven-bounds-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("m.wat"), "(module (func (export \"_start\")))").unwrap();
    dir
}

const TENANT: &str = "[[tenant]]\nname = \"a\"\nmodule = \"m.wat\"\n";

#[track_caller]
fn fails(test: &str, text: &str, position: (usize, usize), message: &str) -> ManifestError {
    let error = Manifest::parse(text, &dir(test)).expect_err("should be refused");
    assert_eq!(error.path, UNNAMED);
    assert_eq!((error.line, error.column), position, "{error}");
    assert_eq!(error.message, message);
    error
}

#[test]
fn frame_budgets_beyond_the_limit_are_refused_with_a_position() {
    // 2^60: it passed the checks and then failed as "cannot create the
    // engine", with no position.
    fails(
        "budget",
        &format!(
            "engine = \"interp\"\nframe_budget = {}\n{TENANT}",
            1u64 << 60
        ),
        (2, 16),
        "frame_budget 1152921504606846976 is more than the limit of 68719476736 bytes (64 GiB)",
    );
    fails(
        "budget-text",
        &format!("frame_budget = \"65 GiB\"\n{TENANT}"),
        (1, 16),
        "frame_budget 69793218560 is more than the limit of 68719476736 bytes (64 GiB)",
    );
    fails(
        "heap",
        &format!("host_heap = \"1048576GiB\"\n{TENANT}"),
        (1, 13),
        "host_heap 1125899906842624 is more than the limit of 68719476736 bytes (64 GiB)",
    );
    let dir = dir("budget-max");
    let manifest = Manifest::parse(&format!("frame_budget = \"64GiB\"\n{TENANT}"), &dir).unwrap();
    assert_eq!(manifest.frame_budget, MAX_FRAME_BUDGET);
}

#[test]
fn an_engine_that_cannot_be_created_names_the_key() {
    // A manifest built by a program, past the checks of `Manifest::load`.
    let dir = dir("engine");
    let mut manifest = Manifest::parse(TENANT, &dir).unwrap();
    manifest.frame_budget = 1 << 60;
    let error = run::run(&manifest, &Options::default()).unwrap_err();
    assert!(
        matches!(
            error,
            RunError::EngineSetting {
                key: "frame_budget",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().starts_with(
            "cannot create the engine with the manifest's frame_budget (1152921504606846976 bytes): "
        ),
        "{error}"
    );
}

#[test]
fn a_manifest_file_larger_than_the_limit_is_not_read() {
    let dir = dir("large");
    let path = dir.join("waven.toml");
    // A valid manifest, padded with a comment to 5 MiB.
    let mut text = TENANT.to_owned();
    text.push('#');
    text.push_str(&"x".repeat(5 << 20));
    fs::write(&path, &text).unwrap();
    let error = Manifest::load(&path).unwrap_err();
    assert_eq!((error.line, error.column), (1, 1));
    assert_eq!(
        error.message,
        "the manifest has 5242920 bytes or more, more than the limit of 262144 bytes (256 KiB)"
    );
    assert_eq!(error.path, path.display().to_string());
    // Just at the limit, it is read (and parsed).
    text.truncate(MAX_MANIFEST_BYTES as usize);
    fs::write(&path, &text).unwrap();
    assert_eq!(Manifest::load(&path).unwrap().tenants.len(), 1);
    // A file whose metadata says nothing of its length (a device, a pipe)
    // is cut off while it is read.
    #[cfg(unix)]
    {
        let error = Manifest::load(std::path::Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            error.message,
            "the manifest has 262145 bytes or more, more than the limit of 262144 bytes (256 KiB)"
        );
    }
    text.push('x');
    assert!(Manifest::parse(&text, &dir)
        .unwrap_err()
        .message
        .contains("more than the limit of 262144 bytes"));
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_before_parsing() {
    let message =
        format!("arrays and inline tables nest deeper than the limit of {MAX_NESTING} levels");
    // 100,000 nested arrays, as the review's manifest had.
    let deep = format!("{TENANT}args = {}", "[".repeat(100_000));
    fails("arrays", &deep, (4, 8 + MAX_NESTING), &message);
    let tables = format!(
        "{TENANT}env = {}{}",
        "{ a = ".repeat(MAX_NESTING + 1),
        "}".repeat(MAX_NESTING + 1)
    );
    fails("tables", &tables, (4, 7 + 6 * MAX_NESTING), &message);
    // As deep as allowed: the parser sees it (and says what is wrong).
    let ok = format!(
        "{TENANT}args = {}{}",
        "[".repeat(MAX_NESTING),
        "]".repeat(MAX_NESTING)
    );
    let error = Manifest::parse(&ok, &dir("ok")).unwrap_err();
    assert_ne!(error.message, message);
    // Brackets in strings and comments do not count.
    let quoted = format!("{TENANT}args = [\"{0}\", '{0}'] # {0}\n", "[".repeat(100));
    let manifest = Manifest::parse(&quoted, &dir("quoted")).unwrap();
    assert_eq!(manifest.tenants[0].args.len(), 2);
}

#[test]
fn more_items_than_the_limit_are_refused_before_parsing() {
    // Three bytes a value: this shape made the parser take more than the
    // enclave profile's bootstrap heap at 128 KiB.
    let items = format!("{TENANT}args = [{}]\n", "\"\",".repeat(MAX_MANIFEST_ITEMS));
    // `[[tenant]]`, `name =` and `module =` are 4 items, `args = [` 2 more:
    // the comma after value MAX_MANIFEST_ITEMS - 5 is one too many.
    let message = format!(
        "the manifest has more than {MAX_MANIFEST_ITEMS} items (keys, values and tables, \
         counted as `=`, `,`, `[` and `{{` outside strings)"
    );
    fails("items", &items, (4, 3 * MAX_MANIFEST_ITEMS - 7), &message);
    let fewer = format!(
        "{TENANT}args = [{}\"\"]\n",
        "\"\",".repeat(MAX_MANIFEST_ITEMS - 7)
    );
    let manifest = Manifest::parse(&fewer, &dir("fewer")).unwrap();
    assert_eq!(manifest.tenants[0].args.len(), MAX_MANIFEST_ITEMS - 6);
}
