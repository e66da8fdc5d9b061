//! Images on the hosts: pulled from a registry, or copied from another host.

use sis_engine::{EngineError, HostEngine};

use crate::events::Progress;
use crate::execute::Pass;

pub(crate) async fn pull<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    image: &str,
) -> Result<(), EngineError> {
    pass.engine(host)?.pull_image(image).await
}

pub(crate) async fn copy<E: HostEngine>(
    pass: &Pass<'_, E>,
    from_host: &str,
    host: &str,
    image: &str,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    let from = (from_host, pass.engine(from_host)?);
    let to = (host, pass.engine(host)?);
    crate::images::copy_between_hosts(from, to, image, progress).await
}
