//! [`Socks5`]: the client side of a SOCKS5 handshake (RFC 1928 `CONNECT`, with no
//! authentication or RFC 1929 username/password), sans-IO, from the greeting to the open tunnel.
//!
//! The handshake is three request/reply exchanges at most. Each reply's length is known from its
//! first bytes, so the machine can say exactly how many bytes are still missing, and a reader
//! that reads no more than that never takes a byte of the tunnel.

use std::fmt;
use std::net::IpAddr;

use super::{ProxyError, ProxyStage, TargetAddr};

/// RFC 1928 §3: "The VER field is set to X'05' for this version of the protocol."
const VERSION: u8 = 0x05;
/// RFC 1928 §3: "X'00' NO AUTHENTICATION REQUIRED".
const NO_AUTHENTICATION: u8 = 0x00;
/// RFC 1928 §3: "X'02' USERNAME/PASSWORD".
const USERNAME_PASSWORD: u8 = 0x02;
/// RFC 1928 §3: "X'FF' NO ACCEPTABLE METHODS".
const NO_ACCEPTABLE_METHODS: u8 = 0xFF;
/// RFC 1929 §2: "The VER field contains the current version of the subnegotiation, which is
/// X'01'."
const AUTH_VERSION: u8 = 0x01;
/// RFC 1928 §4: "CONNECT X'01'".
const CONNECT: u8 = 0x01;
/// RFC 1928 §5: "X'01' the address is a version-4 IP address, with a length of 4 octets".
const ATYP_IPV4: u8 = 0x01;
/// RFC 1928 §5: "X'03' the address field contains a fully-qualified domain name. The first
/// octet of the address field contains the number of octets of name that follow".
const ATYP_DOMAIN: u8 = 0x03;
/// RFC 1928 §5: "X'04' the address is a version-6 IP address, with a length of 16 octets".
const ATYP_IPV6: u8 = 0x04;

/// The method selection and the username/password status are both two bytes.
const SHORT_REPLY_LEN: usize = 2;
/// The CONNECT reply up to its first address byte (VER, REP, RSV, ATYP and, for a domain, its
/// length): the least that tells the whole reply's length.
const CONNECT_REPLY_HEAD: usize = 5;

/// Which reply is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The method selection: VER, METHOD.
    Method,
    /// The username/password status: VER, STATUS.
    Auth,
    /// The CONNECT reply: VER, REP, RSV, ATYP, BND.ADDR, BND.PORT.
    Connect,
    /// The tunnel is open: every further byte is the target's.
    Open,
    /// A reply failed the handshake in this stage.
    Failed(ProxyStage),
}

/// A SOCKS5 client handshake: what to write, how many bytes to read, and what the replies mean.
pub(crate) struct Socks5 {
    state: State,
    /// Requests not yet taken by `poll_transmit`, in order. A request is queued as soon as the
    /// reply before it is read, whether or not the one before was taken, so input never waits
    /// on output.
    outgoing: Vec<u8>,
    /// The bytes of the reply being read, and never more: at most a CONNECT reply with a
    /// 255-byte domain, 262 bytes.
    reply: Vec<u8>,
    /// The username/password request, kept until the proxy picks (or passes over) that method;
    /// `None` without credentials.
    auth_request: Option<Vec<u8>>,
    /// The CONNECT request, kept until the proxy is ready for it.
    connect_request: Vec<u8>,
}

impl fmt::Debug for Socks5 {
    // The password stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socks5")
            .field("state", &self.state)
            .field("outgoing", &self.outgoing.len())
            .field("reply", &self.reply)
            .field("credentials", &self.auth_request.is_some())
            .finish_non_exhaustive()
    }
}

/// The length byte of a SOCKS5 or RFC 1929 field: both cap fields at 255 bytes.
fn field_len(field: &[u8], what: &'static str) -> Result<u8, ProxyError> {
    u8::try_from(field.len()).map_err(|_| ProxyError::TooLong { what })
}

fn invalid(stage: ProxyStage, what: String) -> ProxyError {
    ProxyError::InvalidResponse { stage, what }
}

