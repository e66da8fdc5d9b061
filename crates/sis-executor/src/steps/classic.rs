//! Classic Swarm's containers: the `swarm manage` manager, published on its host, and a
//! `swarm join` agent per node. Both are ordinary containers on ring2net; the plan resolved
//! their commands.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use std::sync::Arc;

use sis_certs::{Ca, Usage};
use sis_engine::{ContainerFile, ContainerSpec, EngineError, HostEngine};
use sis_types::{labels, ClassicTls};

use crate::execute::Pass;

/// The port the manager listens on inside its container.
const MANAGER_PORT: u16 = 2375;

/// The manager as the plan resolved it.
pub(crate) struct Manager<'a> {
    pub host: &'a str,
    pub name: &'a str,
    pub image: &'a str,
    pub cmd: &'a [String],
    pub network: &'a str,
    pub address: Ipv4Addr,
    pub publish: u16,
    pub spec_hash: &'a str,
    pub tls: Option<&'a ClassicTls>,
}

/// An agent as the plan resolved it.
pub(crate) struct Agent<'a> {
    pub host: &'a str,
    pub name: &'a str,
    pub node: &'a str,
    pub index: u32,
    pub image: &'a str,
    pub cmd: &'a [String],
    pub network: &'a str,
    pub spec_hash: &'a str,
}

pub(crate) async fn create_manager<E: HostEngine>(
    pass: &Pass<'_, E>,
    m: Manager<'_>,
) -> Result<(), EngineError> {
    let mut spec = ContainerSpec {
        name: m.name.to_string(),
        hostname: m.name.to_string(),
        image: m.image.to_string(),
        cmd: m.cmd.to_vec(),
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), pass.cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_MANAGER.to_string()),
            (labels::HOST.to_string(), m.host.to_string()),
            (labels::SPEC_HASH.to_string(), m.spec_hash.to_string()),
        ]),
        network: Some(m.network.to_string()),
        profile: None,
        publish: vec![(m.publish, MANAGER_PORT)],
        ipv4_address: Some(m.address),
        // Back after its host restarts, as the nodes and the K/V store.
        restart_unless_stopped: true,
    };
    let files = match m.tls {
        Some(tls) => certificate(pass, tls, m.name, &mut spec.labels).await?,
        None => Vec::new(),
    };
    pass.engine(m.host)?
        .run_container_with_files(&spec, &files)
        .await
}

pub(crate) async fn create_agent<E: HostEngine>(
    pass: &Pass<'_, E>,
    a: Agent<'_>,
) -> Result<(), EngineError> {
    let spec = ContainerSpec {
        name: a.name.to_string(),
        // The container name has dots beyond a hostname's first label; the agent needs none.
        hostname: String::new(),
        image: a.image.to_string(),
        cmd: a.cmd.to_vec(),
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), pass.cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_AGENT.to_string()),
            (labels::HOST.to_string(), a.host.to_string()),
            (labels::INDEX.to_string(), a.index.to_string()),
            (labels::NODE.to_string(), a.node.to_string()),
            (labels::SPEC_HASH.to_string(), a.spec_hash.to_string()),
        ]),
        network: Some(a.network.to_string()),
        profile: None,
        publish: Vec::new(),
        ipv4_address: None,
        restart_unless_stopped: true,
    };
    pass.engine(a.host)?.run_container(&spec).await
}

/// The CA's common name; a CA read back is rebuilt with it.
fn ca_common_name(cluster: &str) -> String {
    format!("sis CA of cluster {cluster}")
}

