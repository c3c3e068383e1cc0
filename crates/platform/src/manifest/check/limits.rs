//! The checks of `[tenant.limits]` tables.

use toml::Spanned;

use super::Checker;
use crate::limits::{parse_duration, TenantLimits};
use crate::manifest::raw::RawLimits;

impl Checker<'_> {
    /// A tenant's limits: the defaults, with what the table gives; `None`
    /// if a value is wrong (recorded).
    pub(super) fn limits(&mut self, raw: Option<&RawLimits>) -> Option<TenantLimits> {
        let mut limits = TenantLimits::default();
        let Some(raw) = raw else {
            return Some(limits);
        };
        let mut ok = true;
        let counts = [
            ("grants", &raw.grants, &mut limits.grants),
            ("handles", &raw.handles, &mut limits.handles),
            ("regions", &raw.regions, &mut limits.regions),
            ("waiters", &raw.waiters, &mut limits.waiters),
            ("wasi_fds", &raw.wasi_fds, &mut limits.wasi_fds),
        ];
        for (what, value, field) in counts {
            if let Some(value) = value {
                match self
                    .count(what, value)
                    .and_then(|n| usize::try_from(n).ok())
                {
                    Some(n) => *field = n,
                    None => ok = false,
                }
            }
        }
        if let Some(value) = &raw.table_elements {
            match self.count("table_elements", value) {
                Some(n) => limits.table_elements = n,
                None => ok = false,
            }
        }
        if let Some(value) = &raw.memory {
            match self.page_multiple("memory", value) {
                Some(bytes) => limits.memory = Some(bytes),
                None => ok = false,
            }
        }
        if let Some(value) = &raw.timeout {
            match parse_duration(value.get_ref()) {
                Ok(duration) if !duration.is_zero() => limits.timeout = Some(duration),
                Ok(_) => {
                    self.error(value.span(), "timeout must be greater than 0".to_owned());
                    ok = false;
                }
                Err(message) => {
                    self.error(value.span(), message);
                    ok = false;
                }
            }
        }
        ok.then_some(limits)
    }

    /// A count: an integer, 0 or more.
    fn count(&mut self, what: &str, value: &Spanned<i64>) -> Option<u64> {
        let n = *value.get_ref();
        let count = u64::try_from(n).ok();
        if count.is_none() {
            self.error(
                value.span(),
                format!("{what} must not be negative, got {n}"),
            );
        }
        count
    }
}
