//! Everything that happens before the first tenant starts: the engine, the
//! platform, the tenants' modules and measurements, the manifest's regions
//! and grants.
//!
//! Tenants whose module files hold the same bytes share one [`Module`]:
//!
//! ```text
//!  tenant a ── a.wasm ─┐
//!                      ├─ same SHA-256 ──► Module (code, copy-on-write image)
//!  tenant b ── b.wasm ─┘
//!  tenant c ── c.wasm ─── other SHA-256 ─► Module
//! ```
//!
//! The key is the SHA-256 of the file's bytes as stored (of the artifact
//! itself for a `.cwasm`), so a file is compiled once however many tenants
//! name it, by whatever path. Each tenant still has its own pin check
//! (`artifact_sha256`) and registers its own instance with its own limits;
//! each instance's memory is its own (on virtual memory, a copy-on-write
//! clone of the shared image), so no tenant sees another's writes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use waven_mmu::{Errno, Rights};
use waven_runtime::{Config, Engine, MemoryBackend, Module};

use super::report::ModuleSharing;
use super::RunError;
use crate::manifest::{self, Manifest, MemoryKind, RightsSpec, TenantSpec};
use crate::registry::{Measurement, Owner, Platform};

/// The engine, the platform and what the manifest made in it.
pub(crate) struct Setup {
    pub(crate) engine: Engine,
    pub(crate) platform: Platform,
    /// Each tenant's compiled module and code measurement, by name.
    pub(crate) modules: HashMap<String, (Module, Measurement)>,
    /// Every module compiled (or loaded from an artifact) and its code
    /// measurement, by the SHA-256 of its file's bytes: a tenant whose file
    /// holds the same bytes as an earlier one's gets this module. Modules
    /// that failed are not kept: each tenant with such a file tries again
    /// and gets its own error, naming its own path.
    compiled: HashMap<[u8; 32], (Module, Measurement)>,
    /// The owner named in the manifest of each region it declares.
    pub(crate) region_owners: HashMap<String, String>,
    /// Tenants whose module could not be read, compiled or registered: the
    /// run reports them as failed and runs the others. The measurement is
    /// there if the file could be read.
    pub(crate) failed: HashMap<String, (Option<Measurement>, RunError)>,
    /// While set, the platform's policy allows every grant: the manifest's
    /// grants were checked against the policy by [`Manifest::load`], with
    /// the owner the manifest names (which the registry cannot know for
    /// tenant-owned regions, see [`super`]).
    setup_phase: Arc<AtomicBool>,
}

impl Setup {
    /// Creates the engine and the platform, compiles every distinct module
    /// file once (or checks and loads its precompiled artifact), creates
    /// and fills the regions, and makes the grants. A tenant whose module
    /// cannot be loaded is recorded in `failed`; the manifest's grants to
    /// it (and its access as a region's owner) are not made, since it
    /// never runs.
    pub(crate) fn new(manifest: &Manifest) -> Result<Setup, RunError> {
        let config = Config {
            engine: manifest.engine.into(),
            memory: match manifest.memory {
                MemoryKind::Virtual => MemoryBackend::Virtual,
                MemoryKind::Plain => MemoryBackend::Plain,
            },
            frame_budget: manifest.frame_budget,
            fuel: manifest.tenants.iter().any(|t| t.fuel.is_some()),
            ..Config::default()
        };
        let memory = config.memory;
        let engine = Engine::new(config).map_err(|error| {
            let (key, value) = match (&error, memory) {
                (waven_runtime::Error::Unsupported(_), MemoryBackend::Plain) => {
                    ("memory", "\"plain\"".to_owned())
                }
                _ => ("frame_budget", format!("{} bytes", manifest.frame_budget)),
            };
            RunError::EngineSetting { key, value, error }
        })?;
        let setup_phase = Arc::new(AtomicBool::new(true));
        let policy = manifest.policy.clone();
        let during_setup = Arc::clone(&setup_phase);
        let platform = Platform::new(
            engine.frame_pool(),
            Box::new(move |from: &str, to: &str| {
                during_setup.load(Ordering::SeqCst) || policy.allows(from, to)
            }),
        );
        let mut setup = Setup {
            engine,
            platform,
            modules: HashMap::new(),
            compiled: HashMap::new(),
            region_owners: HashMap::new(),
            failed: HashMap::new(),
            setup_phase,
        };
        for tenant in &manifest.tenants {
            setup.load_tenant(tenant);
        }
        for region in &manifest.regions {
            setup.create_region(region)?;
        }
        for grant in &manifest.grants {
            if setup.failed.contains_key(&grant.grantee) {
                continue;
            }
            let rights = rights(grant.rights);
            // The registry knows the region by its owner's name.
            let owner = setup
                .region_owners
                .get(&grant.region)
                .map_or(manifest::HOST, String::as_str);
            let path = format!("{owner}/{}", grant.region);
            setup
                .platform
                .grant(
                    &Owner::Host,
                    &path,
                    &grant.grantee,
                    rights,
                    grant.measurement,
                )
                .map_err(|errno| RunError::Grant {
                    region: grant.region.clone(),
                    grantee: grant.grantee.clone(),
                    message: errno_text(errno),
                })?;
        }
        // From now on, grants (made by guests) follow the manifest's policy.
        setup.setup_phase.store(false, Ordering::SeqCst);
        Ok(setup)
    }

