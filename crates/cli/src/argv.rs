//! The command line before clap reads it, for two wasmtime conventions
//! that clap's derive cannot express:
//!
//! * `waven FILE.wasm ARGS...` (or `.wat`, or run options first, as in
//!   `waven --dir . FILE.wasm`) means `waven run FILE.wasm ARGS...`.
//! * In `waven run`, everything after the module belongs to the guest,
//!   unchanged: `--help`, `--` and anything else that looks like an
//!   option. Options of `waven run` go before the module.
//!
//! ```text
//!  waven [run] [OPTIONS] MODULE ARGS...
//!  └──────── clap ─────────────┘└ guest ┘
//! ```

use std::ffi::{OsStr, OsString};
use std::path::Path;

use clap::Command;

/// The command line split in two: what clap parses, and the guest's
/// arguments (empty unless the command is `run`).
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    /// The program name, the subcommand and its options, up to and
    /// including the module.
    pub head: Vec<OsString>,
    /// Everything after the module.
    pub guest: Vec<OsString>,
}

/// Splits `argv` (the program name first) for `cli`, the top-level
/// command whose subcommand `run` takes a module and then the guest's
/// arguments.
pub fn split(mut argv: Vec<OsString>, cli: &Command) -> Split {
    if argv.get(1).is_some_and(|first| is_shorthand(first, cli)) {
        argv.insert(1, "run".into());
    }
    let run = match (argv.get(1), cli.find_subcommand("run")) {
        (Some(name), Some(run)) if name == "run" => run,
        _ => {
            return Split {
                head: argv,
                guest: Vec::new(),
            }
        }
    };
    match module_position(&argv[2..], run) {
        Some(position) => {
            let guest = argv.split_off(2 + position + 1);
            Split { head: argv, guest }
        }
        None => Split {
            head: argv,
            guest: Vec::new(),
        },
    }
}

/// Whether the first argument starts an implicit `run`: an option (other
/// than the top level's own) or a module file, not a subcommand.
fn is_shorthand(first: &OsStr, cli: &Command) -> bool {
    let text = first.to_string_lossy();
    if cli.find_subcommand(text.as_ref()).is_some() || text == "help" {
        return false;
    }
    if text.starts_with('-') {
        return !matches!(text.as_ref(), "-h" | "--help" | "-V" | "--version");
    }
    let path = Path::new(first);
    let extension = path.extension().and_then(OsStr::to_str);
    matches!(extension, Some("wasm" | "wat")) || path.is_file()
}

/// The index in `args` (what follows `run`) of the module: the first
/// argument that is neither an option nor an option's value, or the one
/// after `--`.
fn module_position(args: &[OsString], run: &Command) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        let text = args[i].to_string_lossy();
        if text == "--" {
            return (i + 1 < args.len()).then_some(i + 1);
        }
        let takes_value = if let Some(long) = text.strip_prefix("--") {
            // `--name=value` carries its value.
            !long.contains('=') && long_takes_value(run, long)
        } else if let Some(short) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-Wkey=value` carries its value; `-W` alone takes the next.
            let mut chars = short.chars();
            let letter = chars.next();
            chars.next().is_none() && letter.is_some_and(|c| short_takes_value(run, c))
        } else {
            return Some(i);
        };
        i += if takes_value { 2 } else { 1 };
    }
    None
}

fn long_takes_value(run: &Command, name: &str) -> bool {
    run.get_arguments().any(|arg| {
        let named = arg.get_long() == Some(name)
            || arg
                .get_all_aliases()
                .is_some_and(|aliases| aliases.contains(&name));
        named && arg.get_action().takes_values()
    })
}

fn short_takes_value(run: &Command, letter: char) -> bool {
    run.get_arguments()
        .any(|arg| arg.get_short() == Some(letter) && arg.get_action().takes_values())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn cli() -> Command {
        let run = Command::new("run")
            .arg(Arg::new("dir").long("dir").action(ArgAction::Append))
            .arg(Arg::new("json").long("json").action(ArgAction::SetTrue))
            .arg(Arg::new("wasm").short('W').action(ArgAction::Append))
            .arg(Arg::new("module"));
        Command::new("waven")
            .subcommand(run)
            .subcommand(Command::new("inspect"))
    }

    fn split_text(args: &[&str]) -> (Vec<String>, Vec<String>) {
        let argv = args.iter().map(OsString::from).collect();
        let Split { head, guest } = split(argv, &cli());
        let text = |v: Vec<OsString>| -> Vec<String> {
            v.into_iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect()
        };
        (text(head), text(guest))
    }

    #[test]
    fn everything_after_the_module_is_the_guests() {
        let (head, guest) = split_text(&[
            "waven", "run", "--dir", "x", "-W", "fuel=1", "--json", "m.wasm", "--help", "--",
            "--dir", "y",
        ]);
        assert_eq!(
            head,
            ["waven", "run", "--dir", "x", "-W", "fuel=1", "--json", "m.wasm"]
        );
        assert_eq!(guest, ["--help", "--", "--dir", "y"]);
        let (head, guest) = split_text(&["waven", "run", "-Wfuel=1", "--dir=x", "m", "a"]);
        assert_eq!(head, ["waven", "run", "-Wfuel=1", "--dir=x", "m"]);
        assert_eq!(guest, ["a"]);
        let (head, guest) = split_text(&["waven", "run", "--", "-m.wasm", "a"]);
        assert_eq!(head, ["waven", "run", "--", "-m.wasm"]);
        assert_eq!(guest, ["a"]);
        let (head, guest) = split_text(&["waven", "run", "--help"]);
        assert_eq!((head.len(), guest.len()), (3, 0));
    }

    #[test]
    fn a_module_or_an_option_first_means_run() {
        let (head, guest) = split_text(&["waven", "m.wat", "--help"]);
        assert_eq!(head, ["waven", "run", "m.wat"]);
        assert_eq!(guest, ["--help"]);
        let (head, _) = split_text(&["waven", "--dir", ".", "m.wasm"]);
        assert_eq!(head, ["waven", "run", "--dir", ".", "m.wasm"]);
        for unchanged in [
            &["waven", "inspect", "m.wasm"][..],
            &["waven", "--version"],
            &["waven", "help"],
            &["waven", "nonsense"],
            &["waven"],
        ] {
            assert_eq!(split_text(unchanged).0, unchanged);
        }
    }
}
