//! TLS for `daxs://` clusters (`ClusterEndpointEncryptionType=TLS`): a certificate
//! authority of daxd's own, kept in the data dir, and the node certificate it signs.
//!
//! [`NodeTls::load_or_create`] works in one directory (the binary passes
//! `<data-dir>/tls`):
//!
//! | file | what | mode |
//! | --- | --- | --- |
//! | `ca.pem` | the CA certificate clients trust | 0644 |
//! | `ca-key.pem` | the CA's private key (PKCS#8, ECDSA P-256) | 0600 |
//! | `node.pem` | the node certificate, signed by the CA | 0644 |
//! | `node-key.pem` | its private key | 0600 |
//!
//! The CA is made once and reused for as long as its files are there. The node certificate
//! is reused across restarts while it chains to the CA, is valid for every name it must
//! cover (the advertise host, `localhost`, `127.0.0.1`, `::1`) and has at least
//! [`RENEW_BEFORE`] left; otherwise a new one is issued. Every node of every TLS cluster
//! presents it: they all listen on the advertise host, and the DAX clients check the
//! discovery endpoint's host name on every node connection.
//!
//! Listeners speak TLS 1.3 and 1.2 only, with rustls' default (ring) cipher suites, no
//! client certificates.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{RootCertStore, ServerConfig};
use time::OffsetDateTime;

/// The CA certificate's file name.
pub const CA_FILE: &str = "ca.pem";
/// The CA key's file name (mode 0600).
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// The node certificate's file name.
pub const NODE_CERT_FILE: &str = "node.pem";
/// The node key's file name (mode 0600).
pub const NODE_KEY_FILE: &str = "node-key.pem";

/// How long the CA is valid: ten years.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a node certificate is valid: 397 days, the most that Apple's and the browsers'
/// TLS clients accept for a server certificate.
pub const NODE_VALIDITY: Duration = Duration::from_secs(397 * 24 * 3600);
/// A node certificate with less than this left is renewed at start.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// `not_before` is backdated by this much, for clients whose clocks lag.
const BACKDATE: Duration = Duration::from_secs(3600);

/// The TLS material of daxd's `daxs://` nodes: the server configuration every TLS
/// listener uses, and the CA that clients trust.
#[derive(Clone)]
pub struct NodeTls {
    config: Arc<ServerConfig>,
    ca_pem: String,
    ca_path: PathBuf,
    node_cert: CertificateDer<'static>,
    names: Vec<String>,
    /// The CA's private key (PEM), when this process holds it (the control), to sign the
    /// certificates of node hosts ([`NodeTls::sign_host`]). Never printed.
    ca_key_pem: Option<Arc<str>>,
}

impl fmt::Debug for NodeTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeTls").field("ca_path", &self.ca_path).field("names", &self.names).finish_non_exhaustive()
    }
}

/// A verifier of server certificates that chain to the CA `ca_der` (named `what` in errors).
fn ca_verifier(ca_der: CertificateDer<'static>, what: impl fmt::Display) -> io::Result<Arc<WebPkiServerVerifier>> {
    let mut roots = RootCertStore::empty();
    roots.add(ca_der).map_err(|e| other(what, e))?;
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| other("CA verifier", e))
}

/// What a node serves DAX clients with: TLS 1.3 or 1.2, no client certificate, `cert` and
/// its `key` (named `what` in errors).
fn serving_config(cert: &CertificateDer<'static>, key: PrivateKeyDer<'static>, what: &str) -> io::Result<ServerConfig> {
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| other("TLS versions", e))?
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .map_err(|e| other(what, e))
}

fn other(context: impl fmt::Display, e: impl fmt::Display) -> io::Error {
    io::Error::other(format!("{context}: {e}"))
}

/// The crypto provider of every TLS config daxd makes (ring).
#[must_use]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The names a node certificate covers for `advertise_host`: the host itself (an IP
/// address or a DNS name, brackets of an IPv6 literal removed), `localhost`,
/// `127.0.0.1` and `::1`, without duplicates.
#[must_use]
pub fn subject_names(advertise_host: &str) -> Vec<String> {
    let host = advertise_host.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let mut names = Vec::new();
    for n in [host.as_str(), "localhost", "127.0.0.1", "::1"] {
        if !n.is_empty() && !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    }
    names
}

