#![deny(missing_docs)]
//! The host side of waven: the platform that holds tenants' instances,
//! shared regions, grants and policy; the `waven` guest ABI through which
//! instances share memory; and the typed, validated manifest of a
//! multi-tenant deployment.
//!
//! ```text
//!  manifest (TOML) ──► Platform (registry: instances, regions, grants, policy)
//!                          ▲            │ MMU: Region, AddressSpace
//!  guest ──► "waven" ABI ──┘            ▼
//!                                   waven-mmu
//! ```

pub mod abi;
mod futex;
pub mod limits;
pub mod manifest;
pub mod registry;
pub mod run;

pub use futex::WaitOutcome;
pub use limits::TenantLimits;
