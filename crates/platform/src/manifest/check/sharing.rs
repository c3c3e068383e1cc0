//! The checks of `[[region]]` and `[[grant]]` tables.

use std::collections::{HashMap, HashSet};

use toml::Spanned;

use super::{Checker, RIGHTS};
use crate::manifest::raw::{RawManifest, RawRegion, RawSize};
use crate::manifest::{
    GrantSpec, Owner, Policy, RegionSpec, RightsSpec, HOST, MAX_REGION_SIZE, PAGE_SIZE,
};

impl Checker<'_> {
    pub(super) fn regions(
        &mut self,
        raw: &[Spanned<RawRegion>],
        tenant_names: &HashSet<String>,
        frame_budget: Option<u64>,
    ) -> Vec<RegionSpec> {
        let mut seen = HashMap::new();
        let mut regions = Vec::new();
        let mut total: u64 = 0;
        let mut over_budget = false;
        for region in raw {
            let region = region.get_ref();
            let mut ok = self.name("region", &region.name);
            ok &= self.unique(&mut seen, &region.name, |name| {
                format!("duplicate region name `{name}`")
            });
            let owner = match region.owner.get_ref().as_str() {
                HOST => Some(Owner::Host),
                name if tenant_names.contains(name) => Some(Owner::Tenant(name.to_owned())),
                name => {
                    let message =
                        format!("unknown owner `{name}`: expected \"{HOST}\" or a tenant name");
                    self.error(region.owner.span(), message);
                    None
                }
            };
            let size = self.region_size(&region.size);
            if let (Some(size), Some(budget)) = (size, frame_budget) {
                total = total.saturating_add(size);
                if total > budget && !over_budget {
                    over_budget = true;
                    let message = format!(
                        "the regions up to here need {total} bytes, more than frame_budget ({budget} bytes)"
                    );
                    self.error(region.size.span(), message);
                }
            }
            let contents = match &region.contents {
                None => Some(None),
                Some(value) => match (self.file("contents file", value), size) {
                    (Some((_, len)), Some(size)) if len > size => {
                        let message = format!(
                            "contents file `{}` is {len} bytes, larger than the region ({size} bytes)",
                            value.get_ref()
                        );
                        self.error(value.span(), message);
                        None
                    }
                    (Some((path, _)), _) => Some(Some(path)),
                    (None, _) => None,
                },
            };
            let max_rights = self.choice("rights", &region.max_rights, RIGHTS);
            if let (true, Some(owner), Some(size), Some(contents), Some(max_rights)) =
                (ok, owner, size, contents, max_rights)
            {
                regions.push(RegionSpec {
                    name: region.name.get_ref().clone(),
                    owner,
                    size,
                    contents,
                    max_rights,
                });
            }
        }
        regions
    }

    fn region_size(&mut self, value: &Spanned<RawSize>) -> Option<u64> {
        let bytes = self.size("region size", value)?;
        let problem = if bytes == 0 {
            "region size must be greater than 0".to_owned()
        } else if bytes % PAGE_SIZE != 0 {
            format!("region size {bytes} is not a multiple of {PAGE_SIZE} (the page size)")
        } else if bytes > MAX_REGION_SIZE {
            format!("region size {bytes} is larger than 4GiB")
        } else {
            return Some(bytes);
        };
        self.error(value.span(), problem);
        None
    }

    /// A name that must be a tenant's (`host` is not one).
    pub(super) fn grants(
        &mut self,
        raw: &RawManifest,
        tenant_names: &HashSet<String>,
        policy: &Policy,
    ) -> Vec<GrantSpec> {
        // The first declaration of each region name: (owner, max_rights),
        // each known only if valid.
        let mut regions: HashMap<&str, (Option<&str>, Option<RightsSpec>)> = HashMap::new();
        for region in &raw.region {
            let region = region.get_ref();
            let owner = region.owner.get_ref().as_str();
            let owner = (owner == HOST || tenant_names.contains(owner)).then_some(owner);
            let max_rights = RightsSpec::from_name(region.max_rights.get_ref());
            regions
                .entry(region.name.get_ref().as_str())
                .or_insert((owner, max_rights));
        }
        let mut seen = HashMap::new();
        let mut grants = Vec::new();
        for grant in &raw.grant {
            let grant = grant.get_ref();
            let region_name = grant.region.get_ref();
            let grantee = grant.grantee.get_ref();
            let region = regions.get(region_name.as_str()).copied();
            if region.is_none() {
                let message = format!("unknown region `{region_name}`");
                self.error(grant.region.span(), message);
            }
            let mut ok = self.tenant_ref(&grant.grantee, tenant_names);
            let rights = self.choice("rights", &grant.rights, RIGHTS);
            if let (Some((_, Some(max_rights))), Some(rights)) = (region, rights) {
                if rights > max_rights {
                    let message = format!(
                        "rights \"{}\" exceed the max_rights \"{}\" of region `{region_name}`",
                        rights.as_str(),
                        max_rights.as_str()
                    );
                    self.error(grant.rights.span(), message);
                    ok = false;
                }
            }
            if let (true, Some((Some(owner), _))) = (ok, region) {
                if owner == grantee {
                    let message = format!(
                        "tenant `{grantee}` owns region `{region_name}`: it needs no grant"
                    );
                    self.error(grant.grantee.span(), message);
                    ok = false;
                } else if !policy.allows(owner, grantee) {
                    let message = format!(
                        "the policy forbids `{owner}` to grant to `{grantee}` (region `{region_name}`)"
                    );
                    self.error(grant.grantee.span(), message);
                    ok = false;
                }
            }
            let pair = Spanned::new(grant.grantee.span(), format!("{region_name}\0{grantee}"));
            ok &= self.unique(&mut seen, &pair, |_| {
                format!("region `{region_name}` is granted to `{grantee}` twice")
            });
            let measurement = match &grant.measurement {
                None => Some(None),
                Some(value) => {
                    let parsed = parse_measurement(value.get_ref());
                    if parsed.is_none() {
                        let message = format!(
                            "invalid measurement `{}`: expected \"sha256:\" followed by 64 hexadecimal digits",
                            value.get_ref()
                        );
                        self.error(value.span(), message);
                    }
                    parsed.map(Some)
                }
            };
            if let (true, Some(_), Some(rights), Some(measurement)) =
                (ok, region, rights, measurement)
            {
                grants.push(GrantSpec {
                    region: region_name.clone(),
                    grantee: grantee.clone(),
                    rights,
                    measurement,
                });
            }
        }
        grants
    }
}

/// `sha256:` and 64 hexadecimal digits (either case).
pub(super) fn parse_measurement(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let value = digit(pair[0])? * 16 + digit(pair[1])?;
        *byte = u8::try_from(value).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_measurement;

    #[test]
    fn measurements() {
        let hex = "00ff10Ab".repeat(8);
        let parsed = parse_measurement(&format!("sha256:{hex}")).unwrap();
        assert_eq!(&parsed[..4], &[0x00, 0xff, 0x10, 0xab]);
        assert_eq!(parse_measurement(&hex), None);
        assert_eq!(parse_measurement(&format!("sha256:{}", &hex[1..])), None);
        assert_eq!(parse_measurement(&format!("sha256:{hex}0")), None);
        assert_eq!(parse_measurement(&format!("sha256:{}g", &hex[1..])), None);
        assert_eq!(parse_measurement(&format!("SHA256:{hex}")), None);
    }
}