fn offset(t: SystemTime) -> OffsetDateTime {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn unix(t: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(t.duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// The CA's parameters, derived from its key alone, so that a CA read back from disk signs
/// with exactly the issuer name and key identifier its certificate carries. The common
/// name carries a fingerprint of the key: two daxd installations never make two CAs
/// with one name.
fn ca_params(key: &KeyPair, now: SystemTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let id = params.key_identifier(key);
    let fingerprint: String = id.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "daxd");
    dn.push(DnType::CommonName, format!("daxd DAX cluster CA {fingerprint}"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = offset(now - BACKDATE);
    params.not_after = offset(now + CA_VALIDITY);
    params
}

fn node_params(names: &[String], now: SystemTime) -> io::Result<CertificateParams> {
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| other("node certificate names", e))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "daxd");
    dn.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = offset(now - BACKDATE);
    params.not_after = offset(now + NODE_VALIDITY);
    Ok(params)
}

/// Write `data` to `path` atomically (temporary file, fsync, rename) with `mode`.
fn write_file(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
    // `mode` applies only to a file created now; a leftover temporary file keeps its own.
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

fn read_if_exists(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(other(path.display(), e)),
    }
}

/// The CA: its key (made now if there is none) and its certificate (made now if there
/// is none, or if there was no key).
fn load_or_create_ca(dir: &Path, now: SystemTime) -> io::Result<(KeyPair, CertificateDer<'static>, String)> {
    let key_path = dir.join(CA_KEY_FILE);
    let cert_path = dir.join(CA_FILE);
    let (key, fresh) = match read_if_exists(&key_path)? {
        Some(pem) => (KeyPair::from_pem(&pem).map_err(|e| other(key_path.display(), e))?, false),
        None => {
            let key = KeyPair::generate().map_err(|e| other("generating the CA key", e))?;
            write_file(&key_path, key.serialize_pem().as_bytes(), 0o600).map_err(|e| other(key_path.display(), e))?;
            tracing::info!(path = %key_path.display(), "created the DAX TLS CA key");
            (key, true)
        }
    };
    // Keep the key owner-only even if someone loosened it.
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).map_err(|e| other(key_path.display(), e))?;
    let existing = if fresh { None } else { read_if_exists(&cert_path)? };
    if let Some(pem) = existing {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| other(cert_path.display(), e))?;
        return Ok((key, der, pem));
    }
    let cert = ca_params(&key, now).self_signed(&key).map_err(|e| other("signing the CA certificate", e))?;
    let pem = cert.pem();
    write_file(&cert_path, pem.as_bytes(), 0o644).map_err(|e| other(cert_path.display(), e))?;
    tracing::info!(path = %cert_path.display(), "created the DAX TLS CA certificate");
    Ok((key, cert.der().clone(), pem))
}

/// Whether `cert` chains to the CA of `verifier` and is valid for every name at `at`.
fn valid_for_all(
    verifier: &WebPkiServerVerifier,
    cert: &CertificateDer<'_>,
    names: &[String],
    at: SystemTime,
) -> Result<(), String> {
    for n in names {
        let name = ServerName::try_from(n.as_str()).map_err(|e| format!("{n}: {e}"))?;
        verifier.verify_server_cert(cert, &[], &name, &[], unix(at)).map_err(|e| format!("{n}: {e}"))?;
    }
    Ok(())
}

