//! [`TlsOptions`]: which roots `wss://` connections trust, shared by the adapters (the TLS
//! session itself is theirs: rustls is sans-IO too, but each runtime drives it its own way).

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// How `wss://` connections verify the server: the webpki (Mozilla) roots plus any added ones,
/// or a whole rustls configuration given instead.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Trusted in addition to the webpki roots (a private CA, a test certificate).
    extra_roots: Vec<CertificateDer<'static>>,
    /// Replaces everything above.
    config: Option<Arc<ClientConfig>>,
}

impl TlsOptions {
    /// Trusts `root` in addition to the webpki roots.
    pub fn add_root(&mut self, root: CertificateDer<'static>) {
        self.extra_roots.push(root);
    }

    /// Uses `config` instead of building one (client certificates, custom verification, ALPN).
    pub fn set_config(&mut self, config: Arc<ClientConfig>) {
        self.config = Some(config);
    }

    /// The rustls configuration for a connection: the one given, or the webpki roots plus the
    /// added ones, certificate verification on, with the ring provider named explicitly, so a
    /// second provider elsewhere in the dependency graph cannot make the process-wide default
    /// ambiguous.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, rustls::Error> {
        if let Some(config) = &self.config {
            return Ok(config.clone());
        }
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.extra_roots {
            roots.add(cert.clone())?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
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
