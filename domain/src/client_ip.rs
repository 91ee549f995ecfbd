//! Which address a request comes from. Behind a load balancer every connection comes from the
//! balancer, so per-IP limits would lock everybody out together; the operator names the proxies
//! they trust (`server.trusted_proxies`) and the client is then the nearest address in
//! `X-Forwarded-For` that is not one of them. From anyone else the header is ignored: it is only
//! as trustworthy as whoever wrote it.

use std::net::IpAddr;

/// An address range: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr =
            addr.parse().map_err(|_| format!("{text:?} is not an IP address or range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> Option<u128> {
            match (self.network, ip) {
                (IpAddr::V4(_), IpAddr::V4(v4)) => Some(u128::from(u32::from(v4)) << 96),
                (IpAddr::V6(_), IpAddr::V6(v6)) => Some(u128::from(v6)),
                (IpAddr::V4(_), IpAddr::V6(v6)) => {
                    v6.to_ipv4_mapped().map(|v4| u128::from(u32::from(v4)) << 96)
                }
                (IpAddr::V6(_), IpAddr::V4(_)) => None,
            }
        };
        let (Some(net), Some(ip)) = (bits(self.network), bits(ip)) else { return false };
        // Both families sit in the top bits (IPv4 in the top 32), so the mask is the top `prefix`.
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        net & mask == ip & mask
    }
}

/// Every `X-Forwarded-For` line of a request, in the order received, as one comma-separated list.
/// A proxy may append its own line instead of extending the client's, so reading only the first
/// line would read what the client wrote. A line that is not text becomes an entry that does not
/// parse, so the walk in [`client_ip`] stops there rather than skipping it.
pub fn forwarded_for<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> String {
    lines
        .into_iter()
        .map(|line| std::str::from_utf8(line).unwrap_or("malformed"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the nearest address
/// in `X-Forwarded-For` (read right to left) that is not a trusted proxy. A malformed entry stops
/// the walk at the last proxy that wrote a good one.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|range| range.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or_default().rsplit(',').take(32) {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ranges(list: &[&str]) -> Vec<IpRange> {
        list.iter().map(|r| IpRange::parse(r).unwrap()).collect()
    }

    #[test]
    fn ranges_parse_and_match() {
        let lan = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains(ip("10.20.30.40")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(lan.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6 counts");
        assert!(IpRange::parse("192.0.2.1").unwrap().contains(ip("192.0.2.1")));
        assert!(!IpRange::parse("192.0.2.1").unwrap().contains(ip("192.0.2.2")));
        assert!(IpRange::parse("2001:db8::/32").unwrap().contains(ip("2001:db8:1::5")));
        assert!(!IpRange::parse("2001:db8::/32").unwrap().contains(ip("10.0.0.1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "fe80::/129", "", "proxy.example.org", "10.0.0.0/x"]
        {
            assert!(IpRange::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let trusted = ranges(&["10.0.0.0/8"]);
        // Straight from the internet: a forged header changes nothing.
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &[]), ip("203.0.113.9"));
        // Through the balancer: the nearest untrusted hop, not what the client claimed first.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7, 10.0.0.9"), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some("garbage, 10.0.0.9"), &trusted), ip("10.0.0.9"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some(" 2001:db8::1 "), &trusted), ip("2001:db8::1"));
    }

    #[test]
    fn every_header_line_counts_in_order() {
        let trusted = ranges(&["10.0.0.0/8"]);
        // The client sent a line of its own; the proxy appended the address it saw.
        let list = forwarded_for([b"6.6.6.6".as_slice(), b"198.51.100.7"]);
        assert_eq!(list, "6.6.6.6,198.51.100.7");
        assert_eq!(client_ip(ip("10.0.0.2"), Some(&list), &trusted), ip("198.51.100.7"));
        let list = forwarded_for([b"6.6.6.6, 10.0.0.8".as_slice(), b"198.51.100.7, 10.0.0.9"]);
        assert_eq!(client_ip(ip("10.0.0.2"), Some(&list), &trusted), ip("198.51.100.7"));
        // A line that is not text stops the walk at the last good hop; it is not skipped.
        let list = forwarded_for([b"6.6.6.6".as_slice(), b"\xff", b"10.0.0.9"]);
        assert_eq!(client_ip(ip("10.0.0.2"), Some(&list), &trusted), ip("10.0.0.9"));
        assert_eq!(forwarded_for(std::iter::empty()), "");
        assert_eq!(client_ip(ip("10.0.0.2"), Some(""), &trusted), ip("10.0.0.2"));
    }
}
