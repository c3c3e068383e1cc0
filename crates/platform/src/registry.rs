//! The platform's registry: instances by name, regions by owner and name,
//! grants by grantee name, the policy of who may grant to whom, and each
//! tenant's limits and usage. Every operation of the guest ABI and the
//! equivalent host methods go through here.
//!
//! ```text
//!  Platform (Arc, shared by every instance's thread)
//!    ├─ instances: name → tenant, code measurement, address space
//!    ├─ tenants:   name → TenantLimits, regions owned, grants made
//!    ├─ regions:   (owner, name) → Region (MMU), grants: grantee name → rights (+ measurement)
//!    ├─ policy:    may `from` (a tenant or "host") grant to tenant `to`?
//!    └─ futex:     wait/notify by physical location
//! ```
//!
//! Region names are scoped by their owner (DESIGN.md section 5): every
//! owner, the host or an instance, has its own namespace, and a region's
//! full name is `owner/name` ([`RegionPath`]). A name without `/` is looked
//! up in the namespace of whoever asks: an instance's `open("data")` finds
//! its own region, `open("host/data")` the host's, `open("alice/data")`
//! alice's. Nobody can create a region in another's namespace, so no
//! tenant can pose as another by taking a name first.
//!
//! Grants are kept by name, so a region can be granted to an instance
//! before it exists; the MMU-level grant (by address space) is made when
//! the grantee maps the region, after the name-level grant, the policy
//! and the code measurement have been checked.
//!
//! Everything a guest can make grow here is bounded per tenant by its
//! [`TenantLimits`]: beyond a limit the call fails with `ENOMEM` and
//! changes nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use waven_mmu::{AddressSpace, Errno, FramePool, Region, Rights};
use waven_runtime::InterruptHandle;

use crate::futex::Futex;
use crate::limits::TenantLimits;

/// A SHA-256 digest of a module's bytes: the code measurement an enclave
/// would attest.
pub type Measurement = [u8; 32];

/// The longest instance name, and the longest region name within its
/// owner's namespace, in bytes.
pub const MAX_NAME: u32 = 256;

/// The name of the host's namespace (`host/name`); no instance may have it.
pub const HOST: &str = "host";

/// Who owns a region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The host made it (for example from a file) and lends it.
    Host,
    /// The instance of that name shared it from its own pages, or the host
    /// made it for that instance (a manifest's tenant-owned region).
    Instance(String),
}

impl Owner {
    /// The owner's namespace: [`HOST`] or the instance's name.
    pub fn name(&self) -> &str {
        match self {
            Owner::Host => HOST,
            Owner::Instance(name) => name,
        }
    }
}

/// A region's full name: its owner and its name in the owner's namespace.
/// Written `owner/name` (`host/name` for the host's regions).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegionPath {
    /// Whose namespace.
    pub owner: Owner,
    /// The name in it: 1 to [`MAX_NAME`] bytes, without `/`.
    pub name: String,
}