    /// Reads, measures and compiles a tenant's module and registers its
    /// instance; or records in `failed` why it could not, with the
    /// measurement if the file could be read.
    fn load_tenant(&mut self, tenant: &TenantSpec) {
        let mut measurement = None;
        match self.compile(tenant, &mut measurement) {
            Ok(loaded) => {
                self.modules.insert(tenant.name.clone(), loaded);
            }
            Err(error) => {
                self.failed
                    .insert(tenant.name.clone(), (measurement, error));
            }
        }
    }

    /// How many modules were compiled for how many tenants, and lets them
    /// go: they hold their memory images' frames, which the pool's
    /// counters at the end of a run should not count.
    pub(crate) fn release_modules(&mut self) -> ModuleSharing {
        let sharing = ModuleSharing {
            compiled: self.compiled.len(),
            tenants: self.modules.len(),
        };
        self.compiled.clear();
        self.modules.clear();
        sharing
    }

    /// The work of [`Setup::load_tenant`]: the module of the tenant's file
    /// (compiled now, or shared with an earlier tenant whose file held the
    /// same bytes), and its instance registered. Sets `measurement` as soon
    /// as it is known, for the report of a tenant that then fails.
    fn compile(
        &mut self,
        tenant: &TenantSpec,
        measurement: &mut Option<Measurement>,
    ) -> Result<(Module, Measurement), RunError> {
        let bytes = std::fs::read(&tenant.module)
            .map_err(|error| module_error(tenant, format!("cannot read: {error}")))?;
        let file_sha256 = measure(&bytes);
        // The pin holds for whatever the file now is (the manifest was
        // checked earlier; the file may have been replaced since).
        if let Some(expected) = &tenant.artifact_sha256 {
            if file_sha256 != *expected {
                let message = format!(
                    "the artifact's SHA-256 is {}, but the manifest's artifact_sha256 is {}: \
                     not the artifact that was pinned (rebuilt, replaced or damaged); nothing \
                     of it was loaded",
                    hex(&file_sha256),
                    hex(expected)
                );
                return Err(module_error(tenant, message));
            }
        }
        let (module, measured) = match self.compiled.get(&file_sha256) {
            Some((module, measured)) => {
                *measurement = Some(*measured);
                (module.clone(), *measured)
            }
            None => {
                let loaded = self.load_module(tenant, &bytes, measurement)?;
                self.compiled.insert(file_sha256, loaded.clone());
                loaded
            }
        };
        self.platform
            .add_instance(&tenant.name, &tenant.name, measured, tenant.limits)
            .map_err(|errno| RunError::Instance {
                tenant: tenant.name.clone(),
                message: format!("cannot register the instance: {}", errno_text(errno)),
            })?;
        Ok((module, measured))
    }

    /// Compiles a module file's `bytes` (text or binary), or loads them as
    /// an artifact, with its code measurement; sets `measurement` as soon
    /// as it is known.
    fn load_module(
        &self,
        tenant: &TenantSpec,
        bytes: &[u8],
        measurement: &mut Option<Measurement>,
    ) -> Result<(Module, Measurement), RunError> {
        if Module::is_artifact(bytes) {
            let module = Module::deserialize(&self.engine, bytes).map_err(|error| {
                module_error(tenant, artifact_message(error, self.engine.config()))
            })?;
            // The source module's SHA-256, which the artifact carries and
            // `deserialize` checked: grants bound to the .wasm hold.
            let measured = module.sha256();
            *measurement = Some(measured);
            Ok((module, measured))
        } else {
            let measured = measure(bytes);
            *measurement = Some(measured);
            let wasm = wat::parse_bytes(bytes).map_err(|mut error| {
                error.set_path(&tenant.module);
                module_error(tenant, one_line(&error.to_string()))
            })?;
            let module = Module::new(&self.engine, &wasm)
                .map_err(|error| module_error(tenant, error.to_string()))?;
            Ok((module, measured))
        }
    }

