//! Per-tenant limits on everything a guest can make the host allocate, in
//! the spirit of wasmtime's `StoreLimits`: no tenant can exhaust the host's
//! memory (in an enclave, abort the process) by asking for many small
//! things, and a tenant that reaches a limit gets an errno while every other
//! tenant runs on.
//!
//! ```text
//!  manifest [tenants.limits] ─┐
//!                              ├─► TenantLimits ─► Platform::add_instance
//!  embedding API ─────────────┘       │
//!        registry: grants, regions ◄──┤  (ENOMEM when reached)
//!        ABI:      handles, waiters ◄─┘  (ENOMEM when reached)
//!        WASI, runtime, quota, deadline: carried for their owners
//! ```

use std::time::Duration;

/// The limits of one tenant. `Default` gives the defaults documented on
/// each field; they are generous for real programs and keep the host's
/// worst case per tenant in the low megabytes.
///
/// Exceeding a limit of the `waven` ABI makes the call fail with `ENOMEM`
/// (48), changing nothing, for that tenant only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantLimits {
    /// How many grants the regions a tenant owns may carry, all regions
    /// together (so also per region). A grant replaced for the same
    /// grantee counts once; `revoke` frees it. Default 1024.
    pub grants: usize,
    /// How many region handles (`share`, `open`) each instance of the
    /// tenant may hold open at once; `close` frees one. Default 1024.
    pub handles: usize,
    /// How many regions the tenant's instances may own (`share`; regions
    /// a manifest gives the tenant count too). Regions are never
    /// destroyed, so this bounds them for the tenant's lifetime. Default 256.
    pub regions: usize,
    /// How many of the tenant's threads may block in `wait` at once.
    /// Default 64.
    pub waiters: usize,
    /// How many WASI file descriptors the tenant may hold open (including
    /// its preopens and standard streams). Carried here for the WASI
    /// context, which enforces it. Default 1024.
    pub wasi_fds: usize,
    /// The most elements any table of the tenant's instances may have
    /// (`table.grow` fails beyond). Carried here for the runtime, which
    /// enforces it. Default 100,000.
    pub table_elements: u64,
    /// The tenant's quota of guest memory, in bytes (its linear memories
    /// and the regions it owns); `None`: only the frame budget bounds it.
    /// Carried here for the runtime, which enforces it. Default `None`.
    pub memory: Option<u64>,
    /// The tenant's wall-clock deadline from its start, which also
    /// interrupts blocking host calls; `None`: no deadline. Carried here
    /// for the runtime, which enforces it. Default `None`.
    pub timeout: Option<Duration>,
}

/// [`TenantLimits::grants`] by default.
pub const DEFAULT_GRANTS: usize = 1024;
/// [`TenantLimits::handles`] by default.
pub const DEFAULT_HANDLES: usize = 1024;
/// [`TenantLimits::regions`] by default.
pub const DEFAULT_REGIONS: usize = 256;
/// [`TenantLimits::waiters`] by default.
pub const DEFAULT_WAITERS: usize = 64;
/// [`TenantLimits::wasi_fds`] by default.
pub const DEFAULT_WASI_FDS: usize = 1024;
/// [`TenantLimits::table_elements`] by default.
pub const DEFAULT_TABLE_ELEMENTS: u64 = waven_runtime::StoreLimits::DEFAULT_TABLE_ELEMENTS;

impl Default for TenantLimits {
    fn default() -> TenantLimits {
        TenantLimits {
            grants: DEFAULT_GRANTS,
            handles: DEFAULT_HANDLES,
            regions: DEFAULT_REGIONS,
            waiters: DEFAULT_WAITERS,
            wasi_fds: DEFAULT_WASI_FDS,
            table_elements: DEFAULT_TABLE_ELEMENTS,
            memory: None,
            timeout: None,
        }
    }
}

/// Parses a duration: a decimal integer followed (with or without spaces)
/// by `ms`, `s`, `m` or `h`, for example `"500ms"`, `"30s"` or `"2m"`. The
/// message of an error does not repeat the input's position.
///
/// # Errors
///
/// A message for anything else, or a duration too large to represent.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!("invalid duration `{text}`: expected a whole number followed by ms, s, m or h (\"30s\")")
    };
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let count: u64 = digits.parse().map_err(|_| invalid())?;
    let millis_per_unit: u64 = match unit.trim_start() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(invalid()),
    };
    count
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("duration `{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 2 m "), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "30", "1.5s", "-1s", "3d", "30 sec", "0x10s"] {
            assert!(
                parse_duration(bad).unwrap_err().contains("invalid"),
                "{bad}"
            );
        }
        assert!(parse_duration("18446744073709551615h")
            .unwrap_err()
            .contains("too large"));
    }
}
