//! Where the fetcher may go: URL rules (http/https, no credentials), the
//! blocked address ranges, and a DNS lookup that checks every answer.
//!
//! The address rule is an allow-list at heart: an IPv6 address must be
//! global unicast (2000::/3) and an IPv4 one must fall outside every
//! special-purpose range IANA lists as not globally reachable. IPv6
//! spellings that carry an IPv4 address (mapped, NAT64, 6to4) are judged by
//! that IPv4 address. Numeric IPv4 spellings (`2130706433`, `0x7f.1`,
//! `0177.0.0.1`) need no work here: the `url` crate parses them into
//! `Host::Ipv4` as browsers do, and the tests pin that.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

use super::FetchError;

/// IPv4 ranges never fetched from (IANA special-purpose registry, plus
/// multicast and the reserved 240/4 that ends in the broadcast address).
const BLOCKED_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network", incl. 0.0.0.0
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // CGNAT (incl. Alibaba metadata 100.100.100.200)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local (incl. AWS/GCP/Azure metadata)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments (incl. Oracle metadata)
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation TEST-NET-1
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay anycast (deprecated)
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation TEST-NET-2
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation TEST-NET-3
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, incl. 255.255.255.255
];

/// Ranges inside IPv6 global unicast (2000::/3) that are still refused.
/// Everything outside 2000::/3 is refused anyway: ::, ::1, the deprecated
/// IPv4-compatible ::/96, unique-local fc00::/7 (incl. AWS's metadata
/// fd00:ec2::254), link-local fe80::/10, site-local, multicast ff00::/8,
/// discard 100::/64, local-use NAT64 64:ff9b:1::/48.
const BLOCKED_V6_GLOBAL: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF assignments: Teredo, benchmarking, ORCHID
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];

/// Cloud metadata services by address. Each already falls in a blocked
/// range; listing them keeps the rule from depending on that.
const METADATA_ADDRS: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// Host names refused before any lookup: metadata services that answer by
/// name, and `localhost`, which RFC 6761 pins to loopback.
const BLOCKED_NAMES: &[&str] = &["localhost", "metadata", "metadata.google.internal", "metadata.goog"];

/// Whether an address is one the fetcher must never connect to.
pub fn is_blocked(ip: IpAddr) -> bool {
    if METADATA_ADDRS.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => v4_blocked(v4),
        IpAddr::V6(v6) => v6_blocked(v6),
    }
}

fn v4_blocked(ip: Ipv4Addr) -> bool {
    BLOCKED_V4.iter().any(|&(net, len)| in_prefix(ip.to_bits().into(), net.to_bits().into(), 32, len))
}

fn v6_blocked(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_blocked(IpAddr::V4(v4));
    }
    let global_unicast = in_prefix(ip.to_bits(), 0x2000 << 112, 128, 3);
    !global_unicast || BLOCKED_V6_GLOBAL.iter().any(|&(net, len)| in_prefix(ip.to_bits(), net.to_bits(), 128, len))
}

/// The IPv4 address an IPv6 one stands for when connecting to it reaches
/// that IPv4 host: IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and
/// 6to4 (2002::/16, the address in bits 16..48).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    // Truncating casts pick the low 32 bits, which is the point.
    let low = Ipv4Addr::from_bits(bits as u32);
    if in_prefix(bits, 0xffff << 32, 128, 96) || in_prefix(bits, 0x64_ff9b << 96, 128, 96) {
        return Some(low);
    }
    if in_prefix(bits, 0x2002 << 112, 128, 16) {
        return Some(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    None
}

/// Whether the top `len` of `width` bits of `ip` and `net` agree.
fn in_prefix(ip: u128, net: u128, width: u32, len: u8) -> bool {
    let shift = width - u32::from(len);
    len == 0 || (ip ^ net) >> shift == 0
}

/// What a fetch may connect to. `exempt` lets tests treat one loopback
/// address as public while every other rule stays on; it is always empty
/// outside tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Destinations<'a> {
    pub allow_private: bool,
    pub exempt: &'a [IpAddr],
}