/// The saved node certificate and key, if they are still good.
fn reusable_node_cert(
    dir: &Path,
    verifier: &WebPkiServerVerifier,
    names: &[String],
    now: SystemTime,
) -> io::Result<Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>> {
    let (cert_path, key_path) = (dir.join(NODE_CERT_FILE), dir.join(NODE_KEY_FILE));
    let (Some(cert_pem), Some(key_pem)) = (read_if_exists(&cert_path)?, read_if_exists(&key_path)?) else {
        return Ok(None);
    };
    let (Ok(cert), Ok(key)) =
        (CertificateDer::from_pem_slice(cert_pem.as_bytes()), PrivateKeyDer::from_pem_slice(key_pem.as_bytes()))
    else {
        tracing::warn!(path = %cert_path.display(), "unreadable node certificate or key: issuing a new one");
        return Ok(None);
    };
    let checked = valid_for_all(verifier, &cert, names, now);
    if let Err(why) = checked.and_then(|()| valid_for_all(verifier, &cert, names, now + RENEW_BEFORE)) {
        tracing::info!(path = %cert_path.display(), reason = %why, "renewing the DAX node certificate");
        return Ok(None);
    }
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).map_err(|e| other(key_path.display(), e))?;
    Ok(Some((cert, key)))
}

fn issue_node_cert(
    dir: &Path,
    ca_key: &KeyPair,
    names: &[String],
    now: SystemTime,
) -> io::Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let issuer = Issuer::new(ca_params(ca_key, now), ca_key);
    let key = KeyPair::generate().map_err(|e| other("generating a node key", e))?;
    let cert =
        node_params(names, now)?.signed_by(&key, &issuer).map_err(|e| other("signing the node certificate", e))?;
    let (cert_path, key_path) = (dir.join(NODE_CERT_FILE), dir.join(NODE_KEY_FILE));
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600).map_err(|e| other(key_path.display(), e))?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644).map_err(|e| other(cert_path.display(), e))?;
    tracing::info!(path = %cert_path.display(), names = ?names, "issued the DAX node certificate");
    let key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| other("node key", e))?;
    Ok((cert.der().clone(), key))
}

impl NodeTls {
    /// Load the CA and node certificate from `dir`, making what is missing (see the
    /// module documentation), for nodes advertised at `advertise_host`.
    ///
    /// # Errors
    /// File-system errors, unreadable keys or certificates, or a `ca.pem` that does not
    /// belong to `ca-key.pem`.
    pub fn load_or_create(dir: &Path, advertise_host: &str) -> io::Result<NodeTls> {
        Self::load_or_create_at(dir, advertise_host, SystemTime::now())
    }

    /// [`Self::load_or_create`] as if the time were `now`.
    ///
    /// # Errors
    /// As [`Self::load_or_create`].
    pub fn load_or_create_at(dir: &Path, advertise_host: &str, now: SystemTime) -> io::Result<NodeTls> {
        fs::create_dir_all(dir).map_err(|e| other(dir.display(), e))?;
        let names = subject_names(advertise_host);
        let (ca_key, ca_der, ca_pem) = load_or_create_ca(dir, now)?;
        let verifier = ca_verifier(ca_der, dir.join(CA_FILE).display())?;
        let (cert, key) = match reusable_node_cert(dir, &verifier, &names, now)? {
            Some(pair) => pair,
            None => {
                let pair = issue_node_cert(dir, &ca_key, &names, now)?;
                valid_for_all(&verifier, &pair.0, &names, now).map_err(|e| {
                    other(
                        format!("{} does not verify against {}", NODE_CERT_FILE, dir.join(CA_FILE).display()),
                        format!("{e} (does {CA_FILE} belong to {CA_KEY_FILE}?)"),
                    )
                })?;
                pair
            }
        };
        let config = serving_config(&cert, key, "node certificate and key")?;
        let ca_key_pem: Arc<str> = Arc::from(ca_key.serialize_pem());
        Ok(NodeTls {
            config: Arc::new(config),
            ca_pem,
            ca_path: dir.join(CA_FILE),
            node_cert: cert,
            names,
            ca_key_pem: Some(ca_key_pem),
        })
    }