impl Socks5 {
    /// The handshake for a tunnel to `target:port`. With `credentials` (username, password),
    /// username/password authentication is offered besides none, and the proxy picks.
    pub(crate) fn new(
        target: TargetAddr,
        port: u16,
        credentials: Option<(&str, &str)>,
    ) -> Result<Socks5, ProxyError> {
        // RFC 1928 §4: "VER | CMD | RSV | ATYP | DST.ADDR | DST.PORT", with "RSV RESERVED" and
        // "DST.PORT desired destination port in network octet order".
        let mut connect_request = vec![VERSION, CONNECT, 0x00];
        match &target {
            TargetAddr::Ip(IpAddr::V4(ip)) => {
                connect_request.push(ATYP_IPV4);
                connect_request.extend_from_slice(&ip.octets());
            }
            TargetAddr::Ip(IpAddr::V6(ip)) => {
                connect_request.push(ATYP_IPV6);
                connect_request.extend_from_slice(&ip.octets());
            }
            TargetAddr::Domain(name) => {
                // §5: "there is no terminating NUL octet": the length byte is all there is.
                let len = field_len(name.as_bytes(), "host name")?;
                connect_request.extend_from_slice(&[ATYP_DOMAIN, len]);
                connect_request.extend_from_slice(name.as_bytes());
            }
        }
        connect_request.extend_from_slice(&port.to_be_bytes());

        // RFC 1929 §2: "VER | ULEN | UNAME | PLEN | PASSWD". It gives UNAME and PASSWD as 1 to
        // 255 bytes; an empty one is still sent (length 0) rather than refused here, since
        // `user:@` is a URL someone may mean, and the proxy is the one to judge it.
        let auth_request = match credentials {
            Some((user, password)) => {
                let (user, password) = (user.as_bytes(), password.as_bytes());
                let mut request = vec![AUTH_VERSION, field_len(user, "username")?];
                request.extend_from_slice(user);
                request.push(field_len(password, "password")?);
                request.extend_from_slice(password);
                Some(request)
            }
            None => None,
        };

        // §3: "VER | NMETHODS | METHODS". No authentication is always offered, so a proxy
        // that needs none is not made to check credentials it does not use. GSSAPI (X'01') is
        // not offered: nothing here can configure it, so a proxy that takes only it answers
        // X'FF'.
        let outgoing = if auth_request.is_some() {
            vec![VERSION, 2, NO_AUTHENTICATION, USERNAME_PASSWORD]
        } else {
            vec![VERSION, 1, NO_AUTHENTICATION]
        };

        Ok(Socks5 {
            state: State::Method,
            outgoing,
            reply: Vec::with_capacity(SHORT_REPLY_LEN),
            auth_request,
            connect_request,
        })
    }

