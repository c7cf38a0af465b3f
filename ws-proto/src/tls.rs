//! [`TlsOptions`]: which roots `wss://` connections trust, shared by the adapters (the TLS
//! session itself is theirs: rustls is sans-IO too, but each runtime drives it its own way).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How `wss://` connections verify the server: the webpki (Mozilla) roots plus any added ones,
/// or a whole rustls configuration given instead.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Trusted in addition to the webpki roots (a private CA, a test certificate).
    extra_roots: Vec<CertificateDer<'static>>,
    /// Presented when the server asks for one (mutual TLS).
    client_auth: Option<ClientAuth>,
    /// The server's certificate is not checked at all.
    accept_invalid_certs: bool,
    /// The operating system's roots in place of the webpki roots.
    #[cfg(feature = "native-roots")]
    native_roots: bool,
    /// In place of the process default or the feature's.
    provider: Option<Arc<CryptoProvider>>,
    /// Replaces everything above.
    config: Option<Arc<ClientConfig>>,
}

/// A client certificate chain and its key.
struct ClientAuth {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for ClientAuth {
    fn clone(&self) -> Self {
        ClientAuth {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("ClientAuth")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl TlsOptions {
    /// Trusts `root` in addition to the webpki roots.
    pub fn add_root(&mut self, root: CertificateDer<'static>) {
        self.extra_roots.push(root);
    }

    /// Presents `chain` (the client's certificate first) and proves `key` when a server asks
    /// for a client certificate (mutual TLS).
    pub fn set_client_certificate(
        &mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) {
        self.client_auth = Some(ClientAuth { chain, key });
    }

    /// Trusts the operating system's certificate store (on Linux the distribution's bundle,
    /// where a corporate CA is installed; `SSL_CERT_FILE` and `SSL_CERT_DIR` override it, as
    /// with OpenSSL) in place of the webpki roots. Roots added with [`add_root`](Self::add_root)
    /// are trusted too. The store is read when a connection's configuration is built.
    #[cfg(feature = "native-roots")]
    pub fn set_native_roots(&mut self, native: bool) {
        self.native_roots = native;
    }

    /// Accepts any server certificate, expired, self-signed or for another name: for a test
    /// server on a laptop, never in production, where it lets anyone on the path read and change
    /// the connection. The handshake's signatures are still checked (against whatever
    /// certificate the server sent).
    pub fn set_danger_accept_invalid_certs(&mut self, accept: bool) {
        self.accept_invalid_certs = accept;
    }

    /// Uses `provider` (ring, aws-lc-rs, or another rustls crypto provider) for connections
    /// whose configuration is built here. Without it: rustls's process default if the program
    /// installed one (`CryptoProvider::install_default`), else aws-lc-rs with the `aws-lc-rs`
    /// feature, else ring with the `ring` feature.
    pub fn set_crypto_provider(&mut self, provider: Arc<CryptoProvider>) {
        self.provider = Some(provider);
    }

    /// The provider connections use: see [`set_crypto_provider`](Self::set_crypto_provider).
    /// Named rather than left to `ClientConfig::builder()`, which panics when two providers are
    /// compiled in and none is installed.
    pub fn crypto_provider(&self) -> Result<Arc<CryptoProvider>, rustls::Error> {
        if let Some(provider) = self.provider.as_ref().or(CryptoProvider::get_default()) {
            return Ok(provider.clone());
        }
        feature_provider().map(Arc::new).ok_or_else(|| {
            rustls::Error::General(
                "no rustls crypto provider: enable the `ring` or `aws-lc-rs` feature, pass one \
                 to the builder, or install a process default"
                    .to_owned(),
            )
        })
    }

    /// Uses `config` instead of building one (client certificates, custom verification, ALPN).
    pub fn set_config(&mut self, config: Arc<ClientConfig>) {
        self.config = Some(config);
    }

    /// The rustls configuration for a connection: the one given, or the webpki roots plus the
    /// added ones (certificate verification on unless turned off), the client certificate if
    /// one was set, with the [provider](Self::crypto_provider) chosen.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, rustls::Error> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let mut roots = RootCertStore::empty();
        #[cfg(feature = "native-roots")]
        let native = self.native_roots;
        #[cfg(not(feature = "native-roots"))]
        let native = false;
        if native {
            #[cfg(feature = "native-roots")]
            native_roots(&mut roots)?;
        } else {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in &self.extra_roots {
            roots.add(cert.clone())?;
        }
        let provider = self.crypto_provider()?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = if self.accept_invalid_certs {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        let config = match &self.client_auth {
            Some(auth) => {
                builder.with_client_auth_cert(auth.chain.clone(), auth.key.clone_key())?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// The provider the crate features select: aws-lc-rs over ring, since turning it on is the
/// explicit choice (ring comes with the adapters' default features).
#[cfg(feature = "aws-lc-rs")]
fn feature_provider() -> Option<CryptoProvider> {
    Some(rustls::crypto::aws_lc_rs::default_provider())
}

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
fn feature_provider() -> Option<CryptoProvider> {
    Some(rustls::crypto::ring::default_provider())
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
fn feature_provider() -> Option<CryptoProvider> {
    None
}

/// Adds the operating system's roots; an error only if none could be used.
#[cfg(feature = "native-roots")]
fn native_roots(roots: &mut RootCertStore) -> Result<(), rustls::Error> {
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(rustls::Error::General(format!(
            "no usable root certificate in the operating system's store{}{why}",
            if why.is_empty() { "" } else { ": " }
        )));
    }
    Ok(())
}

/// [`TlsOptions::set_danger_accept_invalid_certs`]: every certificate passes; the handshake's
/// signatures are checked with the provider's algorithms, so the peer still proves it holds
/// the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Defines `root_certificate` and `tls_config` on `$ty`, which has a method
/// `fn tls_mut(&mut self) -> &mut ws_proto::TlsOptions`: the adapters' builders take them from
/// here.
#[doc(hidden)]
#[macro_export]
macro_rules! client_tls_setters {
    ($ty:ty) => {
        impl $ty {
            /// Trusts `root` for `wss://`, in addition to the webpki roots.
            pub fn root_certificate(
                mut self,
                root: $crate::rustls::pki_types::CertificateDer<'static>,
            ) -> Self {
                self.tls_mut().add_root(root);
                self
            }

            /// Presents this client certificate chain (the client's first) and proves its key
            /// when a `wss://` server asks for one (mutual TLS).
            pub fn client_certificate(
                mut self,
                chain: Vec<$crate::rustls::pki_types::CertificateDer<'static>>,
                key: $crate::rustls::pki_types::PrivateKeyDer<'static>,
            ) -> Self {
                self.tls_mut().set_client_certificate(chain, key);
                self
            }

            /// Trusts the operating system's certificate store (where a corporate CA is
            /// installed; `SSL_CERT_FILE` / `SSL_CERT_DIR` override it) in place of the webpki
            /// roots, which stay the default: they are the same on every machine and need no
            /// system file, so a program behaves alike in a scratch container and on a laptop.
            #[cfg(feature = "native-roots")]
            pub fn native_roots(mut self, native: bool) -> Self {
                self.tls_mut().set_native_roots(native);
                self
            }

            /// **Dangerous**: accepts any server certificate (expired, self-signed, for another
            /// name), as reqwest's option of this name: for a test server, never in
            /// production, where anyone on the path could read and change the connection. Off
            /// by default.
            pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
                self.tls_mut().set_danger_accept_invalid_certs(accept);
                self
            }

            /// Uses this rustls crypto provider for `wss://` (for example
            /// `rustls::crypto::aws_lc_rs::default_provider()`) in place of rustls's process
            /// default or, without one, the `aws-lc-rs` or `ring` feature's provider.
            pub fn crypto_provider(
                mut self,
                provider: ::std::sync::Arc<$crate::rustls::crypto::CryptoProvider>,
            ) -> Self {
                self.tls_mut().set_crypto_provider(provider);
                self
            }

            /// Uses this rustls configuration for `wss://` instead of the default one (client
            /// certificates, custom verification, ALPN); roots given with `root_certificate`
            /// are then not used.
            pub fn tls_config(
                mut self,
                config: ::std::sync::Arc<$crate::rustls::ClientConfig>,
            ) -> Self {
                self.tls_mut().set_config(config);
                self
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::NamedGroup;

    /// Which provider the features chose shows in its key exchange groups: only aws-lc-rs has
    /// the post-quantum one (and puts it first).
    #[test]
    fn the_features_choose_the_provider_aws_lc_rs_over_ring() {
        let chosen = TlsOptions::default().crypto_provider();
        if !cfg!(any(feature = "ring", feature = "aws-lc-rs")) {
            let err = chosen.unwrap_err().to_string();
            assert!(err.contains("no rustls crypto provider"), "{err}");
            return;
        }
        let first = chosen.unwrap().kx_groups[0].name();
        let expected = if cfg!(feature = "aws-lc-rs") {
            NamedGroup::X25519MLKEM768
        } else {
            NamedGroup::X25519
        };
        assert_eq!(first, expected);
        // A provider given to the options wins over the features'.
        let mut options = TlsOptions::default();
        let given = Arc::new(CryptoProvider {
            kx_groups: vec![],
            ..(*TlsOptions::default().crypto_provider().unwrap()).clone()
        });
        options.set_crypto_provider(given.clone());
        assert!(Arc::ptr_eq(&options.crypto_provider().unwrap(), &given));
    }
}