    /// A node host's TLS (at `now`): the certificate the control signed at its join
    /// ([`NodeTls::sign_host`]) with the key only the host holds ([`HostKey`]), and the
    /// control's CA (`--control-ca`) that every peer's certificate must chain to.
    ///
    /// # Errors
    /// An unreadable CA or certificate, or one that does not verify against the CA for
    /// `host_id` and `advertise_host`.
    pub fn for_host(
        ca_pem: &str,
        ca_path: &Path,
        cert_pem: &str,
        key: &HostKey,
        host_id: &str,
        advertise_host: &str,
        now: SystemTime,
    ) -> io::Result<NodeTls> {
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| other(ca_path.display(), e))?;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| other("host certificate", e))?;
        let verifier = ca_verifier(ca_der, ca_path.display())?;
        let names = host_names(host_id, advertise_host);
        valid_for_all(&verifier, &cert, &names, now)
            .map_err(|e| other("the host certificate the control issued", e))?;
        let key_der = PrivateKeyDer::try_from(key.0.serialize_der()).map_err(|e| other("host key", e))?;
        let config = serving_config(&cert, key_der, "host certificate and key")?;
        Ok(NodeTls {
            config: Arc::new(config),
            ca_pem: ca_pem.to_owned(),
            ca_path: ca_path.to_owned(),
            node_cert: cert,
            names,
            ca_key_pem: None,
        })
    }

    /// Sign the certificate of node host `host_id` (at its join) for the key of `csr`:
    /// the names are the control's choice, not the request's: the host id (so a peer can
    /// tell which host it talks to) and the address the host advertised. Valid
    /// [`NODE_VALIDITY`], for server and client authentication (host-to-host links are
    /// mutually authenticated). PEM.
    ///
    /// # Errors
    /// When this process does not hold the CA key, or the names are not valid.
    pub fn sign_host(
        &self,
        csr: &HostCsr,
        host_id: &str,
        advertise_host: &str,
        now: SystemTime,
    ) -> Result<String, String> {
        let Some(ca_key_pem) = &self.ca_key_pem else {
            return Err("this daxd holds no CA key to sign node-host certificates".to_owned());
        };
        let ca_key = KeyPair::from_pem(ca_key_pem).map_err(|e| format!("the CA key: {e}"))?;
        let issuer = Issuer::new(ca_params(&ca_key, now), &ca_key);
        let names = host_names(host_id, advertise_host);
        let mut params = node_params(&names, now).map_err(|e| e.to_string())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "daxd node host");
        dn.push(DnType::CommonName, host_id);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let request = CertificateSigningRequestParams { params, public_key: csr.0.public_key.clone() };
        let cert = request.signed_by(&issuer).map_err(|e| format!("signing the host certificate: {e}"))?;
        Ok(cert.pem())
    }

    /// The server configuration of every TLS listener.
    #[must_use]
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// The CA certificate clients trust, PEM.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Where the CA certificate is.
    #[must_use]
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The node certificate, DER.
    #[must_use]
    pub fn node_cert(&self) -> &CertificateDer<'static> {
        &self.node_cert
    }

    /// The names the node certificate covers.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }
}

/// The largest certificate signing request a control reads (a P-256 request is under 1 KiB).
pub const MAX_CSR_BYTES: usize = 8192;

/// The names of a node host's certificate: its id (a DNS-like name, what peers check) and
/// its advertised address (brackets of an IPv6 literal removed).
#[must_use]
pub fn host_names(host_id: &str, advertise_host: &str) -> Vec<String> {
    let host = advertise_host.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let mut names = vec![host_id.to_ascii_lowercase()];
    if !host.is_empty() && !names.contains(&host) {
        names.push(host);
    }
    names
}

/// A node host's private key, made at its start and never written or sent anywhere: the
/// control receives only a certificate signing request for it ([`HostKey::csr`]).
pub struct HostKey(KeyPair);

impl fmt::Debug for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostKey(..)")
    }
}

impl HostKey {
    /// A new ECDSA P-256 key.
    ///
    /// # Errors
    /// When the random source fails.
    pub fn generate() -> io::Result<HostKey> {
        KeyPair::generate().map(HostKey).map_err(|e| other("generating the host key", e))
    }

    /// A certificate signing request (PEM) for this key, naming `advertise_host` (the
    /// control decides the names it signs; see [`NodeTls::sign_host`]).
    ///
    /// # Errors
    /// When `advertise_host` is not a valid name.
    pub fn csr(&self, advertise_host: &str) -> io::Result<String> {
        let host = advertise_host.trim().trim_start_matches('[').trim_end_matches(']');
        let mut params = CertificateParams::new(vec![host.to_owned()]).map_err(|e| other("CSR names", e))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host);
        params.distinguished_name = dn;
        params.serialize_request(&self.0).and_then(|r| r.pem()).map_err(|e| other("the CSR", e))
    }
}

