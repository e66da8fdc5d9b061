//! Waiting for a node's dockerd by following the container's log, not by polling with exec
//! (each exec is a full runc exec, a load of its own on a busy host).

use std::collections::VecDeque;
use std::time::Duration;

use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;

use super::DockerHost;
use crate::EngineError;

/// What dockerd prints once its API serves requests (after the daemon is initialised).
const READY_LINE: &str = "API listen on";
/// Log lines kept for the error message of a node that did not come up.
const LAST_LINES: usize = 12;

pub(super) async fn wait_node_ready(
    host: &DockerHost,
    name: &str,
    timeout: Duration,
) -> Result<(), EngineError> {
    let mut last = VecDeque::with_capacity(LAST_LINES);
    match tokio::time::timeout(timeout, follow_until_ready(host, name, &mut last)).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(exited(host, name, &last).await),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(EngineError::Timeout {
            op: host.op(format!("wait for the dockerd of node {name}")),
            seconds: timeout.as_secs(),
            detail: format!(
                "its log shows no `{READY_LINE}` yet; last lines:\n{}",
                join(&last)
            ),
        }),
    }
}

/// Follows the log of the container's current run; `true` once dockerd is ready, `false`
/// when the log ends first (the container stopped).
async fn follow_until_ready(
    host: &DockerHost,
    name: &str,
    last: &mut VecDeque<String>,
) -> Result<bool, EngineError> {
    let docker = host.client().await?;
    let inspected = docker
        .inspect_container(name, None)
        .await
        .map_err(host.fail(format!("inspect node {name}")))?;
    // A restarted node's log still holds the ready line of its previous run.
    let started_at = inspected
        .state
        .and_then(|s| s.started_at)
        .and_then(|t| parse_rfc3339(&t))
        .unwrap_or((0, 0));
    let options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .since(i32::try_from(started_at.0).unwrap_or(0))
        .build();
    let mut logs = docker.logs(name, Some(options));
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(host.fail(format!("follow the log of node {name}")))?;
        for line in String::from_utf8_lossy(&chunk.into_bytes()).lines() {
            let (time, text) = line.split_once(' ').unwrap_or(("", line));
            if parse_rfc3339(time).is_some_and(|t| t < started_at) {
                continue;
            }
            if text.contains(READY_LINE) {
                return Ok(true);
            }
            if last.len() == LAST_LINES {
                last.pop_front();
            }
            last.push_back(text.to_string());
        }
    }
    Ok(false)
}

/// The error for a node whose log ended before dockerd was ready.
async fn exited(host: &DockerHost, name: &str, last: &VecDeque<String>) -> EngineError {
    let state = match host.client().await {
        Ok(docker) => docker
            .inspect_container(name, None)
            .await
            .ok()
            .and_then(|c| c.state)
            .map(|s| {
                format!(
                    "{} (exit code {})",
                    s.status.map(|s| s.to_string()).unwrap_or_default(),
                    s.exit_code.unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "gone".to_string()),
        Err(_) => "unknown".to_string(),
    };
    EngineError::Other(format!(
        "node {name} on {} stopped before its dockerd was ready; it is {state}{}; last log lines:\n{}",
        host.inner.endpoint,
        hint(last),
        join(last)
    ))
}

/// What to do when the log says why dockerd refused to start, where sis knows.
fn hint(last: &VecDeque<String>) -> &'static str {
    // Docker 23 removed the flags classic mode gives the nodes.
    if last.iter().any(|l| {
        l.contains("unknown flag: --cluster-store")
            || l.contains("unknown flag: --cluster-advertise")
    }) {
        "; its dockerd has no --cluster-store (removed in Docker 23): classic mode needs a node \
         image with Docker 20.10 or older in swarm2.image, or use swarm2.mode: swarm"
    } else {
        ""
    }
}

fn join(lines: &VecDeque<String>) -> String {
    if lines.is_empty() {
        return "  (none)".to_string();
    }
    lines
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `2026-05-07T21:09:36.123456789Z` (as dockerd writes times, in UTC) as seconds since
/// the epoch and nanoseconds.
fn parse_rfc3339(text: &str) -> Option<(i64, u32)> {
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let nanos = format!("{fraction:0<9}").parse::<u32>().ok()?;
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dockerd_without_cluster_store_is_explained() {
        let log = VecDeque::from(["unknown flag: --cluster-store".to_string()]);
        assert!(hint(&log).contains("Docker 20.10 or older"));
        assert_eq!(hint(&VecDeque::new()), "");
    }

    #[test]
    fn docker_timestamps_parse_to_epoch_seconds_and_nanos() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.5Z"),
            Some((1_709_210_096, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2026-05-07T21:09:36.123456789Z"),
            Some((1_778_188_176, 123_456_789))
        );
        assert_eq!(
            parse_rfc3339("0001-01-01T00:00:00Z").map(|t| t.0 < 0),
            Some(true)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-05-07T21:09:36+02:00"), None);
    }
}
