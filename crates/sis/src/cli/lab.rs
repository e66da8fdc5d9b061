//! `sis lab`'s subcommands and their arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
#[command(
    about = "Simulated swarm1 hosts on this machine's Docker engine, to try multi-host specs",
    long_about = "A lab is a bridge network and N host containers on this machine's Docker engine. \
Each host container runs its own dockerd, listening over TCP on the bridge at a fixed address \
(.11, .12, …), and holds the node image. sis can form swarm1 from them like from real machines: \
`sis lab up` writes a ready spec for them, `sis apply` builds the cluster on it.\n\n\
Everything of a lab carries the label sis.lab=NAME; `sis lab down` removes it all, hosts with \
their volumes (and every node inside them), network and certificates.",
    after_help = "Examples:\n  sis lab up --hosts 3                 # lab-host1..3, spec ./lab.yaml\n  \
sis apply lab.yaml                   # swarm1 over the 3 hosts, 6 nodes, swarm2\n  \
sis lab up --hosts 2 --tls --name sec --subnet 10.197.0.0/24\n  \
docker --tlsverify -H tcp://10.197.0.11:2376 --tlscacert sec-tls/client/ca.pem \\\n      \
--tlscert sec-tls/client/cert.pem --tlskey sec-tls/client/key.pem version\n  \
sis lab status\n  sis lab down"
)]
pub enum LabCommand {
    /// Create or converge a lab of N hosts and write a spec for it (idempotent).
    ///
    /// Creates what is missing and keeps what is in place: the bridge network NAME-bridge
    /// (--subnet), the host containers NAME-host1..N at .11, .12, … running --image with its
    /// dockerd listening on tcp://IP:2375 (tcp://IP:2376 with --tls and generated
    /// certificates); then it copies the image into each host that lacks it (one export from
    /// this engine, streamed to every host at once) and writes the spec.
    ///
    /// Run again on a healthy lab, it changes nothing. Another --hosts adds or removes hosts;
    /// turning --tls on or off replaces the hosts, and the clusters on them.
    Up(LabUpArgs),
    /// Remove the lab: hosts with their volumes, network, certificates.
    ///
    /// Removes everything labelled sis.lab=NAME on this engine: the host containers with their
    /// volumes (so every cluster node inside them), the bridge network, and the certificates
    /// `sis lab up --tls` wrote. The spec file stays. A lab that is not there is no error.
    Down(LabDownArgs),
    /// List the lab's hosts, their state, and whether their engines answer.
    Status(LabStatusArgs),
}

#[derive(Debug, Args)]
pub struct LabUpArgs {
    /// Number of hosts.
    #[arg(long, value_name = "N")]
    pub hosts: u32,
    /// Name of the lab: prefix of its containers, value of the sis.lab label, cluster name in the spec.
    #[arg(long, default_value = sis_lab::DEFAULT_NAME)]
    pub name: String,
    /// IPv4 subnet of the lab's bridge network; hosts get .11, .12, …
    #[arg(long, default_value = sis_lab::DEFAULT_SUBNET)]
    pub subnet: String,
    /// Hosts listen on 2376 with TLS and client certificates (a CA, a server certificate per
    /// host, a client certificate, written to NAME-tls/ beside the spec).
    #[arg(long, conflicts_with = "ssh")]
    pub tls: bool,
    /// Hosts run sshd (the lab host image) and the spec reaches them over ssh://root@IP with a
    /// generated key and known_hosts (written to NAME-ssh/ beside the spec; never printed).
    #[arg(long)]
    pub ssh: bool,
    /// Image the hosts run with --ssh: the node image with sshd (build the default one with
    /// tests/labhost-image/build.sh).
    #[arg(long, default_value = sis_lab::DEFAULT_SSH_IMAGE, value_name = "IMAGE")]
    pub ssh_image: String,
    /// Where to write the spec [default: ./NAME.yaml]. A file there that `sis lab up` did not
    /// write is never overwritten.
    #[arg(long, value_name = "PATH")]
    pub spec_out: Option<PathBuf>,
    /// dind nodes per host in the written spec.
    #[arg(long, default_value_t = 2, value_name = "K")]
    pub nodes_per_host: u32,
    /// Image the hosts run, copied into them as the node image (build the default one with
    /// tests/node-image/build.sh).
    #[arg(long, default_value = sis_lab::DEFAULT_IMAGE)]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct LabDownArgs {
    /// Name of the lab.
    #[arg(long, default_value = sis_lab::DEFAULT_NAME)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LabStatusArgs {
    /// Name of the lab.
    #[arg(long, default_value = sis_lab::DEFAULT_NAME)]
    pub name: String,
}