/// The TLS of host-to-host links (replication): mutually authenticated with the
/// certificates the control's CA signed at each host's join. Each side presents its own;
/// the server requires the client's and checks it chains to the CA, the client checks the
/// server's for the peer's host id; the server then checks that the client's certificate
/// names the host id it claims ([`PeerTls::names_host`]).
#[derive(Clone)]
pub struct PeerTls {
    server: Arc<ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    verifier: Arc<WebPkiServerVerifier>,
}

impl fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeerTls(..)")
    }
}

impl PeerTls {
    /// The link TLS of a host with certificate `cert_pem` for `key`, trusting `ca_pem`.
    ///
    /// # Errors
    /// Unreadable certificates, or a key that is not the certificate's.
    pub fn new(ca_pem: &str, cert_pem: &str, key: &HostKey) -> io::Result<PeerTls> {
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| other("the CA", e))?;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| other("host certificate", e))?;
        let mut roots = RootCertStore::empty();
        roots.add(ca_der).map_err(|e| other("the CA", e))?;
        let roots = Arc::new(roots);
        let key_der = || PrivateKeyDer::try_from(key.0.serialize_der()).map_err(|e| other("host key", e));
        let client_verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), provider())
                .build()
                .map_err(|e| other("client verifier", e))?;
        let server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| other("TLS versions", e))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(vec![cert.clone()], key_der()?)
            .map_err(|e| other("host certificate and key", e))?;
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| other("TLS versions", e))?
            .with_root_certificates(Arc::clone(&roots))
            .with_client_auth_cert(vec![cert], key_der()?)
            .map_err(|e| other("host certificate and key", e))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| other("CA verifier", e))?;
        Ok(PeerTls { server: Arc::new(server), client: Arc::new(client), verifier })
    }

    /// The acceptor of the host's link listener.
    #[must_use]
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.server))
    }

    /// The connector of the links this host opens.
    #[must_use]
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(Arc::clone(&self.client))
    }

    /// Whether `cert` (a peer's, already chained to the CA by the handshake) names node
    /// host `host_id` and is valid at `now`.
    #[must_use]
    pub fn names_host(&self, cert: &CertificateDer<'_>, host_id: &str, now: SystemTime) -> bool {
        ServerName::try_from(host_id.to_owned())
            .is_ok_and(|name| self.verifier.verify_server_cert(cert, &[], &name, &[], unix(now)).is_ok())
    }
}

/// A certificate signing request a control accepted: well formed, its signature made by
/// the key it carries.
pub struct HostCsr(CertificateSigningRequestParams);

impl fmt::Debug for HostCsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostCsr(..)")
    }
}

impl HostCsr {
    /// Parse and verify a PEM request of at most [`MAX_CSR_BYTES`].
    ///
    /// # Errors
    /// Too long, not PEM, not a request, or a signature that does not verify.
    pub fn parse(pem: &str) -> Result<HostCsr, String> {
        if pem.len() > MAX_CSR_BYTES {
            return Err(format!("The certificate signing request is longer than {MAX_CSR_BYTES} bytes."));
        }
        CertificateSigningRequestParams::from_pem(pem)
            .map(HostCsr)
            .map_err(|e| format!("The certificate signing request is not valid: {e}"))
    }
}

