//! The platform's registry: instances by name, regions by name, grants by
//! grantee name, and the policy of who may grant to whom. Every operation
//! of the guest ABI and the equivalent host methods go through here.
//!
//! ```text
//!  Platform (Arc, shared by every instance's thread)
//!    ├─ instances: name → tenant, code measurement, address space
//!    ├─ regions:   name → Region (MMU), owner, grants: grantee name → rights (+ measurement)
//!    ├─ policy:    may `from` (a tenant or "host") grant to tenant `to`?
//!    └─ futex:     wait/notify by physical location
//! ```
//!
//! Grants are kept by name, so a region can be granted to an instance
//! before it exists; the MMU-level grant (by address space) is made when
//! the grantee maps the region, after the name-level grant, the policy
//! and the code measurement have been checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use waven_mmu::{AddressSpace, Errno, FramePool, Region, Rights};

use crate::futex::Futex;

/// A SHA-256 digest of a module's bytes: the code measurement an enclave
/// would attest.
pub type Measurement = [u8; 32];

/// Who owns a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The host made it (for example from a file) and lends it.
    Host,
    /// The instance of that name shared it from its own pages.
    Instance(String),
}

/// A grant by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedGrant {
    /// The most the grantee may map the region with.
    pub rights: Rights,
    /// If set, the grant holds only for an instance running exactly this
    /// code.
    pub measurement: Option<Measurement>,
}

/// Which tenant (or `"host"`) may grant regions to which tenant.
pub type Policy = dyn Fn(&str, &str) -> bool + Send + Sync;

/// The multi-tenant platform: shared by every instance, on any thread.
#[derive(Clone)]
pub struct Platform {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) pool: FramePool,
    state: Mutex<State>,
    pub(crate) futex: Futex,
    policy: Box<Policy>,
}

struct InstanceRecord {
    tenant: String,
    measurement: Measurement,
    space: Option<AddressSpace>,
}

struct RegionRecord {
    region: Region,
    owner: Owner,
    grants: HashMap<String, NamedGrant>,
}

#[derive(Default)]
struct State {
    instances: HashMap<String, InstanceRecord>,
    regions: HashMap<String, RegionRecord>,
}

/// A region as reported: name, size, owner and grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionReport {
    /// The region's name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Its owner.
    pub owner: Owner,
    /// The most any grant may give.
    pub max_rights: Rights,
    /// Grantee names and their rights, sorted by name.
    pub grants: Vec<(String, Rights)>,
}

