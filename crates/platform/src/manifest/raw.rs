//! The manifest as TOML gives it: every value with its byte span, no
//! semantics yet.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The top-level table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub frame_budget: Option<Spanned<RawSize>>,
    pub host_heap: Option<Spanned<RawSize>>,
    pub engine: Option<Spanned<String>>,
    pub memory: Option<Spanned<String>>,
    pub run: Option<Spanned<String>>,
    pub order: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub tenant: Vec<Spanned<RawTenant>>,
    #[serde(default)]
    pub region: Vec<Spanned<RawRegion>>,
    #[serde(default)]
    pub grant: Vec<Spanned<RawGrant>>,
    pub policy: Option<RawPolicy>,
}

/// A `[[tenant]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTenant {
    pub name: Spanned<String>,
    pub module: Spanned<String>,
    pub artifact_sha256: Option<Spanned<String>>,
    pub entry: Option<Spanned<String>>,
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub dirs: Vec<Spanned<String>>,
    pub fuel: Option<Spanned<i64>>,
    pub limits: Option<RawLimits>,
}

/// A `[tenant.limits]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub grants: Option<Spanned<i64>>,
    pub handles: Option<Spanned<i64>>,
    pub regions: Option<Spanned<i64>>,
    pub waiters: Option<Spanned<i64>>,
    pub wasi_fds: Option<Spanned<i64>>,
    pub table_elements: Option<Spanned<i64>>,
    pub memory: Option<Spanned<RawSize>>,
    pub timeout: Option<Spanned<String>>,
}

/// A `[[region]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegion {
    pub name: Spanned<String>,
    pub owner: Spanned<String>,
    pub size: Spanned<RawSize>,
    pub contents: Option<Spanned<String>>,
    pub max_rights: Spanned<String>,
}

/// A `[[grant]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrant {
    pub region: Spanned<String>,
    pub grantee: Spanned<String>,
    pub rights: Spanned<String>,
    pub measurement: Option<Spanned<String>>,
}

/// The `[policy]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub default: Option<Spanned<String>>,
    #[serde(default)]
    pub rule: Vec<Spanned<RawRule>>,
}

/// A `[[policy.rule]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub from: Spanned<String>,
    pub to: Spanned<Vec<Spanned<String>>>,
    pub allow: bool,
}

/// A size as written: an integer or a string such as `"64MiB"`.
pub(super) enum RawSize {
    Integer(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RawSize, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawSize;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size: an integer number of bytes or a string such as \"64MiB\"")
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RawSize, E> {
                Ok(RawSize::Integer(value))
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RawSize, E> {
                i64::try_from(value)
                    .map(RawSize::Integer)
                    .map_err(|_| E::custom(format!("size {value} is too large")))
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(value.to_owned()))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}
