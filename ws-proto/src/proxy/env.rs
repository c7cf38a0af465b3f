//! The proxy the environment names for a URL, read as curl reads it: `https_proxy` for
//! `wss://`, `http_proxy` for `ws://`, `all_proxy` otherwise (lower-case names first, then
//! upper-case), and `no_proxy` for the hosts that go direct.

use std::net::IpAddr;

use super::url::Proxy;
use crate::request::RequestError;

/// The proxy the environment gives a connection to `host:port` (`secure` for `wss://`), or
/// `None` to connect directly; `lookup` reads a variable (`|name| std::env::var(name).ok()`).
/// An empty variable counts as unset.
///
/// `no_proxy` is a comma-separated list: `*` matches every host; a name matches itself and
/// its subdomains (a leading `.` or `*.` is ignored); an IP address matches itself, a CIDR
/// block (`10.0.0.0/8`, `fd00::/8`) every address in it; an entry with `:port` (`[::1]:8080`
/// for IPv6) matches only that port.
///
/// ```
/// let vars = |name: &str| match name {
///     "https_proxy" => Some("socks5h://127.0.0.1:1080".to_owned()),
///     "no_proxy" => Some("localhost, .internal.example, 10.0.0.0/8".to_owned()),
///     _ => None,
/// };
/// let proxy = ws_proto::proxy_from_vars(vars, true, "example.com", 443)?;
/// assert_eq!(proxy.unwrap().port(), 1080);
/// assert_eq!(ws_proto::proxy_from_vars(vars, true, "api.internal.example", 443)?, None);
/// assert_eq!(ws_proto::proxy_from_vars(vars, true, "10.1.2.3", 443)?, None);
/// assert_eq!(ws_proto::proxy_from_vars(vars, false, "example.com", 80)?, None, "no http_proxy");
/// # Ok::<(), ws_proto::RequestError>(())
/// ```
pub fn proxy_from_vars(
    lookup: impl Fn(&str) -> Option<String>,
    secure: bool,
    host: &str,
    port: u16,
) -> Result<Option<Proxy>, RequestError> {
    let var = |names: [&str; 2]| {
        names
            .into_iter()
            .find_map(|name| lookup(name).filter(|v| !v.trim().is_empty()))
    };
    if let Some(no_proxy) = var(["no_proxy", "NO_PROXY"]) {
        if bypasses(&no_proxy, host, port) {
            return Ok(None);
        }
    }
    let scheme = if secure {
        ["https_proxy", "HTTPS_PROXY"]
    } else {
        ["http_proxy", "HTTP_PROXY"]
    };
    var(scheme)
        .or_else(|| var(["all_proxy", "ALL_PROXY"]))
        .map(|url| Proxy::new(url.trim()))
        .transpose()
}

/// Whether a `no_proxy` list sends `host:port` direct.
fn bypasses(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split([',', ' ', '\t'])
        .filter(|entry| !entry.is_empty())
        .any(|entry| entry == "*" || matches(&entry.to_ascii_lowercase(), &host, ip, port))
}

/// Whether one `no_proxy` entry matches.
fn matches(entry: &str, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
    let (pattern, entry_port) = split_port(entry);
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    if let Some((net, bits)) = pattern.split_once('/') {
        return match (ip, net.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Some(ip), Ok(net), Ok(bits)) => in_block(ip, net, bits),
            _ => false,
        };
    }
    if let (Some(ip), Ok(entry_ip)) = (ip, pattern.parse::<IpAddr>()) {
        return ip == entry_ip;
    }
    let domain = pattern
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.');
    !domain.is_empty()
        && (host == domain
            || host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.ends_with('.')))
}

/// `entry` without its `:port`, and the port. A bare IPv6 address has colons but no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(v6) = entry.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((addr, rest)) => (addr, rest.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// Whether `ip` is in the block `net/bits` (both of the same family).
fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            (u128::from(u32::from(ip)), u128::from(u32::from(net)), 32u32)
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => (u128::from(ip), u128::from(net), 128),
        _ => return false,
    };
    let bits = u32::from(bits);
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift >= 128 || (ip >> shift) == (net >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn proxied(
        pairs: &'static [(&'static str, &'static str)],
        secure: bool,
        host: &str,
        port: u16,
    ) -> Option<String> {
        proxy_from_vars(env(pairs), secure, host, port)
            .unwrap()
            .map(|p| p.to_string())
    }

    #[test]
    fn the_scheme_variable_then_all_proxy_lower_case_first() {
        let vars = &[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
            ("HTTPS_PROXY", "socks5://secure:3"),
            ("ALL_PROXY", "socks5h://all:4"),
        ];
        assert_eq!(
            proxied(vars, false, "a.example", 80).as_deref(),
            Some("http://lower:1")
        );
        assert_eq!(
            proxied(vars, true, "a.example", 443).as_deref(),
            Some("socks5://secure:3")
        );
        let only_all = &[("all_proxy", "all:4"), ("https_proxy", "  ")];
        assert_eq!(
            proxied(only_all, true, "a.example", 443).as_deref(),
            Some("http://all:4")
        );
        assert_eq!(proxied(&[], true, "a.example", 443), None);
        assert_eq!(
            proxy_from_vars(env(&[("http_proxy", "ftp://x")]), false, "a", 80),
            Err(RequestError::UnsupportedProxyScheme("ftp".into()))
        );
    }

    #[test]
    fn no_proxy_names_suffixes_ports_addresses_and_blocks() {
        let list = "localhost, .internal.example,*.corp.example, exact.example:8080 ,10.0.0.0/8,[::1]:9000,fd00::/8,192.168.1.7";
        let cases: &[(&str, u16, bool)] = &[
            ("localhost", 80, true),
            ("LOCALHOST.", 80, true),
            ("notlocalhost", 80, false),
            ("internal.example", 443, true),
            ("a.b.internal.example", 443, true),
            ("xinternal.example", 443, false),
            ("corp.example", 443, true),
            ("x.corp.example", 443, true),
            ("exact.example", 8080, true),
            ("exact.example", 443, false),
            ("10.200.0.1", 80, true),
            ("11.0.0.1", 80, false),
            ("::1", 9000, true),
            ("[::1]", 9001, false),
            ("fd12::5", 80, true),
            ("fe80::1", 80, false),
            ("192.168.1.7", 80, true),
            ("192.168.1.8", 80, false),
        ];
        for &(host, port, direct) in cases {
            assert_eq!(bypasses(list, host, port), direct, "{host}:{port}");
        }
        assert!(bypasses("*", "anything.example", 1));
        assert!(!bypasses(" , ", "anything.example", 1));
        assert!(bypasses("0.0.0.0/0", "8.8.8.8", 1));
        assert!(!bypasses("10.0.0.0/33", "10.0.0.1", 1));
        let vars = &[("https_proxy", "http://p:1"), ("NO_PROXY", "example.com")];
        assert_eq!(proxied(vars, true, "ws.example.com", 443), None);
    }
}