impl RegionPath {
    /// Resolves `text` as `who` sees it: `owner/name`, or a bare `name` in
    /// `who`'s own namespace.
    ///
    /// # Errors
    ///
    /// `EINVAL` for an empty part, a part longer than [`MAX_NAME`], or more
    /// than one `/`.
    pub fn resolve(text: &str, who: &Owner) -> Result<RegionPath, Errno> {
        let (owner, name) = match text.split_once('/') {
            None => (who.clone(), text),
            Some((owner, name)) => {
                check_name(owner)?;
                let owner = match owner {
                    HOST => Owner::Host,
                    other => Owner::Instance(other.to_owned()),
                };
                (owner, name)
            }
        };
        check_name(name)?;
        Ok(RegionPath {
            owner,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for RegionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner.name(), self.name)
    }
}

/// A name part: 1 to [`MAX_NAME`] bytes, no `/` (`EINVAL`).
fn check_name(name: &str) -> Result<(), Errno> {
    if name.is_empty() || name.len() > MAX_NAME as usize || name.contains('/') {
        return Err(Errno::EINVAL);
    }
    Ok(())
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

/// Which tenant (or `"host"`) may grant regions to which tenant. There is
/// no default: a platform that wants open sharing passes
/// `Box::new(|_, _| true)`, one that wants none `Box::new(|_, _| false)`.
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
    /// What stops the instance's store (deadline, shutdown).
    interrupt: Option<InterruptHandle>,
}

/// A tenant's limits and what it uses of the registry's.
struct TenantRecord {
    limits: TenantLimits,
    regions: usize,
    grants: usize,
}

struct RegionRecord {
    region: Region,
    owner: Owner,
    /// Made by the host for an instance owner (a manifest's tenant-owned
    /// region): the owner maps it with at most the maximum rights, and
    /// only the host grants and revokes it.
    host_managed: bool,
    grants: HashMap<String, NamedGrant>,
}

#[derive(Default)]
struct State {
    instances: HashMap<String, InstanceRecord>,
    tenants: HashMap<String, TenantRecord>,
    regions: HashMap<RegionPath, RegionRecord>,
}

impl State {
    /// The tenant record of an instance owner (`None` for the host, whose
    /// use is not limited).
    fn owner_tenant(&mut self, owner: &Owner) -> Option<&mut TenantRecord> {
        let Owner::Instance(instance) = owner else {
            return None;
        };
        let tenant = &self.instances.get(instance)?.tenant;
        self.tenants.get_mut(tenant)
    }
}

/// A region as reported: name, size, owner and grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionReport {
    /// The region's name in its owner's namespace.
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

impl RegionReport {
    /// The region's full name, `owner/name`, as [`Platform::region`] takes it.
    pub fn path(&self) -> String {
        format!("{}/{}", self.owner.name(), self.name)
    }
}

impl Platform {
    /// A platform whose regions take frames from `pool` (the engine's), with
    /// a policy deciding who may grant to whom (see [`Policy`]: there is no
    /// default).
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