impl Destinations<'_> {
    fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || self.exempt.contains(&ip) || !is_blocked(ip)
    }

    /// Scheme, credentials and literal-host rules for a parsed URL.
    pub(super) fn check(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Refused(format!("scheme {}: is not allowed, only http and https", url.scheme())));
        }
        // `http://good@evil/` and friends: parsers disagree on which part is
        // the host, so credentials are refused outright.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Refused("credentials in the URL are not accepted".into()));
        }
        match url.host() {
            None => Err(FetchError::InvalidUrl("no host".into())),
            Some(Host::Ipv4(v4)) => self.check_literal(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check_literal(IpAddr::V6(v6)),
            Some(Host::Domain(name)) if !self.allow_private && name_blocked(name) => {
                Err(FetchError::Refused(format!("host {name} is not allowed")))
            }
            Some(Host::Domain(_)) => Ok(()),
        }
    }

    fn check_literal(&self, ip: IpAddr) -> Result<(), FetchError> {
        if self.permits(ip) { Ok(()) } else { Err(FetchError::Refused(format!("address {ip} is not allowed"))) }
    }

    /// Resolves `host` and returns its addresses, refusing the lot when any
    /// one is blocked (a name that mixes public and private answers is a
    /// rebinding attempt or a misconfiguration; neither deserves a fetch).
    pub(super) async fn resolve(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Vec<SocketAddr>, FetchError> {
        let lookup = tokio::net::lookup_host((host, port));
        let addrs: Vec<SocketAddr> = tokio::time::timeout(timeout, lookup)
            .await
            .map_err(|_| FetchError::Timeout)?
            .map_err(|e| FetchError::Network(format!("cannot resolve {host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(FetchError::Network(format!("{host} has no addresses")));
        }
        if addrs.iter().any(|addr| !self.permits(addr.ip())) {
            return Err(FetchError::Refused(format!("host {host} resolves to an address that is not allowed")));
        }
        Ok(addrs)
    }
}

fn name_blocked(name: &str) -> bool {
    // `url` lower-cases domains; a trailing dot is the same name, fully
    // qualified.
    let name = name.trim_end_matches('.');
    BLOCKED_NAMES.contains(&name) || name.ends_with(".localhost")
}

/// Parses `url` and applies every rule that needs no DNS: http/https only,
/// no credentials, no blocked literal address or name. This is the API's
/// immediate answer; [`super::fetch`] still resolves and checks each hop.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, FetchError> {
    let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
    Destinations { allow_private, exempt: &[] }.check(&parsed)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        matches!(check_url(url, false), Err(FetchError::Refused(_)))
    }

    #[test]
    fn every_spelling_of_a_blocked_address_is_refused() {
        let urls = [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://127.0.0.1.:8080/",
            "http://%31%32%37.0.0.1/",
            "http://\u{ff11}\u{ff12}\u{ff17}.0.0.1/",
            "http://0/",
            "http://0.0.0.0/",
            "http://10.1.2.3/",
            "http://172.31.255.255/",
            "http://192.168.0.1/",
            "http://100.64.0.1/",
            "http://100.100.100.200/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0xa9fea9fe/",
            "http://192.0.0.192/",
            "http://192.0.2.1/",
            "http://198.18.0.1/",
            "http://198.51.100.7/",
            "http://203.0.113.9/",
            "http://224.0.0.1/",
            "http://239.255.255.250/",
            "http://255.255.255.255/",
            "http://240.0.0.1/",
            "http://[::]/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::127.0.0.1]/",
            "http://[::8.8.8.8]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::8.8.8.8]/",
            "http://[2002:7f00:1::1]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://[2002:c0a8:101::1]/",
            "http://[2001:0:4136:e378::1]/",
            "http://[2001:db8::1]/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://images.localhost/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://Metadata.Google.Internal./",
            "http://metadata/",
            // Backslash is a path separator for http: the host is 127.0.0.1.
            "http://127.0.0.1\\@example.com/",
        ];
        let passed: Vec<_> = urls.iter().filter(|u| !refused(u)).collect();
        assert!(passed.is_empty(), "not refused: {passed:?}");
    }

    #[test]
    fn public_addresses_and_names_pass() {
        let urls = [
            "http://93.184.215.14/",
            "https://example.com/a.jpg",
            "https://EXAMPLE.com:8443/a.jpg?x=1",
            "http://[2606:4700:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
            "http://[64:ff9b::8.8.8.8]/",
            "http://[2002:808:808::1]/",
            "http://172.32.0.1/",
            "http://100.128.0.1/",
            "http://localhost.example.com/",
        ];
        for url in urls {
            assert!(check_url(url, false).is_ok(), "{url} refused");
        }
        // The host we later connect to is the one `url` parsed.
        let parsed = check_url("http://example.com\\@127.0.0.1/", false).unwrap();
        assert_eq!(parsed.host_str(), Some("example.com"));
    }

    #[test]
    fn schemes_other_than_http_are_refused_even_when_private_is_allowed() {
        let urls = [
            "ftp://example.com/a.jpg",
            "file:///etc/passwd",
            "gopher://example.com/",
            "data:text/plain,hi",
            "javascript:alert(1)",
            "ws://example.com/",
        ];
        for url in urls {
            for allow_private in [false, true] {
                assert!(matches!(check_url(url, allow_private), Err(FetchError::Refused(_))), "{url} {allow_private}");
            }
        }
    }

    #[test]
    fn credentials_are_refused() {
        let urls = [
            "http://user@example.com/",
            "http://user:pw@example.com/",
            "http://:pw@example.com/",
            "http://example.com@127.0.0.1/",
            "https://127.0.0.1@example.com/",
        ];
        for url in urls {
            for allow_private in [false, true] {
                assert!(matches!(check_url(url, allow_private), Err(FetchError::Refused(_))), "{url} {allow_private}");
            }
        }
    }

    #[test]
    fn malformed_urls_are_invalid() {
        let urls =
            ["", "not a url", "http://", "http://[::1/", "http://256.0.0.1/", "http://1.2.3.4.5/", "/relative/path"];
        for url in urls {
            assert!(matches!(check_url(url, false), Err(FetchError::InvalidUrl(_))), "{url}");
        }
    }

    #[test]
    fn allow_private_lifts_the_address_and_name_rules() {
        let urls = [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://10.0.0.1/",
            "http://localhost/",
            "http://169.254.169.254/",
        ];
        for url in urls {
            assert!(check_url(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn is_blocked_on_plain_addresses() {
        let blocked =
            ["127.0.0.1", "10.0.0.1", "169.254.169.254", "100.100.100.200", "fd00:ec2::254", "::ffff:10.0.0.1", "::"];
        for ip in blocked {
            assert!(is_blocked(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::1"] {
            assert!(!is_blocked(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn dns_answers_are_checked() {
        let public = Destinations { allow_private: false, exempt: &[] };
        // `localhost` resolves to loopback; the name rule is skipped here
        // because `resolve` only looks at the answers.
        let err = public.resolve("localhost", 80, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, FetchError::Refused(_)), "{err:?}");

        let private = Destinations { allow_private: true, exempt: &[] };
        let addrs = private.resolve("localhost", 80, Duration::from_secs(5)).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
    }
}