    /// The bytes to write now, if any; each request is given once.
    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.outgoing.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.outgoing))
        }
    }

    /// Exactly how many bytes of the reply being read are still missing: reading no more never
    /// reads past the proxy's last reply. 0 while a request waits to be written (its reply
    /// cannot come before it), once open, and after a failure.
    pub(crate) fn read_limit(&self) -> usize {
        if self.outgoing.is_empty() {
            self.missing()
        } else {
            0
        }
    }

    /// The bytes still missing from the reply being read, whether or not its request was
    /// taken.
    fn missing(&self) -> usize {
        let len = match self.state {
            State::Method | State::Auth => SHORT_REPLY_LEN,
            State::Connect => connect_reply_len(&self.reply),
            State::Open | State::Failed(_) => return 0,
        };
        // A reply is handled as soon as it is complete, so it is never longer than `len`.
        len - self.reply.len()
    }

    /// Takes bytes read from the proxy, in any split; returns how many it used. It uses none
    /// past the end of the CONNECT reply: once the tunnel is open, the rest of `data` is the
    /// target's. After an error every call fails.
    pub(crate) fn handle_input(&mut self, data: &[u8]) -> Result<usize, ProxyError> {
        if let State::Failed(stage) = self.state {
            return Err(invalid(stage, "the handshake already failed".to_owned()));
        }
        let mut used = 0;
        while used < data.len() {
            let take = self.missing().min(data.len() - used);
            if take == 0 {
                break;
            }
            self.reply.extend_from_slice(&data[used..used + take]);
            used += take;
            if let Err(error) = self.check_reply() {
                self.fail();
                return Err(error);
            }
        }
        Ok(used)
    }

    /// The stage under way (the last one once open; the failed one after an error).
    pub(crate) fn stage(&self) -> ProxyStage {
        match self.state {
            State::Method => ProxyStage::Socks5Greeting,
            State::Auth => ProxyStage::Socks5Auth,
            State::Connect | State::Open => ProxyStage::Socks5Connect,
            State::Failed(stage) => stage,
        }
    }

    /// Whether the CONNECT reply succeeded: what follows is the target's.
    pub(crate) fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Checks the reply read so far, each byte as soon as it is there (so any split of the
    /// input fails alike, and at the same byte), and moves on when it is complete.
    fn check_reply(&mut self) -> Result<(), ProxyError> {
        match self.state {
            State::Method => self.check_method(),
            State::Auth => self.check_auth(),
            State::Connect => self.check_connect(),
            State::Open | State::Failed(_) => Ok(()),
        }
    }

    fn check_method(&mut self) -> Result<(), ProxyError> {
        let stage = ProxyStage::Socks5Greeting;
        check_version(&self.reply, VERSION, stage, "method selection")?;
        let Some(&method) = self.reply.get(1) else {
            return Ok(());
        };
        self.reply.clear();
        match method {
            NO_AUTHENTICATION => {
                // Credentials the proxy did not ask for are not kept.
                self.auth_request = None;
                self.queue_connect();
                Ok(())
            }
            USERNAME_PASSWORD => match self.auth_request.take() {
                Some(request) => {
                    self.outgoing.extend_from_slice(&request);
                    self.state = State::Auth;
                    Ok(())
                }
                // Not offered either, but the proxy has said what it wants: say that.
                None => Err(ProxyError::CredentialsRequired),
            },
            // §3: "If the selected METHOD is X'FF', none of the methods listed by the client
            // are acceptable, and the client MUST close the connection."
            NO_ACCEPTABLE_METHODS => Err(ProxyError::NoAcceptableMethod),
            // §3: "The server selects from one of the methods given in METHODS".
            other => Err(invalid(
                stage,
                format!("the proxy selected method {other:#04x}, which was not offered"),
            )),
        }
    }

    fn check_auth(&mut self) -> Result<(), ProxyError> {
        // RFC 1929 §2 makes the status reply's VER the subnegotiation's, X'01', but a good
        // deal of server software answers with the SOCKS version, X'05', and clients such as
        // curl and tinyproxy accept both. So does this: STATUS means the same either way.
        if let Some(&version) = self.reply.first() {
            if version != AUTH_VERSION && version != VERSION {
                return Err(invalid(
                    ProxyStage::Socks5Auth,
                    format!("version {version} in the authentication status, not 1"),
                ));
            }
        }
        let Some(&status) = self.reply.get(1) else {
            return Ok(());
        };
        self.reply.clear();
        // RFC 1929 §2: "A STATUS field of X'00' indicates success. If the server returns a
        // `failure' (STATUS value other than X'00') status, it MUST close the connection."
        if status != 0 {
            return Err(ProxyError::AuthFailed { status });
        }
        self.queue_connect();
        Ok(())
    }

    fn check_connect(&mut self) -> Result<(), ProxyError> {
        let stage = ProxyStage::Socks5Connect;
        check_version(&self.reply, VERSION, stage, "CONNECT reply")?;
        // §6: "When a reply (REP value other than X'00') indicates a failure, the SOCKS server
        // MUST terminate the TCP connection shortly after sending the reply." What follows REP
        // may never come, so the refusal is reported as soon as REP is read.
        if let Some(&code) = self.reply.get(1) {
            if code != 0 {
                return Err(ProxyError::Refused { code });
            }
        }
        // §6: "Fields marked RESERVED (RSV) must be set to X'00'." The byte means nothing to
        // the client, so a proxy that sets it is tolerated rather than failed: being liberal
        // here costs no safety.
        if let Some(&atyp) = self.reply.get(3) {
            if !matches!(atyp, ATYP_IPV4 | ATYP_DOMAIN | ATYP_IPV6) {
                // Without a known type the reply's length is unknown, and so is where the
                // tunnel starts.
                return Err(invalid(
                    stage,
                    format!("unknown address type {atyp} in the CONNECT reply"),
                ));
            }
        }
        if self.reply.len() == connect_reply_len(&self.reply) {
            // §6: "In the reply to a CONNECT, BND.PORT contains the port number that the server
            // assigned to connect to the target host, while BND.ADDR contains the associated IP
            // address." The client has no use for them.
            self.reply = Vec::new();
            self.state = State::Open;
        }
        Ok(())
    }

    /// §6: "The SOCKS request information is sent by the client as soon as it has established
    /// a connection to the SOCKS server, and completed the authentication negotiations."
    fn queue_connect(&mut self) {
        let request = std::mem::take(&mut self.connect_request);
        self.outgoing.extend_from_slice(&request);
        self.state = State::Connect;
    }

    /// Nothing more is written to a proxy that failed the handshake (§3: "the client MUST close
    /// the connection"), and the credentials are dropped.
    fn fail(&mut self) {
        self.state = State::Failed(self.stage());
        self.outgoing = Vec::new();
        self.reply = Vec::new();
        self.auth_request = None;
        self.connect_request = Vec::new();
    }
}