    /// Registers an instance `name` of `tenant` running code with
    /// `measurement`, and sets the tenant's `limits` (an instance of a
    /// tenant already registered replaces them; what the tenant uses
    /// stays counted).
    ///
    /// # Errors
    ///
    /// `EEXIST` if the name is taken; `EINVAL` for a name that is empty,
    /// longer than [`MAX_NAME`], contains `/` or is [`HOST`].
    pub fn add_instance(
        &self,
        name: &str,
        tenant: &str,
        measurement: Measurement,
        limits: TenantLimits,
    ) -> Result<(), Errno> {
        check_name(name)?;
        if name == HOST {
            return Err(Errno::EINVAL);
        }
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
                interrupt: None,
            },
        );
        state
            .tenants
            .entry(tenant.to_string())
            .and_modify(|record| record.limits = limits)
            .or_insert(TenantRecord {
                limits,
                regions: 0,
                grants: 0,
            });
        Ok(())
    }

    /// Removes instance `name` and everything the registry holds for it,
    /// so that what it held returns to the frame pool and the host heap
    /// once its store is gone too:
    ///
    /// * its address space and interrupt handle;
    /// * the regions it owns: every grant of them is revoked first (as
    ///   [`Platform::revoke`] does, so no grantee's access completes with
    ///   them afterwards) and they leave the registry; a grantee that
    ///   still holds an open handle keeps the region's frames until it
    ///   closes it;
    /// * the grants made to it, by name and in the MMU (a later instance
    ///   of the same name starts with none), and the count of them its
    ///   grantors' tenants were charged;
    /// * its tenant's record, when no other instance of the tenant is
    ///   left (else the counts of what it owned are given back).
    ///
    /// Call it once the instance's store is dropped or stopped: the store
    /// holds the memory itself, and a running instance would keep running
    /// on it.
    ///
    /// # Errors
    ///
    /// `ENOENT` for an unknown instance.
    pub fn remove_instance(&self, name: &str) -> Result<(), Errno> {
        let mut state = self.lock();
        let record = state.instances.remove(name).ok_or(Errno::ENOENT)?;
        let owner = Owner::Instance(name.to_owned());
        let owned: Vec<RegionPath> = state
            .regions
            .keys()
            .filter(|path| path.owner == owner)
            .cloned()
            .collect();
        let (mut regions, mut grants) = (0, 0);
        for path in owned {
            let Some(region) = state.regions.remove(&path) else {
                continue;
            };
            for grantee in region.grants.keys() {
                let space = state.instances.get(grantee).and_then(|r| r.space.as_ref());
                if let Some(space) = space {
                    // Never applied in the MMU (not mapped) is fine.
                    let _ = region.region.revoke(space.id());
                }
            }
            regions += 1;
            grants += region.grants.len();
        }
        // Grants to it: the grantors' tenants get their count back.
        let mut returned: Vec<String> = Vec::new();
        for region in state.regions.values_mut() {
            if region.grants.remove(name).is_some() {
                if let Owner::Instance(grantor) = &region.owner {
                    returned.push(grantor.clone());
                }
            }
            if let Some(space) = &record.space {
                if region.region.grant_of(space.id()).is_some() {
                    let _ = region.region.revoke(space.id());
                }
            }
        }
        for grantor in returned {
            if let Some(tenant) = state.owner_tenant(&Owner::Instance(grantor)) {
                tenant.grants = tenant.grants.saturating_sub(1);
            }
        }
        let tenant_left = state.instances.values().any(|r| r.tenant == record.tenant);
        if tenant_left {
            if let Some(tenant) = state.tenants.get_mut(&record.tenant) {
                tenant.regions = tenant.regions.saturating_sub(regions);
                tenant.grants = tenant.grants.saturating_sub(grants);
            }
        } else {
            state.tenants.remove(&record.tenant);
        }
        // Dropped after the lock: the space's frames go back to the pool.
        drop(state);
        drop(record);
        Ok(())
    }

    /// How many instances the registry holds.
    pub fn instance_count(&self) -> usize {
        self.lock().instances.len()
    }

    /// The tenant of instance `instance` and its limits.
    pub fn tenant_of(&self, instance: &str) -> Option<(String, TenantLimits)> {
        let state = self.lock();
        let tenant = &state.instances.get(instance)?.tenant;
        let limits = state.tenants.get(tenant)?.limits;
        Some((tenant.clone(), limits))
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

    /// Records the handle that stops an instance's store, so that the host
    /// can [`stop`](Platform::stop) it.
    ///
    /// # Errors
    ///
    /// `ENOENT` for an unknown instance.
    pub fn attach_interrupt(&self, name: &str, interrupt: InterruptHandle) -> Result<(), Errno> {
        let mut state = self.lock();
        let record = state.instances.get_mut(name).ok_or(Errno::ENOENT)?;
        record.interrupt = Some(interrupt);
        Ok(())
    }

    /// Stops an instance, running or blocked in a host call (`wait`,
    /// `poll_oneoff`): its code traps with "interrupted" at its next
    /// safepoint and its blocking calls return.
    ///
    /// # Errors
    ///
    /// `ENOENT` for an unknown instance or one without a recorded handle.
    pub fn stop(&self, name: &str) -> Result<(), Errno> {
        let state = self.lock();
        let record = state.instances.get(name).ok_or(Errno::ENOENT)?;
        record.interrupt.as_ref().ok_or(Errno::ENOENT)?.interrupt();
        Ok(())
    }

    /// Stops every instance that has a recorded handle (shutdown).
    pub fn stop_all(&self) {
        for record in self.lock().instances.values() {
            if let Some(interrupt) = &record.interrupt {
                interrupt.interrupt();
            }
        }
    }

    /// Makes a host-owned region `host/name` of `size` bytes of zeros.
    ///
    /// # Errors
    ///
    /// `EEXIST` for a name in use, `EINVAL` for a bad size or name (empty,
    /// with `/`, too long), `ENOMEM`.
    pub fn create_region(
        &self,
        name: &str,
        size: u64,
        max_rights: Rights,
    ) -> Result<Region, Errno> {
        self.create(Owner::Host, name, size, max_rights)
    }

    /// Makes a region `owner/name` of `size` bytes of zeros for instance
    /// `owner` (a manifest's tenant-owned region): the owner opens it as
    /// `name` and maps it with at most `max_rights`; only the host grants
    /// and revokes it (with [`Owner::Host`] as `by`). It counts against the
    /// owner tenant's [`TenantLimits::regions`].
    ///
    /// # Errors
    ///
    /// As [`Platform::create_region`]; `ENOENT` for an unknown instance,
    /// `ENOMEM` beyond the tenant's limit.
    pub fn create_region_for(
        &self,
        owner: &str,
        name: &str,
        size: u64,
        max_rights: Rights,
    ) -> Result<Region, Errno> {
        self.create(Owner::Instance(owner.to_owned()), name, size, max_rights)
    }

    fn create(
        &self,
        owner: Owner,
        name: &str,
        size: u64,
        max_rights: Rights,
    ) -> Result<Region, Errno> {
        check_name(name)?;
        let mut state = self.lock();
        if let Owner::Instance(instance) = &owner {
            if !state.instances.contains_key(instance) {
                return Err(Errno::ENOENT);
            }
        }
        let path = RegionPath {
            owner,
            name: name.to_owned(),
        };
        if state.regions.contains_key(&path) {
            return Err(Errno::EEXIST);
        }
        Self::reserve_region(&mut state, &path.owner)?;
        let region =
            Region::new(&self.shared.pool, name, size, max_rights).map_err(|e| e.errno())?;
        Self::count_region(&mut state, &path.owner);
        let host_managed = path.owner != Owner::Host;
        state.regions.insert(
            path.clone(),
            RegionRecord {
                region: region.clone(),
                owner: path.owner,
                host_managed,
                grants: HashMap::new(),
            },
        );
        Ok(region)
    }

    /// `ENOMEM` if `owner`'s tenant owns as many regions as it may.
    fn reserve_region(state: &mut State, owner: &Owner) -> Result<(), Errno> {
        match state.owner_tenant(owner) {
            Some(tenant) if tenant.regions >= tenant.limits.regions => Err(Errno::ENOMEM),
            _ => Ok(()),
        }
    }

    fn count_region(state: &mut State, owner: &Owner) {
        if let Some(tenant) = state.owner_tenant(owner) {
            tenant.regions += 1;
        }
    }

    /// Makes pages of `instance`'s memory the region `instance/name` (the
    /// ABI's `share`).
    pub(crate) fn share(
        &self,
        instance: &str,
        space: &AddressSpace,
        addr: u64,
        len: u64,
        name: &str,
        max_rights: Rights,
    ) -> Result<Region, Errno> {
        check_name(name)?;
        let mut state = self.lock();
        let path = RegionPath {
            owner: Owner::Instance(instance.to_owned()),
            name: name.to_owned(),
        };
        if state.regions.contains_key(&path) {
            return Err(Errno::EEXIST);
        }
        Self::reserve_region(&mut state, &path.owner)?;
        let region = space
            .share(addr, len, name, max_rights)
            .map_err(|e| e.errno())?;
        Self::count_region(&mut state, &path.owner);
        state.regions.insert(
            path.clone(),
            RegionRecord {
                region: region.clone(),
                owner: path.owner,
                host_managed: false,
                grants: HashMap::new(),
            },
        );
        Ok(region)
    }

    fn policy_name<'a>(state: &'a State, owner: &'a Owner) -> Option<&'a str> {
        match owner {
            Owner::Host => Some(HOST),
            Owner::Instance(name) => state.instances.get(name).map(|r| r.tenant.as_str()),
        }
    }

    /// May `by` grant and revoke this region?
    fn grants_it(record: &RegionRecord, by: &Owner) -> bool {
        match by {
            Owner::Host => record.owner == Owner::Host || record.host_managed,
            instance => &record.owner == instance && !record.host_managed,
        }
    }

    /// Lets `grantee` (an instance name) map `region` (resolved in `by`'s
    /// namespace, see [`RegionPath::resolve`]) with at most `rights`,
    /// optionally only while it runs the code `measurement`. `by` must own
    /// the region (the host for regions it made, also for an instance)
    /// and the policy must allow the grant.
    ///
    /// # Errors
    ///
    /// `EINVAL` (a bad name), `ENOENT` (no such region), `EPERM` (not the
    /// owner, or the policy refuses), `EACCES` (above the region's maximum
    /// rights), `ENOMEM` (the owner tenant's [`TenantLimits::grants`]).
    pub fn grant(
        &self,
        by: &Owner,
        region: &str,
        grantee: &str,
        rights: Rights,
        measurement: Option<Measurement>,
    ) -> Result<(), Errno> {
        let path = RegionPath::resolve(region, by)?;
        check_name(grantee)?;
        let mut state = self.lock();
        let record = state.regions.get(&path).ok_or(Errno::ENOENT)?;
        if !Self::grants_it(record, by) {
            return Err(Errno::EPERM);
        }
        if rights > record.region.max_rights() {
            return Err(Errno::EACCES);
        }
        let replaces = record.grants.contains_key(grantee);
        let owner = record.owner.clone();
        let from = Self::policy_name(&state, &owner)
            .ok_or(Errno::EPERM)?
            .to_string();
        let to = match state.instances.get(grantee) {
            Some(record) => record.tenant.clone(),
            None => grantee.to_string(),
        };
        if !(self.shared.policy)(&from, &to) {
            return Err(Errno::EPERM);
        }
        if !replaces {
            if let Some(tenant) = state.owner_tenant(&owner) {
                if tenant.grants >= tenant.limits.grants {
                    return Err(Errno::ENOMEM);
                }
                tenant.grants += 1;
            }
        }
        let space = state.instances.get(grantee).and_then(|r| r.space.clone());
        let record = state.regions.get_mut(&path).expect("checked above");
        record.grants.insert(
            grantee.to_string(),
            NamedGrant {
                rights,
                measurement,
            },
        );
        // A grant already applied in the MMU is replaced (lowering it
        // lowers the grantee's mapping at once); the name-level grant above
        // is the one that counts, so an MMU refusal cannot leave a
        // half-made grant.
        if let Some(space) = space {
            if record.region.grant_of(space.id()).is_some() {
                let _ = record.region.grant(space.id(), rights);
            }
        }
        Ok(())
    }

    /// Removes `grantee`'s grant of `region` (resolved in `by`'s namespace)
    /// and every mapping it has of the region. When this returns, no
    /// access that starts afterwards reaches it.
    ///
    /// # Errors
    ///
    /// `EINVAL` (a bad name), `ENOENT` (no such region or grant), `EPERM`
    /// (not the owner).
    pub fn revoke(&self, by: &Owner, region: &str, grantee: &str) -> Result<(), Errno> {
        let path = RegionPath::resolve(region, by)?;
        let mut state = self.lock();
        let space = state.instances.get(grantee).and_then(|r| r.space.clone());
        let record = state.regions.get_mut(&path).ok_or(Errno::ENOENT)?;
        if !Self::grants_it(record, by) {
            return Err(Errno::EPERM);
        }
        record.grants.remove(grantee).ok_or(Errno::ENOENT)?;
        if let Some(space) = space {
            // Never applied in the MMU (not mapped yet) is fine.
            let _ = record.region.revoke(space.id());
        }
        let owner = record.owner.clone();
        if let Some(tenant) = state.owner_tenant(&owner) {
            tenant.grants = tenant.grants.saturating_sub(1);
        }
        Ok(())
    }

    /// Checks that `instance` may open `region` (resolved in its own
    /// namespace: `name` is its own region, `owner/name` another's) and
    /// returns the rights it may map with.
    ///
    /// # Errors
    ///
    /// `EINVAL` (a bad name), `ENOENT` (no such region), `EACCES` (no
    /// grant, or other code).
    pub fn open(&self, instance: &str, region: &str) -> Result<Rights, Errno> {
        let path = RegionPath::resolve(region, &Owner::Instance(instance.to_owned()))?;
        let state = self.lock();
        let record = state.regions.get(&path).ok_or(Errno::ENOENT)?;
        Self::allowed(&state, record, instance)
    }

    fn allowed(state: &State, record: &RegionRecord, instance: &str) -> Result<Rights, Errno> {
        if record.owner == Owner::Instance(instance.to_string()) {
            return Ok(if record.host_managed {
                record.region.max_rights()
            } else {
                Rights::ReadWrite
            });
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

    /// Maps `region` (resolved as [`Platform::open`] does) into
    /// `instance`'s space at `addr` with `rights`, after checking its
    /// grant (and applying it in the MMU).
    ///
    /// # Errors
    ///
    /// `EINVAL`, `ENOENT`, `EACCES` (above the grant), and the MMU's errors
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
    /// -1); pages after the region up to the Wasm page's end map nothing.
    /// Every check is made before the memory grows, so a refused map
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
        let path = RegionPath::resolve(region, &Owner::Instance(instance.to_owned()))?;
        let state = self.lock();
        let record = state.regions.get(&path).ok_or(Errno::ENOENT)?;
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
                // No frames held for pages the region replaces at once.
                space.grow_unmapped(pages).map_err(|e| e.errno())? << 16
            }
        };
        // The MMU knows only the sharing owner's space; everybody else,
        // including the owner of a region the host made for it, maps
        // through a grant.
        if record.owner != Owner::Instance(instance.to_string()) || record.host_managed {
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

    /// The size in bytes of `region` (`name` for the host's, `owner/name`).
    ///
    /// # Errors
    ///
    /// `EINVAL`, `ENOENT`.
    pub fn region_size(&self, region: &str) -> Result<u64, Errno> {
        let path = RegionPath::resolve(region, &Owner::Host)?;
        let state = self.lock();
        Ok(state.regions.get(&path).ok_or(Errno::ENOENT)?.region.size())
    }

    /// The region itself (host access to its bytes): `name` for the
    /// host's, `owner/name` for an instance's.
    pub fn region(&self, name: &str) -> Option<Region> {
        let path = RegionPath::resolve(name, &Owner::Host).ok()?;
        self.lock().regions.get(&path).map(|r| r.region.clone())
    }

    /// Every region, sorted by full name.
    pub fn regions(&self) -> Vec<RegionReport> {
        let state = self.lock();
        let mut reports: Vec<RegionReport> = state
            .regions
            .iter()
            .map(|(path, record)| {
                let mut grants: Vec<_> = record
                    .grants
                    .iter()
                    .map(|(grantee, grant)| (grantee.clone(), grant.rights))
                    .collect();
                grants.sort();
                RegionReport {
                    name: path.name.clone(),
                    size: record.region.size(),
                    owner: record.owner.clone(),
                    max_rights: record.region.max_rights(),
                    grants,
                }
            })
            .collect();
        reports.sort_by_key(RegionReport::path);
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_the_askers_namespace_unless_qualified() {
        let alice = Owner::Instance("alice".into());
        let path = |owner: Owner, name: &str| RegionPath {
            owner,
            name: name.into(),
        };
        assert_eq!(
            RegionPath::resolve("data", &alice),
            Ok(path(alice.clone(), "data"))
        );
        assert_eq!(
            RegionPath::resolve("data", &Owner::Host),
            Ok(path(Owner::Host, "data"))
        );
        assert_eq!(
            RegionPath::resolve("host/data", &alice),
            Ok(path(Owner::Host, "data"))
        );
        let bob = Owner::Instance("bob".into());
        assert_eq!(
            RegionPath::resolve("bob/data", &alice),
            Ok(path(bob, "data"))
        );
        assert_eq!(
            RegionPath::resolve("bob/data", &alice).unwrap().to_string(),
            "bob/data"
        );
        let long = "x".repeat(MAX_NAME as usize + 1);
        for bad in ["", "/", "a/", "/a", "a/b/c", long.as_str()] {
            assert_eq!(
                RegionPath::resolve(bad, &alice),
                Err(Errno::EINVAL),
                "{bad:?}"
            );
        }
    }
}
