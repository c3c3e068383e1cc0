//! Arguments and results of `--invoke`, as text.

use anyhow::{anyhow, bail, Result};
use waven_runtime::{Val, ValType};

/// Parses command-line arguments as values of the function's parameter types.
pub fn parse_args(types: &[ValType], args: &[String]) -> Result<Vec<Val>> {
    if types.len() != args.len() {
        bail!(
            "the function takes {} arguments, {} given",
            types.len(),
            args.len()
        );
    }
    types
        .iter()
        .zip(args)
        .map(|(&ty, text)| parse_val(ty, text))
        .collect()
}

fn parse_val(ty: ValType, text: &str) -> Result<Val> {
    let bad = || anyhow!("cannot parse {text:?} as {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(
            text.parse::<i32>()
                .or_else(|_| text.parse::<u32>().map(|v| v as i32))
                .map_err(|_| bad())?,
        ),
        ValType::I64 => Val::I64(
            text.parse::<i64>()
                .or_else(|_| text.parse::<u64>().map(|v| v as i64))
                .map_err(|_| bad())?,
        ),
        ValType::F32 => Val::F32(text.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().map_err(|_| bad())?.to_bits()),
        ValType::FuncRef | ValType::ExternRef => bail!("cannot pass a {ty} on the command line"),
    })
}

/// Formats a result as wasmtime prints it.
pub fn format_val(value: &Val) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::FuncRef(None) => "<null funcref>".to_string(),
        Val::ExternRef(None) => "<null externref>".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(r)) => format!("<externref {}>", r.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_parsed_by_type_and_checked() {
        let types = [ValType::I32, ValType::I64, ValType::F64];
        let args = ["-1", "18446744073709551615", "2.5"].map(String::from);
        assert_eq!(
            parse_args(&types, &args).unwrap(),
            [Val::I32(-1), Val::I64(-1), Val::F64(2.5f64.to_bits())]
        );
        assert!(parse_args(&types, &args[..2]).is_err());
        assert!(parse_args(&[ValType::I32], &["x".to_string()]).is_err());
        assert!(parse_args(&[ValType::FuncRef], &["0".to_string()]).is_err());
    }
}
