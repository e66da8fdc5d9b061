//! Files into and out of containers through the engine's archive API (`PUT`/`GET
//! /containers/{id}/archive`): certificates reach a node on a remote host before it starts,
//! and the cluster's CA is read back from the container that keeps it. The tar archives are
//! small and made and read here (ustar, regular files and directories only).

use std::collections::{BTreeMap, BTreeSet};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures::StreamExt;

use super::lock::{ensure_lock_image, LOCK_IMAGE};
use super::network::unsorted;
use super::{is_status, DockerHost};
use crate::{ContainerFile, EngineError, HostEngine};

const BLOCK: usize = 512;

/// Puts `files` into container `name` (created or running), making their directories.
pub(super) async fn put_files(
    host: &DockerHost,
    name: &str,
    files: &[ContainerFile],
) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let tar = tar_of(files).map_err(EngineError::Other)?;
    let options = UploadToContainerOptionsBuilder::new().path("/").build();
    docker
        .upload_to_container(name, Some(options), bollard::body_full(tar.into()))
        .await
        .map_err(host.fail(format!("copy {} files into container {name}", files.len())))
}

pub(super) async fn keep_files(
    host: &DockerHost,
    name: &str,
    labels: BTreeMap<String, String>,
    files: &[ContainerFile],
) -> Result<(), EngineError> {
    ensure_lock_image(host).await?;
    let docker = host.client().await?;
    let body = ContainerCreateBody {
        image: Some(LOCK_IMAGE.to_string()),
        labels: Some(unsorted(&labels)),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(name).build();
    match docker.create_container(Some(options), body).await {
        Ok(_) => {}
        // Kept by an earlier attempt: its files stay (they are what was signed with).
        Err(e) if is_status(&e, 409) => {
            let existing = super::container::labels_of(host, name).await?;
            return crate::ownership::claim(host.endpoint(), name, &labels, &existing);
        }
        Err(e) => return Err(host.fail(format!("create container {name}"))(e)),
    }
    if let Err(e) = put_files(host, name, files).await {
        if let Err(cleanup) = super::container::remove(host, name).await {
            tracing::warn!("removing container {name} that did not get its files: {cleanup}");
        }
        return Err(e);
    }
    Ok(())
}

pub(super) async fn read_files(
    host: &DockerHost,
    name: &str,
    dir: &str,
) -> Result<Vec<ContainerFile>, EngineError> {
    let docker = host.client().await?;
    let options = DownloadFromContainerOptionsBuilder::new().path(dir).build();
    let mut stream = docker.download_from_container(name, Some(options));
    let mut tar = Vec::new();
    while let Some(chunk) = stream.next().await {
        tar.extend_from_slice(
            &chunk.map_err(host.fail(format!("read {dir} of container {name}")))?,
        );
    }
    // The archive names entries from the directory's own name on: `tls/ca.pem` for `/tls`.
    let parent = dir
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(p, _)| p);
    let files = files_of(&tar).map_err(|e| {
        EngineError::Other(format!(
            "read {dir} of container {name} on {}: {e}",
            host.endpoint()
        ))
    })?;
    Ok(files
        .into_iter()
        .map(|f| ContainerFile {
            path: format!("{parent}/{}", f.path.trim_start_matches("./")),
            ..f
        })
        .collect())
}

/// A tar archive of `files` (absolute paths) and their directories, to extract at `/`.
fn tar_of(files: &[ContainerFile]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut dirs = BTreeSet::new();
    for f in files {
        let path = f.path.trim_start_matches('/');
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        for i in 1..=parts.len() {
            let dir = format!("{}/", parts[..i].join("/"));
            if dirs.insert(dir.clone()) {
                header(&mut out, &dir, 0, 0o755, b'5')?;
            }
        }
        header(&mut out, path, f.contents.len(), f.mode, b'0')?;
        out.extend_from_slice(&f.contents);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    Ok(out)
}

fn header(out: &mut Vec<u8>, path: &str, size: usize, mode: u32, kind: u8) -> Result<(), String> {
    if path.len() > 100 {
        return Err(format!("path {path} is longer than a tar header holds"));
    }
    let mut h = [0u8; BLOCK];
    h[..path.len()].copy_from_slice(path.as_bytes());
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size as u64);
    octal(&mut h[136..148], 0);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    out.extend_from_slice(&h);
    Ok(())
}

/// Writes `value` in octal, zero-padded, NUL-terminated, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let text = format!("{value:0width$o}", width = field.len() - 1);
    field[..text.len()].copy_from_slice(text.as_bytes());
    field[text.len()] = 0;
}

/// The regular files of a tar archive (ustar, with PAX `path` records honoured).
fn files_of(tar: &[u8]) -> Result<Vec<ContainerFile>, String> {
    let mut files = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while at + BLOCK <= tar.len() {
        let h = &tar[at..at + BLOCK];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let field = |r: std::ops::Range<usize>| {
            let raw = &h[r];
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).trim().to_string()
        };
        let size = usize::from_str_radix(&field(124..136), 8)
            .map_err(|e| format!("bad size in tar header at byte {at}: {e}"))?;
        // Permission bits only: Go's archive/tar (dockerd) adds the file type's bits.
        let mode = u32::from_str_radix(&field(100..108), 8).unwrap_or(0o644) & 0o7777;
        let kind = h[156];
        let prefix = field(345..500);
        let mut name = field(0..100);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        let start = at + BLOCK;
        let end = start + size;
        if end > tar.len() {
            return Err(format!("tar entry {name} is cut short"));
        }
        let data = &tar[start..end];
        match kind {
            b'x' => long_name = pax_path(data),
            b'0' | 0 => files.push(ContainerFile {
                path: long_name.take().unwrap_or(name),
                contents: data.to_vec(),
                mode,
            }),
            _ => long_name = None,
        }
        at = start + size.div_ceil(BLOCK) * BLOCK;
    }
    Ok(files)
}

/// The `path` of a PAX extended header's records (`"<len> path=<value>\n"`).
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|record| {
        let (_, kv) = record.split_once(' ')?;
        kv.strip_prefix("path=").map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_written_are_read_back_with_their_modes() {
        let files = vec![
            ContainerFile {
                path: "/tls/ca.pem".to_string(),
                contents: b"certificate".to_vec(),
                mode: 0o644,
            },
            ContainerFile {
                path: "/tls/client/key.pem".to_string(),
                contents: vec![7; 700],
                mode: 0o600,
            },
        ];
        let tar = tar_of(&files).unwrap();
        assert_eq!(tar.len() % BLOCK, 0);
        let back = files_of(&tar).unwrap();
        let want: Vec<ContainerFile> = files
            .iter()
            .map(|f| ContainerFile {
                path: f.path.trim_start_matches('/').to_string(),
                ..f.clone()
            })
            .collect();
        assert_eq!(back, want);
    }
}