impl Platform {
    /// A platform whose regions take frames from `pool` (the engine's), with
    /// a policy deciding who may grant to whom.
    pub fn new(pool: &FramePool, policy: Box<Policy>) -> Platform {
        Platform {
            shared: Arc::new(Shared {
                pool: pool.clone(),
                state: Mutex::new(State::default()),
                futex: Futex::default(),
                policy,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an instance of `tenant` running code with `measurement`.
    ///
    /// # Errors
    ///
    /// `EEXIST` if the name is taken.
    pub fn add_instance(
        &self,
        name: &str,
        tenant: &str,
        measurement: Measurement,
    ) -> Result<(), Errno> {
        let mut state = self.lock();
        if state.instances.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        state.instances.insert(
            name.to_string(),
            InstanceRecord {
                tenant: tenant.to_string(),
                measurement,
                space: None,
            },
        );
        Ok(())
    }

    /// Records the address space of an instance (after instantiation).
    ///
    /// # Errors
    ///
    /// `ENOENT` for an unknown instance.
    pub fn attach_space(&self, name: &str, space: AddressSpace) -> Result<(), Errno> {
        let mut state = self.lock();
        let record = state.instances.get_mut(name).ok_or(Errno::ENOENT)?;
        record.space = Some(space);
        Ok(())
    }

    /// Makes a host-owned region of `size` bytes of zeros.
    ///
    /// # Errors
    ///
    /// `EEXIST` for a name in use, `EINVAL` for a bad size, `ENOMEM`.
    pub fn create_region(
        &self,
        name: &str,
        size: u64,
        max_rights: Rights,
    ) -> Result<Region, Errno> {
        let mut state = self.lock();
        if state.regions.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let region =
            Region::new(&self.shared.pool, name, size, max_rights).map_err(|e| e.errno())?;
        state.regions.insert(
            name.to_string(),
            RegionRecord {
                region: region.clone(),
                owner: Owner::Host,
                grants: HashMap::new(),
            },
        );
        Ok(region)
    }

    /// Makes pages of `instance`'s memory a region owned by it (the ABI's
    /// `share`).
    pub(crate) fn share(
        &self,
        instance: &str,
        space: &AddressSpace,
        addr: u64,
        len: u64,
        name: &str,
        max_rights: Rights,
    ) -> Result<Region, Errno> {
        let mut state = self.lock();
        if state.regions.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let region = space
            .share(addr, len, name, max_rights)
            .map_err(|e| e.errno())?;
        state.regions.insert(
            name.to_string(),
            RegionRecord {
                region: region.clone(),
                owner: Owner::Instance(instance.to_string()),
                grants: HashMap::new(),
            },
        );
        Ok(region)
    }

    fn tenant_of<'a>(state: &'a State, owner: &'a Owner) -> Option<&'a str> {
        match owner {
            Owner::Host => Some("host"),
            Owner::Instance(name) => state.instances.get(name).map(|r| r.tenant.as_str()),
        }
    }

    /// Lets `grantee` (an instance name) map `region` with at most
    /// `rights`, optionally only while it runs the code `measurement`.
    /// `by` must own the region and the policy must allow the grant.
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such region), `EPERM` (not the owner, or the policy
    /// refuses), `EACCES` (above the region's maximum rights).
    pub fn grant(
        &self,
        by: &Owner,
        region: &str,
        grantee: &str,
        rights: Rights,
        measurement: Option<Measurement>,
    ) -> Result<(), Errno> {
        let mut state = self.lock();
        let record = state.regions.get(region).ok_or(Errno::ENOENT)?;
        if &record.owner != by {
            return Err(Errno::EPERM);
        }
        if rights > record.region.max_rights() {
            return Err(Errno::EACCES);
        }
        let from = Self::tenant_of(&state, by).ok_or(Errno::EPERM)?.to_string();
        let to = match state.instances.get(grantee) {
            Some(record) => record.tenant.clone(),
            None => grantee.to_string(),
        };
        if !(self.shared.policy)(&from, &to) {
            return Err(Errno::EPERM);
        }
        let space = state.instances.get(grantee).and_then(|r| r.space.clone());
        let record = state.regions.get_mut(region).expect("checked above");
        record.grants.insert(
            grantee.to_string(),
            NamedGrant {
                rights,
                measurement,
            },
        );
        // A grant already applied in the MMU is replaced (lowering it
        // lowers the grantee's mapping at once).
        if let Some(space) = space {
            if record.region.grant_of(space.id()).is_some() {
                record
                    .region
                    .grant(space.id(), rights)
                    .map_err(|e| e.errno())?;
            }
        }
        Ok(())
    }

    /// Removes `grantee`'s grant and every mapping it has of the region.
    /// When this returns, no access that starts afterwards reaches it.
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such region or grant), `EPERM` (not the owner).
    pub fn revoke(&self, by: &Owner, region: &str, grantee: &str) -> Result<(), Errno> {
        let mut state = self.lock();
        let space = state.instances.get(grantee).and_then(|r| r.space.clone());
        let record = state.regions.get_mut(region).ok_or(Errno::ENOENT)?;
        if &record.owner != by {
            return Err(Errno::EPERM);
        }
        record.grants.remove(grantee).ok_or(Errno::ENOENT)?;
        if let Some(space) = space {
            // Never applied in the MMU (not mapped yet) is fine.
            let _ = record.region.revoke(space.id());
        }
        Ok(())
    }

    /// Checks that `instance` may open `region` (owner, or a grant whose
    /// code measurement matches) and returns the rights it may map with.
    ///
    /// # Errors
    ///
    /// `ENOENT` (no such region), `EACCES` (no grant, or other code).
    pub fn open(&self, instance: &str, region: &str) -> Result<Rights, Errno> {
        let state = self.lock();
        let record = state.regions.get(region).ok_or(Errno::ENOENT)?;
        Self::allowed(&state, record, instance)
    }

    fn allowed(state: &State, record: &RegionRecord, instance: &str) -> Result<Rights, Errno> {
        if record.owner == Owner::Instance(instance.to_string()) {
            return Ok(Rights::ReadWrite);
        }
        let grant = record.grants.get(instance).ok_or(Errno::EACCES)?;
        if let Some(expected) = grant.measurement {
            let actual = state.instances.get(instance).map(|r| r.measurement);
            if actual != Some(expected) {
                return Err(Errno::EACCES);
            }
        }
        Ok(grant.rights)
    }

    /// Maps `region` into `instance`'s space at `addr` with `rights`,
    /// after checking its grant (and applying it in the MMU).
    ///
    /// # Errors
    ///
    /// `ENOENT`, `EACCES` (above the grant), and the MMU's errors
    /// (`EINVAL`, `EBUSY`).
    pub fn map(
        &self,
        instance: &str,
        region: &str,
        addr: u64,
        rights: Rights,
    ) -> Result<(), Errno> {
        self.map_to(instance, region, Some(addr), rights)
            .map(|_| ())
    }

    /// Maps `region` at the end of `instance`'s memory, growing it by as
    /// many Wasm pages as the region needs (the ABI's `map` with address
    /// -1). Every check is made before the memory grows, so a refused map
    /// changes nothing. Returns the address.
    ///
    /// # Errors
    ///
    /// As [`Platform::map`], and `ENOMEM` if the memory cannot grow.
    pub fn map_at_end(&self, instance: &str, region: &str, rights: Rights) -> Result<u64, Errno> {
        self.map_to(instance, region, None, rights)
    }

    /// Maps at `addr`, or (`None`) at the end of a memory grown for it.
    fn map_to(
        &self,
        instance: &str,
        region: &str,
        addr: Option<u64>,
        rights: Rights,
    ) -> Result<u64, Errno> {
        let state = self.lock();
        let record = state.regions.get(region).ok_or(Errno::ENOENT)?;
        let allowed = Self::allowed(&state, record, instance)?;
        if rights > allowed {
            return Err(Errno::EACCES);
        }
        let space = state
            .instances
            .get(instance)
            .and_then(|r| r.space.clone())
            .ok_or(Errno::ENOENT)?;
        let addr = match addr {
            Some(addr) => addr,
            None => {
                if space.maps_region(record.region.id()) {
                    return Err(Errno::EBUSY);
                }
                let pages = record.region.size().div_ceil(1 << 16);
                space.grow(pages).map_err(|e| e.errno())? << 16
            }
        };
        if record.owner != Owner::Instance(instance.to_string()) {
            record
                .region
                .grant(space.id(), allowed)
                .map_err(|e| e.errno())?;
        }
        space
            .map_region(&record.region, addr, rights)
            .map_err(|e| e.errno())?;
        Ok(addr)
    }

    /// The size in bytes of `region`.
    ///
    /// # Errors
    ///
    /// `ENOENT`.
    pub fn region_size(&self, region: &str) -> Result<u64, Errno> {
        let state = self.lock();
        Ok(state
            .regions
            .get(region)
            .ok_or(Errno::ENOENT)?
            .region
            .size())
    }

    /// The region itself (host access to its bytes).
    pub fn region(&self, name: &str) -> Option<Region> {
        self.lock().regions.get(name).map(|r| r.region.clone())
    }

    /// Every region, sorted by name.
    pub fn regions(&self) -> Vec<RegionReport> {
        let state = self.lock();
        let mut reports: Vec<RegionReport> = state
            .regions
            .iter()
            .map(|(name, record)| {
                let mut grants: Vec<_> = record
                    .grants
                    .iter()
                    .map(|(grantee, grant)| (grantee.clone(), grant.rights))
                    .collect();
                grants.sort();
                RegionReport {
                    name: name.clone(),
                    size: record.region.size(),
                    owner: record.owner.clone(),
                    max_rights: record.region.max_rights(),
                    grants,
                }
            })
            .collect();
        reports.sort_by(|a, b| a.name.cmp(&b.name));
        reports
    }
}