/// Checks a reply's first byte, the version, if it has arrived.
fn check_version(
    reply: &[u8],
    expected: u8,
    stage: ProxyStage,
    what: &str,
) -> Result<(), ProxyError> {
    match reply.first() {
        Some(&version) if version != expected => Err(invalid(
            stage,
            format!("version {version} in the {what}, not {expected}"),
        )),
        _ => Ok(()),
    }
}

/// The CONNECT reply's length as far as `reply`, its start, tells it: the head until the head
/// is read, then the whole (§5: the address type gives the address's length, and a domain's
/// first octet gives its own).
fn connect_reply_len(reply: &[u8]) -> usize {
    let address = match (reply.get(3), reply.get(4)) {
        (Some(&ATYP_IPV4), Some(_)) => 4,
        (Some(&ATYP_IPV6), Some(_)) => 16,
        (Some(&ATYP_DOMAIN), Some(&len)) => 1 + usize::from(len),
        // An unknown type fails the handshake before the head is complete.
        _ => return CONNECT_REPLY_HEAD,
    };
    // VER, REP, RSV, ATYP, then BND.ADDR and the two bytes of BND.PORT.
    4 + address + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const IPV4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    const IPV6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

    fn socks(credentials: Option<(&str, &str)>) -> Socks5 {
        let target = TargetAddr::Domain("example.com".to_owned());
        Socks5::new(target, 443, credentials).unwrap()
    }

    /// A CONNECT reply with the given code and bound address.
    fn connect_reply(code: u8, bound: &[u8]) -> Vec<u8> {
        let mut reply = vec![VERSION, code, 0x00];
        reply.extend_from_slice(bound);
        reply.extend_from_slice(&1080u16.to_be_bytes());
        reply
    }

    const BOUND_IPV4: &[u8] = &[ATYP_IPV4, 10, 0, 0, 1];
    const BOUND_IPV6: &[u8] = &[
        ATYP_IPV6, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ];
    const BOUND_DOMAIN: &[u8] = &[ATYP_DOMAIN, 5, b'p', b'r', b'o', b'x', b'y'];

    /// Drives `socks` as an adapter would: takes what it gives to write, then reads exactly
    /// `read_limit()` bytes of `answer`, until open. Panics if a read would go past the
    /// answer's end or the answer is not used up; returns the bytes written.
    fn drive_by_read_limit(socks: &mut Socks5, answer: &[u8]) -> Result<Vec<u8>, ProxyError> {
        let mut written = Vec::new();
        let mut used = 0;
        while !socks.is_open() {
            if let Some(bytes) = socks.poll_transmit() {
                written.extend_from_slice(&bytes);
            }
            let n = socks.read_limit();
            assert!(n > 0, "nothing to read before the tunnel is open");
            assert!(used + n <= answer.len(), "the limit reads past the answer");
            assert_eq!(socks.handle_input(&answer[used..used + n])?, n);
            used += n;
        }
        assert_eq!(used, answer.len());
        assert_eq!(socks.read_limit(), 0);
        if let Some(bytes) = socks.poll_transmit() {
            written.extend_from_slice(&bytes);
        }
        Ok(written)
    }

    #[test]
    fn greeting_offers_no_authentication_without_credentials() {
        assert_eq!(socks(None).poll_transmit(), Some(vec![5, 1, 0]));
    }

    #[test]
    fn greeting_offers_username_password_with_credentials() {
        assert_eq!(
            socks(Some(("u", "p"))).poll_transmit(),
            Some(vec![5, 2, 0, 2])
        );
    }

    #[test]
    fn connect_request_for_each_address_type() {
        let cases: [(TargetAddr, Vec<u8>); 3] = [
            (
                TargetAddr::Ip(IPV4),
                vec![5, 1, 0, 1, 192, 0, 2, 7, 0x01, 0xbb],
            ),
            (
                TargetAddr::Ip(IPV6),
                vec![
                    5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01,
                    0xbb,
                ],
            ),
            (
                TargetAddr::Domain("example.com".to_owned()),
                [&[5, 1, 0, 3, 11][..], b"example.com", &[0x01, 0xbb]].concat(),
            ),
        ];
        for (target, expected) in cases {
            let mut socks = Socks5::new(target, 443, None).unwrap();
            assert_eq!(socks.poll_transmit(), Some(vec![5, 1, 0]));
            assert_eq!(socks.poll_transmit(), None);
            assert_eq!(socks.handle_input(&[5, 0]), Ok(2));
            assert_eq!(socks.stage(), ProxyStage::Socks5Connect);
            assert_eq!(socks.poll_transmit(), Some(expected));
            assert_eq!(socks.poll_transmit(), None);
        }
    }

    #[test]
    fn username_password_exchange() {
        let mut socks = Socks5::new(TargetAddr::Ip(IPV4), 80, Some(("alice", "s@cret"))).unwrap();
        assert_eq!(socks.poll_transmit(), Some(vec![5, 2, 0, 2]));
        assert_eq!(socks.handle_input(&[5, 2]), Ok(2));
        assert_eq!(socks.stage(), ProxyStage::Socks5Auth);
        assert_eq!(
            socks.poll_transmit(),
            Some([&[1, 5][..], b"alice", &[6], b"s@cret"].concat())
        );
        assert_eq!(socks.read_limit(), 2);
        assert_eq!(socks.handle_input(&[1, 0]), Ok(2));
        assert_eq!(
            socks.poll_transmit(),
            Some(vec![5, 1, 0, 1, 192, 0, 2, 7, 0, 80])
        );
        let reply = connect_reply(0, BOUND_IPV4);
        assert_eq!(socks.handle_input(&reply), Ok(reply.len()));
        assert!(socks.is_open());
        assert_eq!(socks.stage(), ProxyStage::Socks5Connect);
    }

    #[test]
    fn credentials_go_unused_when_the_proxy_needs_none() {
        let mut socks = socks(Some(("alice", "secret")));
        socks.poll_transmit();
        assert_eq!(socks.handle_input(&[5, 0]), Ok(2));
        assert_eq!(socks.stage(), ProxyStage::Socks5Connect);
        assert_eq!(
            socks.poll_transmit().map(|r| r[..4].to_vec()),
            Some(vec![5, 1, 0, 3])
        );
    }

    #[test]
    fn empty_credentials_are_sent_as_empty_fields() {
        let mut socks = socks(Some(("", "")));
        socks.poll_transmit();
        socks.handle_input(&[5, 2]).unwrap();
        assert_eq!(socks.poll_transmit(), Some(vec![1, 0, 0]));
    }

    #[test]
    fn auth_status_with_socks_version_is_accepted() {
        let mut socks = socks(Some(("u", "p")));
        assert_eq!(socks.handle_input(&[5, 2, 5, 0]), Ok(4));
        assert_eq!(socks.stage(), ProxyStage::Socks5Connect);
    }

    #[test]
    fn every_reply_code_is_a_refusal() {
        for code in 1..=u8::MAX {
            let mut socks = socks(None);
            socks.handle_input(&[5, 0]).unwrap();
            let reply = connect_reply(code, BOUND_IPV4);
            assert_eq!(
                socks.handle_input(&reply),
                Err(ProxyError::Refused { code })
            );
            assert_eq!(socks.stage(), ProxyStage::Socks5Connect);
        }
    }

    #[test]
    fn refusal_is_reported_before_the_rest_of_the_reply() {
        let mut socks = socks(None);
        socks.handle_input(&[5, 0]).unwrap();
        socks.handle_input(&[5]).unwrap();
        assert_eq!(
            socks.handle_input(&[5]),
            Err(ProxyError::Refused { code: 5 })
        );
    }

    #[test]
    fn method_errors() {
        let cases = [
            (None, 0xFF, ProxyError::NoAcceptableMethod),
            (Some(("u", "p")), 0xFF, ProxyError::NoAcceptableMethod),
            (None, 0x02, ProxyError::CredentialsRequired),
            (
                Some(("u", "p")),
                0x01,
                invalid(
                    ProxyStage::Socks5Greeting,
                    "the proxy selected method 0x01, which was not offered".to_owned(),
                ),
            ),
        ];
        for (credentials, method, expected) in cases {
            let mut socks = socks(credentials);
            assert_eq!(socks.handle_input(&[5, method]), Err(expected));
            assert_eq!(socks.stage(), ProxyStage::Socks5Greeting);
            assert_eq!(socks.poll_transmit(), None);
        }
    }

    #[test]
    fn auth_failure() {
        let mut socks = socks(Some(("u", "p")));
        socks.handle_input(&[5, 2]).unwrap();
        assert_eq!(
            socks.handle_input(&[1, 1]),
            Err(ProxyError::AuthFailed { status: 1 })
        );
        assert_eq!(socks.stage(), ProxyStage::Socks5Auth);
    }

    #[test]
    fn wrong_versions_are_invalid() {
        let invalid_at = |answer: &[u8], stage| {
            let mut socks = socks(Some(("u", "p")));
            match socks.handle_input(answer) {
                Err(ProxyError::InvalidResponse { stage: s, .. }) => assert_eq!(s, stage),
                other => panic!("{answer:?}: {other:?}"),
            }
        };
        // A SOCKS4 server's reply starts with 0: the first byte alone tells.
        invalid_at(&[0], ProxyStage::Socks5Greeting);
        invalid_at(&[4, 0], ProxyStage::Socks5Greeting);
        invalid_at(&[5, 2, 2, 0], ProxyStage::Socks5Auth);
        invalid_at(&[5, 0, 4, 0, 0, 1], ProxyStage::Socks5Connect);
        // An HTTP proxy's answer.
        invalid_at(b"HTTP/1.1 400 Bad Request\r\n", ProxyStage::Socks5Greeting);
    }

    #[test]
    fn unknown_address_type_is_invalid() {
        for atyp in [0, 2, 5, 0xFF] {
            let mut socks = socks(None);
            assert_eq!(
                socks.handle_input(&[5, 0, 5, 0, 0, atyp]),
                Err(invalid(
                    ProxyStage::Socks5Connect,
                    format!("unknown address type {atyp} in the CONNECT reply")
                ))
            );
        }
    }

    #[test]
    fn reserved_byte_is_tolerated() {
        let mut socks = socks(None);
        socks.handle_input(&[5, 0]).unwrap();
        let mut reply = connect_reply(0, BOUND_IPV4);
        reply[2] = 0xAA;
        assert_eq!(socks.handle_input(&reply), Ok(reply.len()));
        assert!(socks.is_open());
    }

    #[test]
    fn failed_handshake_stays_failed() {
        let mut socks = socks(None);
        assert!(socks.handle_input(&[5, 0xFF]).is_err());
        assert_eq!(socks.read_limit(), 0);
        assert!(!socks.is_open());
        let again = invalid(
            ProxyStage::Socks5Greeting,
            "the handshake already failed".to_owned(),
        );
        assert_eq!(socks.handle_input(&[5, 0]), Err(again.clone()));
        assert_eq!(socks.handle_input(&[]), Err(again));
    }

    #[test]
    fn over_long_fields_are_too_long() {
        let long = "a".repeat(256);
        let max = "a".repeat(255);
        let domain = |name: &str| TargetAddr::Domain(name.to_owned());
        assert_eq!(
            Socks5::new(domain(&long), 443, None).map(drop),
            Err(ProxyError::TooLong { what: "host name" })
        );
        assert_eq!(
            Socks5::new(domain("h"), 443, Some((&long, "p"))).map(drop),
            Err(ProxyError::TooLong { what: "username" })
        );
        assert_eq!(
            Socks5::new(domain("h"), 443, Some(("u", &long))).map(drop),
            Err(ProxyError::TooLong { what: "password" })
        );
        assert!(Socks5::new(domain(&max), 443, Some((&max, &max))).is_ok());
    }

    #[test]
    fn read_limit_never_reads_past_the_answer() {
        let expected_connect = [
            &[5, 1, 0, ATYP_DOMAIN, 11][..],
            b"example.com",
            &[0x01, 0xbb],
        ]
        .concat();
        for bound in [BOUND_IPV4, BOUND_IPV6, BOUND_DOMAIN, &[ATYP_DOMAIN, 0]] {
            let reply = connect_reply(0, bound);

            let mut plain = socks(None);
            let answer = [&[5, 0][..], &reply].concat();
            let written = drive_by_read_limit(&mut plain, &answer).unwrap();
            assert_eq!(written, [&[5, 1, 0][..], &expected_connect].concat());

            let mut authed = socks(Some(("u", "p")));
            let answer = [&[5, 2, 1, 0][..], &reply].concat();
            let written = drive_by_read_limit(&mut authed, &answer).unwrap();
            let auth = [1, 1, b'u', 1, b'p'];
            assert_eq!(
                written,
                [&[5, 2, 0, 2][..], &auth, &expected_connect].concat()
            );
        }
    }

    #[test]
    fn read_limit_is_exact_for_each_part_of_the_reply() {
        let mut socks = socks(None);
        assert_eq!(socks.read_limit(), 0, "the greeting must be written first");
        socks.poll_transmit();
        assert_eq!(socks.read_limit(), 2);
        socks.handle_input(&[5]).unwrap();
        assert_eq!(socks.read_limit(), 1);
        socks.handle_input(&[0]).unwrap();
        assert_eq!(
            socks.read_limit(),
            0,
            "the CONNECT request must be written first"
        );
        socks.poll_transmit();
        assert_eq!(socks.read_limit(), 5);
        socks.handle_input(&[5, 0, 0, ATYP_DOMAIN]).unwrap();
        assert_eq!(socks.read_limit(), 1);
        socks.handle_input(&[5]).unwrap();
        assert_eq!(socks.read_limit(), 5 + 2);
        socks.handle_input(b"proxy").unwrap();
        assert_eq!(socks.read_limit(), 2);
        socks.handle_input(&[0]).unwrap();
        assert_eq!(socks.read_limit(), 1);
        assert!(!socks.is_open());
        socks.handle_input(&[0]).unwrap();
        assert!(socks.is_open());
        assert_eq!(socks.read_limit(), 0);
    }

    #[test]
    fn tunnel_bytes_after_the_reply_are_not_consumed() {
        for credentials in [None, Some(("u", "p"))] {
            for bound in [BOUND_IPV4, BOUND_IPV6, BOUND_DOMAIN] {
                let mut socks = socks(credentials);
                let method: &[u8] = if credentials.is_some() {
                    &[5, 2, 1, 0]
                } else {
                    &[5, 0]
                };
                let answer = [method, &connect_reply(0, bound)].concat();
                let input = [&answer[..], b"\x16\x03\x01 the tunnel"].concat();
                // Everything at once, before any request is taken.
                assert_eq!(socks.handle_input(&input), Ok(answer.len()));
                assert!(socks.is_open());
                assert_eq!(socks.handle_input(b"more"), Ok(0));
            }
        }
    }

    /// What a machine does with `input` split at `cuts`: the bytes it wrote, how many it used
    /// and whether it opened; or its error (what it wrote before failing depends on when it
    /// was asked, so it is not part of the outcome).
    fn outcome(
        credentials: Option<(&str, &str)>,
        input: &[u8],
        cuts: &[usize],
    ) -> Result<(Vec<u8>, usize, bool), ProxyError> {
        let mut socks = socks(credentials);
        let mut written = Vec::new();
        let mut used = 0;
        let mut start = 0;
        let ends = cuts
            .iter()
            .map(|&cut| cut.min(input.len()))
            .chain([input.len()]);
        for end in ends {
            let end = end.max(start);
            if let Some(bytes) = socks.poll_transmit() {
                written.extend_from_slice(&bytes);
            }
            used += socks.handle_input(&input[start..end])?;
            assert!(socks.reply.len() <= 4 + 1 + 255 + 2);
            start = end;
        }
        if let Some(bytes) = socks.poll_transmit() {
            written.extend_from_slice(&bytes);
        }
        Ok((written, used, socks.is_open()))
    }

    fn bound_address() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|ip| [&[ATYP_IPV4][..], &ip].concat()),
            any::<[u8; 16]>().prop_map(|ip| [&[ATYP_IPV6][..], &ip].concat()),
            proptest::collection::vec(any::<u8>(), 0..=255).prop_map(|name| [
                &[ATYP_DOMAIN, name.len() as u8][..],
                &name
            ]
            .concat()),
        ]
    }

    /// Credentials, and the proxy's answers up to the CONNECT reply's REP byte.
    fn negotiation() -> impl Strategy<Value = (bool, Vec<u8>)> {
        prop_oneof![
            Just((false, vec![5, 0])),
            Just((true, vec![5, 0])),
            prop_oneof![Just(1u8), Just(5u8)].prop_map(|version| (true, vec![5, 2, version, 0])),
        ]
    }

    fn credentials(with: bool) -> Option<(&'static str, &'static str)> {
        with.then_some(("alice", "secret"))
    }

    proptest! {
        #[test]
        fn any_split_of_a_successful_answer_opens_alike(
            (with, answer) in negotiation(),
            rsv: u8,
            bound in bound_address(),
            port: u16,
            tunnel in proptest::collection::vec(any::<u8>(), 0..16),
            cuts in proptest::collection::vec(0usize..320, 0..8),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let reply = [&[5, 0, rsv][..], &bound, &port.to_be_bytes()].concat();
            let answer = [&answer[..], &reply].concat();
            let input = [&answer[..], &tunnel].concat();
            let whole = outcome(credentials(with), &input, &[]);
            let used_and_open = whole.as_ref().map(|(_, used, open)| (*used, *open));
            prop_assert_eq!(used_and_open, Ok((answer.len(), true)));
            prop_assert_eq!(outcome(credentials(with), &input, &cuts), whole.clone());
            let driven = drive_by_read_limit(&mut socks(credentials(with)), &answer);
            prop_assert_eq!(driven, whole.map(|(written, _, _)| written));
        }

        #[test]
        fn any_split_of_a_refusal_fails_alike(
            (with, answer) in negotiation(),
            code in 1u8..=255,
            rest in proptest::collection::vec(any::<u8>(), 0..32),
            cuts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let input = [&answer[..], &[5, code], &rest].concat();
            let whole = outcome(credentials(with), &input, &[]);
            prop_assert_eq!(&whole, &Err(ProxyError::Refused { code }));
            prop_assert_eq!(outcome(credentials(with), &input, &cuts), whole);
        }

        #[test]
        fn any_input_in_any_split_ends_alike(
            with: bool,
            // Up to a CONNECT reply's address, so that the rest reaches every kind of address.
            head in prop_oneof![
                Just(vec![]),
                (1u8..=4).prop_map(|atyp| vec![5, 0, 5, 0, 0, atyp]),
            ],
            rest in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(0usize..310, 0..8),
        ) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let input = [head, rest].concat();
            let whole = outcome(credentials(with), &input, &[]);
            prop_assert_eq!(outcome(credentials(with), &input, &cuts), whole);
        }
    }
}