/// Makes the cluster's CA and keeps it on `host` in container `name` (created, never
/// started): `ca.pem`, `ca-key.pem`, and a client certificate under `client/` for people
/// and scripts (`docker cp <name>:/tls/client DIR`, then `docker --tlsverify` with
/// `DOCKER_CERT_PATH=DIR`).
pub(crate) async fn create_ca<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
) -> Result<(), EngineError> {
    let ca = Ca::generate(&ca_common_name(pass.cluster)).map_err(cert_error)?;
    let client = ca
        .issue(
            &format!("sis client of cluster {}", pass.cluster),
            &[],
            Usage::Client,
        )
        .map_err(cert_error)?;
    let dir = labels::CA_DIR;
    let files = vec![
        file(format!("{dir}/ca.pem"), ca.cert_pem(), 0o644),
        file(format!("{dir}/ca-key.pem"), &ca.key_pem(), 0o600),
        file(format!("{dir}/client/ca.pem"), ca.cert_pem(), 0o644),
        file(format!("{dir}/client/cert.pem"), &client.cert_pem, 0o644),
        file(format!("{dir}/client/key.pem"), &client.key_pem, 0o600),
    ];
    let labels = BTreeMap::from([
        (labels::CLUSTER.to_string(), pass.cluster.to_string()),
        (labels::ROLE.to_string(), labels::ROLE_CA.to_string()),
        (labels::HOST.to_string(), host.to_string()),
        (labels::CA.to_string(), ca.fingerprint()),
    ]);
    pass.engine(host)?.keep_files(name, labels, &files).await?;
    // An earlier attempt may have kept another CA under that name: read back what is kept.
    pass.cas
        .lock()
        .await
        .remove(&(host.to_string(), name.to_string()));
    Ok(())
}

/// A certificate for `common_name` signed by the CA `tls` names, as files for
/// `labels::TLS_DIR`, and the CA's fingerprint put into `container_labels`.
pub(crate) async fn certificate<E: HostEngine>(
    pass: &Pass<'_, E>,
    tls: &ClassicTls,
    common_name: &str,
    container_labels: &mut BTreeMap<String, String>,
) -> Result<Vec<ContainerFile>, EngineError> {
    let ca = ca(pass, tls).await?;
    let leaf = ca
        .issue(common_name, &tls.names, Usage::Both)
        .map_err(cert_error)?;
    container_labels.insert(labels::CA.to_string(), ca.fingerprint());
    let dir = labels::TLS_DIR;
    Ok(vec![
        file(format!("{dir}/ca.pem"), ca.cert_pem(), 0o644),
        file(format!("{dir}/cert.pem"), &leaf.cert_pem, 0o644),
        file(format!("{dir}/key.pem"), &leaf.key_pem, 0o600),
    ])
}

/// The CA kept in `tls.ca` on `tls.ca_host`, read from there once per pass.
async fn ca<E: HostEngine>(pass: &Pass<'_, E>, tls: &ClassicTls) -> Result<Arc<Ca>, EngineError> {
    let key = (tls.ca_host.clone(), tls.ca.clone());
    let mut cas = pass.cas.lock().await;
    if let Some(ca) = cas.get(&key) {
        return Ok(Arc::clone(ca));
    }
    let files = pass
        .engine(&tls.ca_host)?
        .read_files(&tls.ca, labels::CA_DIR)
        .await?;
    let find = |file: &str| {
        let path = format!("{}/{file}", labels::CA_DIR);
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
            .ok_or_else(|| {
                EngineError::Other(format!(
                    "the CA container {} on host {} has no {path}; remove it (`docker rm {}`) \
                     and apply again to make a new CA (the nodes it signed are replaced)",
                    tls.ca, tls.ca_host, tls.ca
                ))
            })
    };
    let ca = Ca::from_pem(
        &ca_common_name(pass.cluster),
        &find("ca.pem")?,
        &find("ca-key.pem")?,
    )
    .map_err(cert_error)?;
    let ca = Arc::new(ca);
    cas.insert(key, Arc::clone(&ca));
    Ok(ca)
}

fn file(path: String, text: &str, mode: u32) -> ContainerFile {
    ContainerFile {
        path,
        contents: text.as_bytes().to_vec(),
        mode,
    }
}

fn cert_error(e: sis_certs::CertError) -> EngineError {
    EngineError::Other(crate::observe::error_chain(&e))
}