/// How long a client has to finish the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn verifier(ca_pem: &str) -> Arc<WebPkiServerVerifier> {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build().unwrap()
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn names_cover_the_advertise_host_and_loopback() {
        assert_eq!(subject_names("127.0.0.1"), ["127.0.0.1", "localhost", "::1"]);
        assert_eq!(subject_names("dax.example.com"), ["dax.example.com", "localhost", "127.0.0.1", "::1"]);
        assert_eq!(subject_names("[fd00::5]"), ["fd00::5", "localhost", "127.0.0.1", "::1"]);
        assert_eq!(subject_names("LocalHost"), ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn first_start_makes_a_ca_and_a_node_certificate_it_signs() {
        let dir = tempfile::tempdir().unwrap();
        let tls = NodeTls::load_or_create(dir.path(), "10.1.2.3").unwrap();
        for f in [CA_FILE, CA_KEY_FILE, NODE_CERT_FILE, NODE_KEY_FILE] {
            assert!(dir.path().join(f).exists(), "{f}");
        }
        assert_eq!(mode(&dir.path().join(CA_KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.path().join(NODE_KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.path().join(CA_FILE)), 0o644);
        assert_eq!(tls.ca_path(), dir.path().join(CA_FILE));
        assert_eq!(fs::read_to_string(dir.path().join(CA_FILE)).unwrap(), tls.ca_pem());
        assert!(tls.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        // The node certificate chains to the CA for every name, and not for others.
        let v = verifier(tls.ca_pem());
        valid_for_all(&v, tls.node_cert(), &subject_names("10.1.2.3"), SystemTime::now()).unwrap();
        let other_name = ServerName::try_from("evil.example.com").unwrap();
        assert!(v.verify_server_cert(tls.node_cert(), &[], &other_name, &[], UnixTime::now()).is_err());
        let other_ip = ServerName::try_from("10.1.2.4").unwrap();
        assert!(v.verify_server_cert(tls.node_cert(), &[], &other_ip, &[], UnixTime::now()).is_err());
        // Not after its validity.
        let later = SystemTime::now() + NODE_VALIDITY + DAY;
        assert!(valid_for_all(&v, tls.node_cert(), tls.names(), later).is_err());
        // A CA of another installation does not vouch for it.
        let dir2 = tempfile::tempdir().unwrap();
        let tls2 = NodeTls::load_or_create(dir2.path(), "10.1.2.3").unwrap();
        assert_ne!(tls.ca_pem(), tls2.ca_pem());
        assert!(valid_for_all(&verifier(tls2.ca_pem()), tls.node_cert(), tls.names(), SystemTime::now()).is_err());
    }

    #[test]
    fn a_restart_reuses_the_ca_and_the_node_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let first = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        let node_pem = fs::read(dir.path().join(NODE_CERT_FILE)).unwrap();
        let again = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        assert_eq!(first.ca_pem(), again.ca_pem());
        assert_eq!(first.node_cert(), again.node_cert());
        assert_eq!(fs::read(dir.path().join(NODE_CERT_FILE)).unwrap(), node_pem);
        // A new advertise host: same CA, a new node certificate covering it.
        let moved = NodeTls::load_or_create(dir.path(), "dax.internal").unwrap();
        assert_eq!(moved.ca_pem(), first.ca_pem());
        assert_ne!(moved.node_cert(), first.node_cert());
        valid_for_all(&verifier(first.ca_pem()), moved.node_cert(), &subject_names("dax.internal"), SystemTime::now())
            .unwrap();
        // Close to its end, the node certificate is renewed, still by the same CA.
        let late = SystemTime::now() + NODE_VALIDITY - RENEW_BEFORE + DAY;
        let renewed = NodeTls::load_or_create_at(dir.path(), "dax.internal", late).unwrap();
        assert_eq!(renewed.ca_pem(), first.ca_pem());
        assert_ne!(renewed.node_cert(), moved.node_cert());
        valid_for_all(&verifier(first.ca_pem()), renewed.node_cert(), renewed.names(), late + DAY * 100).unwrap();
        // A lost node certificate is issued again; a lost CA certificate is rebuilt from its key.
        fs::remove_file(dir.path().join(NODE_CERT_FILE)).unwrap();
        fs::remove_file(dir.path().join(CA_FILE)).unwrap();
        let rebuilt = NodeTls::load_or_create(dir.path(), "dax.internal").unwrap();
        valid_for_all(&verifier(rebuilt.ca_pem()), rebuilt.node_cert(), rebuilt.names(), SystemTime::now()).unwrap();
    }

    #[test]
    fn a_ca_certificate_of_another_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        let dir2 = tempfile::tempdir().unwrap();
        NodeTls::load_or_create(dir2.path(), "127.0.0.1").unwrap();
        fs::copy(dir2.path().join(CA_FILE), dir.path().join(CA_FILE)).unwrap();
        fs::remove_file(dir.path().join(NODE_CERT_FILE)).unwrap();
        let e = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
    }

    #[test]
    fn garbage_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CA_KEY_FILE), "not a key").unwrap();
        assert!(NodeTls::load_or_create(dir.path(), "127.0.0.1").is_err());
        let dir = tempfile::tempdir().unwrap();
        NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        fs::write(dir.path().join(NODE_CERT_FILE), "junk").unwrap();
        // A broken node certificate is replaced.
        let tls = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        valid_for_all(&verifier(tls.ca_pem()), tls.node_cert(), tls.names(), SystemTime::now()).unwrap();
    }

    #[test]
    fn a_host_gets_a_certificate_for_its_own_key_and_names_the_control_chooses() {
        let dir = tempfile::tempdir().unwrap();
        let control = NodeTls::load_or_create(dir.path(), "127.0.0.1").unwrap();
        let key = HostKey::generate().unwrap();
        let csr_pem = key.csr("10.0.1.7").unwrap();
        assert!(csr_pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"), "{csr_pem}");
        assert!(!csr_pem.contains("PRIVATE KEY"));
        let csr = HostCsr::parse(&csr_pem).unwrap();
        let cert = control.sign_host(&csr, "nh-00000000000000001", "10.0.1.7", SystemTime::now()).unwrap();
        let host = NodeTls::for_host(
            control.ca_pem(),
            Path::new("ca.pem"),
            &cert,
            &key,
            "nh-00000000000000001",
            "10.0.1.7",
            SystemTime::now(),
        )
        .unwrap();
        let v = verifier(control.ca_pem());
        valid_for_all(
            &v,
            host.node_cert(),
            &["nh-00000000000000001".to_owned(), "10.0.1.7".to_owned()],
            SystemTime::now(),
        )
        .unwrap();
        // Not for another host id, another address, or loopback.
        for name in ["nh-00000000000000002", "10.0.1.8", "127.0.0.1", "localhost"] {
            let n = ServerName::try_from(name).unwrap();
            assert!(v.verify_server_cert(host.node_cert(), &[], &n, &[], UnixTime::now()).is_err(), "{name}");
        }
        // The certificate is of the host's key: with another key it is refused.
        let other_key = HostKey::generate().unwrap();
        let e = NodeTls::for_host(
            control.ca_pem(),
            Path::new("ca.pem"),
            &cert,
            &other_key,
            "nh-00000000000000001",
            "10.0.1.7",
            SystemTime::now(),
        );
        assert!(e.is_err(), "a certificate with a key that is not its own");
        // It must be the id the host was given.
        assert!(NodeTls::for_host(
            control.ca_pem(),
            Path::new("ca.pem"),
            &cert,
            &key,
            "nh-00000000000000002",
            "10.0.1.7",
            SystemTime::now(),
        )
        .is_err());
        // A host holds no CA key: it cannot sign.
        assert!(host.sign_host(&csr, "nh-x", "h", SystemTime::now()).is_err());
        assert!(!format!("{control:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_signing_requests_are_refused() {
        let key = HostKey::generate().unwrap();
        let pem = key.csr("h.example").unwrap();
        assert!(HostCsr::parse("junk").is_err());
        assert!(HostCsr::parse(&"A".repeat(MAX_CSR_BYTES + 1)).unwrap_err().contains("longer"));
        // One changed character of the signed part: the signature no longer verifies.
        let lines: Vec<&str> = pem.lines().collect();
        let mut body = lines[1].to_owned().into_bytes();
        body[20] = if body[20] == b'A' { b'B' } else { b'A' };
        let mut changed = lines.clone();
        let body = String::from_utf8(body).unwrap();
        changed[1] = &body;
        assert!(HostCsr::parse(&changed.join("\n")).is_err());
        assert!(HostCsr::parse(&pem).is_ok());
    }
}