    /// Creates a region host-side, copies its contents file in, and gives
    /// a tenant owner access to it.
    fn create_region(&mut self, spec: &manifest::RegionSpec) -> Result<(), RunError> {
        let region_error = |message: String| RunError::Region {
            region: spec.name.clone(),
            message,
        };
        let max_rights = rights(spec.max_rights);
        // A tenant-owned region is in the tenant's namespace (it opens it
        // as `name`, others as `tenant/name`); the host keeps granting it.
        let created = match &spec.owner {
            manifest::Owner::Host => self
                .platform
                .create_region(&spec.name, spec.size, max_rights),
            manifest::Owner::Tenant(owner) => self
                .platform
                .create_region_for(owner, &spec.name, spec.size, max_rights),
        };
        let region = created.map_err(|errno| {
            region_error(match (errno, self.engine.config().memory) {
                (Errno::ENOMEM, MemoryBackend::Plain) => {
                    "regions need virtual memory: with memory = \"plain\" there is no frame pool"
                        .to_owned()
                }
                _ => format!("cannot create it: {}", errno_text(errno)),
            })
        })?;
        if let Some(path) = &spec.contents {
            let data = std::fs::read(path).map_err(|error| {
                region_error(format!("cannot read {}: {error}", path.display()))
            })?;
            region.write_bytes(0, &data).map_err(|error| {
                region_error(format!("contents file {}: {error}", path.display()))
            })?;
        }
        self.region_owners
            .insert(spec.name.clone(), spec.owner.name().to_owned());
        Ok(())
    }
}

/// What went wrong with a tenant's module file.
fn module_error(tenant: &TenantSpec, message: String) -> RunError {
    RunError::Module {
        tenant: tenant.name.clone(),
        path: tenant.module.clone(),
        message,
    }
}

/// A text-format error on one line, for a report's row: the message and
/// where (`PATH:LINE:COL`), without the snippet of source under it.
fn one_line(error: &str) -> String {
    let mut lines = error.lines();
    let message = lines.next().unwrap_or_default();
    match lines.find_map(|line| line.trim_start().strip_prefix("--> ")) {
        Some(at) => format!("{message} (at {at})"),
        None => message.to_owned(),
    }
}

/// The MMU's rights for the manifest's.
pub(crate) fn rights(spec: RightsSpec) -> Rights {
    match spec {
        RightsSpec::None => Rights::None,
        RightsSpec::Read => Rights::Read,
        RightsSpec::ReadWrite => Rights::ReadWrite,
    }
}

/// An errno with its name.
pub(crate) fn errno_text(errno: Errno) -> String {
    match errno.name() {
        Some(name) => format!("{name} ({})", errno.0),
        None => errno.to_string(),
    }
}

/// Why an artifact could not be loaded, with what the manifest runs code
/// with when the artifact was compiled with other settings.
fn artifact_message(error: waven_runtime::Error, config: &Config) -> String {
    let message = error.to_string();
    if !message.contains("compiled for CodegenSettings") {
        return message;
    }
    let memory = match config.memory {
        MemoryBackend::Virtual => "virtual",
        MemoryBackend::Plain => "plain",
    };
    let fuel = if config.fuel {
        "with fuel (a tenant has `fuel`): `waven compile --fuel"
    } else {
        "without fuel (no tenant has `fuel`): `waven compile"
    };
    format!("{message}; this manifest runs code on memory \"{memory}\" {fuel} --memory {memory}`")
}

/// A SHA-256 as 64 lowercase hexadecimal digits.
fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The code measurement of a module file's bytes: their SHA-256.
pub fn measure(bytes: &[u8]) -> Measurement {
    Sha256::digest(bytes).into()
}

/// A measurement as manifests write it: `sha256:` and 64 lowercase
/// hexadecimal digits.
pub fn measurement_text(measurement: &Measurement) -> String {
    format!("sha256:{}", hex(measurement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_errors_fit_on_one_line() {
        let mut error = wat::parse_str("nonsense").unwrap_err();
        error.set_path("m.wat");
        assert_eq!(one_line(&error.to_string()), "expected `(` (at m.wat:1:1)");
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn measurements_are_sha256_in_manifest_syntax() {
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            measurement_text(&measure(b"abc")),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
