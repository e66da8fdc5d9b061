//! What the tests of every sis crate share, in one place (like cargo's `cargo-test-support`):
//! the names of the offline images that `tests/engine-up.sh` builds, and a check that the
//! engine has them. The in-memory engine for unit tests is `sis_engine::fake`, behind
//! sis-engine's `fake` feature, which only dev-dependencies turn on.

use std::process::Command;

/// The dind node image (Debian bookworm + docker.io 20.10), `tests/node-image/build.sh`.
pub const NODE_IMAGE: &str = "sis-node:test";
/// The 2 MB busybox workload image, `tests/workload-image/build.sh`.
pub const WORKLOAD_IMAGE: &str = "sis-workload:test";
/// etcd 3.4 from Debian's etcd-server, the classic mode's K/V store, `tests/etcd-image/build.sh`.
pub const ETCD_IMAGE: &str = "sis-etcd:test";
/// Classic Swarm 1.2.9 built from the shared fixtures, `tests/swarm-image/build.sh`.
pub const SWARM_IMAGE: &str = "sis-swarm:test";

/// Fails the test with instructions when there is no engine or it lacks `image`.
pub fn require_image(image: &str) {
    let ok = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this test needs a running Docker engine with the image {image}: run \
         tests/engine-up.sh (installs docker.io, starts dockerd, builds the test images), or \
         use tests/run.sh, which does that and runs every test"
    );
}
