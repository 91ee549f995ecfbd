//! How Latchkey reaches the directory: LDAPS, StartTLS or (on this machine only, unless the
//! operator says otherwise) plain LDAP, and the TLS client configuration that verifies the
//! directory's certificate. Shared by configuration validation and the LDAP adapter.

use std::sync::Arc;

/// How a directory URL is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with StartTLS before anything else is sent.
    StartTls,
    /// `ldap://` in clear.
    Plain,
}

impl Transport {
    /// How `directory.url` is reached, given `directory.starttls`.
    pub fn of(url: &str, starttls: bool) -> Self {
        if url.trim_start().to_ascii_lowercase().starts_with("ldaps:") {
            Transport::Ldaps
        } else if starttls {
            Transport::StartTls
        } else {
            Transport::Plain
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Transport::Ldaps => "LDAPS",
            Transport::StartTls => "StartTLS",
            Transport::Plain => "no TLS",
        }
    }
}

/// Whether an LDAP URL's host is this machine (loopback), where a plain connection never
/// crosses a network.
pub fn is_loopback_url(raw: &str) -> bool {
    match url::Url::parse(raw).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // `ldap:` is not a special scheme to the url crate, so an address arrives as a name.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
                || name
                    .strip_prefix('[')
                    .and_then(|n| n.strip_suffix(']'))
                    .and_then(|n| n.parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// The TLS client configuration for the directory: the CA certificates in `ca_certificates` (a PEM file), or
/// the system's roots when it is empty. Certificates are always verified, against the host
/// named in `directory.url`. The error says what to fix, naming the setting.
pub fn tls_client_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if ca_file.is_empty() {
        for cert in rustls_native_certs::load_native_certs().certs {
            // One unusable system certificate must not stop the others.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err("no system CA certificates were found to verify the directory's certificate: set directory.ca_certificates to the CA certificate (PEM) that signed it".into());
        }
    } else {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(ca_file).and_then(|certs| certs.collect()).map_err(
                |e| format!("directory.ca_certificates = {ca_file:?} cannot be read as PEM: {e}"),
            )?;
        if certs.is_empty() {
            return Err(format!(
                "directory.ca_certificates = {ca_file:?} holds no certificate: give the CA certificate in PEM (-----BEGIN CERTIFICATE-----)"
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                format!(
                    "directory.ca_certificates = {ca_file:?} holds a certificate that cannot be a CA: {e}"
                )
            })?;
        }
    }
    // The ring provider explicitly: no process-wide default is needed or changed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
