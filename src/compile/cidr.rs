//! CIDR blocks for `cidrMatch` and for KQL/range-free IP terms.
//!
//! Elasticsearch stores every IP as 16 bytes, IPv4 addresses mapped into
//! IPv6 (`::ffff:a.b.c.d`). Blocks and addresses are compared in that one
//! space, so `::ffff:10.0.0.1` is inside `10.0.0.0/8` exactly as in
//! Elasticsearch. A bare address (`"::1"`) is a block of full length.

use std::net::IpAddr;

/// A set of CIDR blocks, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrSet {
    /// (network bits, prefix length) in the IPv6 space.
    blocks: Vec<(u128, u8)>,
}

/// Why a block did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCidr {
    /// The text that failed.
    pub text: String,
}

impl std::fmt::Display for BadCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] is not a valid IP address or CIDR block (expected e.g. 10.0.0.0/8 or fe80::/10)",
            self.text
        )
    }
}

fn to_v6(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// Parses one IP address as Elasticsearch accepts it in an `ip` field.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

impl CidrSet {
    /// Parses blocks such as `10.0.0.0/8`, `fe80::/10` or a bare `::1`.
    pub fn parse<'a>(blocks: impl IntoIterator<Item = &'a str>) -> Result<CidrSet, BadCidr> {
        let mut out = Vec::new();
        for text in blocks {
            let bad = || BadCidr {
                text: text.to_string(),
            };
            let (addr, prefix) = match text.split_once('/') {
                Some((a, p)) => {
                    let addr: IpAddr = a.parse().map_err(|_| bad())?;
                    let p: u8 = p.parse().map_err(|_| bad())?;
                    let max = if addr.is_ipv4() { 32 } else { 128 };
                    if p > max {
                        return Err(bad());
                    }
                    (addr, p)
                }
                None => {
                    let addr: IpAddr = text.parse().map_err(|_| bad())?;
                    (addr, if addr.is_ipv4() { 32 } else { 128 })
                }
            };
            let prefix = if addr.is_ipv4() { prefix + 96 } else { prefix };
            out.push((to_v6(addr) & mask(prefix), prefix));
        }
        Ok(CidrSet { blocks: out })
    }

    /// Whether any block contains `addr`.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let a = to_v6(addr);
        self.blocks.iter().any(|&(net, p)| a & mask(p) == net)
    }

    /// Whether `text` is an IP address inside any block.
    pub fn contains_text(&self, text: &str) -> bool {
        parse_ip(text).is_some_and(|a| self.contains(a))
    }
}

/// The canonical text of an address, as Elasticsearch renders `ip` values:
/// IPv4-mapped addresses print as IPv4.
pub fn canonical_ip(addr: IpAddr) -> String {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(blocks: &[&str]) -> CidrSet {
        CidrSet::parse(blocks.iter().copied()).unwrap()
    }

    #[test]
    fn ipv4_ipv6_bare_and_mapped() {
        let s = set(&[
            "10.0.0.0/8",
            "192.168.0.0/16",
            "::1",
            "FE80::/10",
            "0.0.0.0/0",
        ]);
        assert!(s.contains_text("10.1.2.3"));
        assert!(s.contains_text("::1"));
        assert!(s.contains_text("fe80::1"));
        assert!(s.contains_text("::ffff:10.0.0.1"));
        let private = set(&["10.0.0.0/8", "::1"]);
        assert!(!private.contains_text("8.8.8.8"));
        assert!(!private.contains_text("::2"));
        assert!(!private.contains_text("not an ip"));
        assert!(private.contains_text("::ffff:10.9.9.9"));
        // A host address with its bits set still names the block.
        assert!(set(&["10.1.2.3/8"]).contains_text("10.200.0.1"));
        // 0.0.0.0/0 covers only IPv4, ::/0 everything.
        assert!(!set(&["0.0.0.0/0"]).contains_text("fe80::1"));
        assert!(set(&["::/0"]).contains_text("1.2.3.4"));
    }

    #[test]
    fn bad_blocks_are_reported() {
        for bad in ["10.0.0.0/33", "::/129", "10.0.0", "x/8", "10.0.0.0/x"] {
            let err = CidrSet::parse([bad]).unwrap_err();
            assert_eq!(err.text, bad);
        }
    }

    #[test]
    fn canonical_text() {
        assert_eq!(canonical_ip("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4");
        assert_eq!(canonical_ip("FE80::1".parse().unwrap()), "fe80::1");
    }
}
