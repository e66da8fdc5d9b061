//! The K/V store's health, key count and latency, probed from inside a running node.
//!
//! The store listens on ring2net only, which the machine running sis cannot reach (its
//! hosts may be remote), while every node does. So the probe is one exec in a node: a
//! script that speaks HTTP/1.0 to the store, one request a connection, and prints each
//! response between markers with its start and end time in microseconds.
//!
//! The script needs no HTTP client in the node image: with bash (Debian-based node images
//! such as `sis-node:test`) it uses bash's `/dev/tcp` and `$EPOCHREALTIME`, both without a
//! process; without bash (the Alpine `docker:*-dind` images) busybox's `nc` and `date +%s%N`,
//! whose times then include starting those processes (a few milliseconds).
//!
//! etcd is asked through its v2 API, the one dockerd's and classic Swarm's libkv use
//! (etcd 3.4+ serves it with `--enable-v2` only); consul through its HTTP API on 8500.

use std::time::Duration;

use sis_engine::{EngineError, HostEngine};
use sis_spec::addresses::AddressPlan;
use sis_spec::{KvKind, Spec};
use sis_types::{KvStoreProbe, Observed};

use crate::observe::{error_chain, Hosts};

/// Bound on the whole probe (five requests; a store that does not answer stops it at the
/// first connection).
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Bound on connecting to the store and on each wait for its answer, inside the node: a
/// stopped store's address on an overlay network drops the connection attempt silently.
const CONNECT_SECONDS: u64 = 5;

/// The key prefix the probe writes under, so that it never touches the engines' keys.
pub const PROBE_PREFIX: &str = "sis-probe";

/// One step of the probe: its name, the HTTP method, the path and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub step: &'static str,
    pub method: &'static str,
    pub path: String,
    pub body: String,
}

/// The API port of a kind of store.
pub fn port(kind: KvKind) -> u16 {
    match kind {
        KvKind::Etcd => 2379,
        KvKind::Consul => 8500,
    }
}

/// The five requests of a probe writing key `sis-probe/NONCE`.
pub fn requests(kind: KvKind, nonce: &str) -> Vec<Request> {
    let r = |step, method, path: String, body: String| Request {
        step,
        method,
        path,
        body,
    };
    let key = format!("{PROBE_PREFIX}/{nonce}");
    match kind {
        KvKind::Etcd => vec![
            r("health", "GET", "/health".into(), String::new()),
            r(
                "keys",
                "GET",
                "/v2/keys/?recursive=true".into(),
                String::new(),
            ),
            // A TTL, so that a key whose delete never came goes by itself.
            r(
                "write",
                "PUT",
                format!("/v2/keys/{key}"),
                format!("value={nonce}&ttl=60"),
            ),
            r("read", "GET", format!("/v2/keys/{key}"), String::new()),
            r("delete", "DELETE", format!("/v2/keys/{key}"), String::new()),
        ],
        KvKind::Consul => vec![
            r("health", "GET", "/v1/status/leader".into(), String::new()),
            r("keys", "GET", "/v1/kv/?keys".into(), String::new()),
            r("write", "PUT", format!("/v1/kv/{key}"), nonce.to_string()),
            r("read", "GET", format!("/v1/kv/{key}?raw"), String::new()),
            r("delete", "DELETE", format!("/v1/kv/{key}"), String::new()),
        ],
    }
}

/// The exec's command: bash's script when the node has bash, else the busybox one.
pub fn command(host: &str, port: u16, requests: &[Request]) -> Vec<String> {
    let calls: String = requests
        .iter()
        .map(|r| {
            format!(
                "req {} {} '{}' '{}' || exit 0\n",
                r.step, r.method, r.path, r.body
            )
        })
        .collect();
    let bash = format!(
        r#"H={host}; P={port}
req() {{
  echo "@@sis-begin $1"
  local t0=$EPOCHREALTIME line
  exec 3<>"/dev/tcp/$H/$P" || return 1
  printf '%s %s HTTP/1.0\r\nHost: %s:%s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %s\r\n\r\n%s' "$2" "$3" "$H" "$P" "${{#4}}" "$4" >&3
  while IFS= read -r -t {CONNECT_SECONDS} -u 3 line || [ -n "$line" ]; do printf '%s\n' "$line"; done
  exec 3<&-
  local t1=$EPOCHREALTIME
  echo; echo "@@sis-end $1 ${{t0/[.,]/}} ${{t1/[.,]/}}"
}}
exec 2>&1
if command -v timeout >/dev/null 2>&1 && ! timeout {CONNECT_SECONDS} bash -c ": <>/dev/tcp/$H/$P" 2>/dev/null; then
  echo "@@sis-begin connect"; echo "no connection to $H:$P within {CONNECT_SECONDS} s"; exit 0
fi
{calls}"#
    );
    let sh = format!(
        r#"H={host}; P={port}
now() {{ date +%s%N | cut -c1-16; }}
req() {{
  echo "@@sis-begin $1"
  t0=$(now)
  printf '%s %s HTTP/1.0\r\nHost: %s:%s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %s\r\n\r\n%s' "$2" "$3" "$H" "$P" "${{#4}}" "$4" | nc -w {CONNECT_SECONDS} "$H" "$P" || return 1
  t1=$(now)
  echo; echo "@@sis-end $1 $t0 $t1"
}}
exec 2>&1
{calls}"#
    );
    vec![
        "sh".into(),
        "-c".into(),
        r#"if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; else exec sh -c "$2"; fi"#
            .into(),
        "sis-kvprobe".into(),
        bash,
        sh,
    ]
}

/// One step's answer: the HTTP status, the body, and its microseconds when the clock read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub micros: Option<u64>,
}

/// A step that got no HTTP answer: what the node printed instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer {
    pub step: String,
    pub text: String,
}

/// The script's output, step by step in order; the first step without an answer ends it.
pub fn parse_output(text: &str) -> Result<Vec<(String, Answer)>, NoAnswer> {
    let mut steps = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(step) = line.strip_prefix("@@sis-begin ") {
            current = Some((step.trim().to_string(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("@@sis-end ") {
            let Some((step, lines)) = current.take() else {
                continue;
            };
            let times: Vec<u64> = rest
                .split_whitespace()
                .skip(1)
                .filter_map(|t| t.parse().ok())
                .collect();
            let micros = match times[..] {
                [t0, t1] if t1 >= t0 => Some(t1 - t0),
                _ => None,
            };
            match parse_response(&lines) {
                Some((status, body)) => steps.push((
                    step,
                    Answer {
                        status,
                        body,
                        micros,
                    },
                )),
                None => {
                    return Err(NoAnswer {
                        step,
                        text: no_answer_text(&lines),
                    })
                }
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((step, lines)) = current {
        return Err(NoAnswer {
            step,
            text: no_answer_text(&lines),
        });
    }
    Ok(steps)
}

fn no_answer_text(lines: &[&str]) -> String {
    let text = lines.join(" ").trim().to_string();
    if text.is_empty() {
        "no answer".to_string()
    } else {
        // bash says "bash: connect: No route to host" and "bash: line 5: /dev/tcp/…: …".
        text.replace("bash: ", "")
    }
}

/// An HTTP/1.x response's status and body (after the blank line), trimmed.
fn parse_response(lines: &[&str]) -> Option<(u16, String)> {
    let first = lines.iter().position(|l| l.starts_with("HTTP/"))?;
    let status = lines[first].split_whitespace().nth(1)?.parse().ok()?;
    let body = lines[first..]
        .iter()
        .skip_while(|l| !l.trim().is_empty())
        .skip(1)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    Some((status, body.trim().to_string()))
}

/// The number of leaves of an etcd v2 tree (`GET /v2/keys/?recursive=true`).
pub fn count_etcd_keys(body: &str) -> Result<u64, serde_json::Error> {
    fn leaves(node: &serde_json::Value) -> u64 {
        match node.get("nodes").and_then(|n| n.as_array()) {
            Some(children) => children.iter().map(leaves).sum(),
            None if node.get("dir").and_then(|d| d.as_bool()) == Some(true) => 0,
            None => 1,
        }
    }
    let v: serde_json::Value = serde_json::from_str(body)?;
    Ok(v.get("node").map(leaves).unwrap_or(0))
}

/// The number of keys consul lists (`GET /v1/kv/?keys`: a JSON array; 404 when none).
pub fn count_consul_keys(status: u16, body: &str) -> Result<u64, serde_json::Error> {
    if status == 404 {
        return Ok(0);
    }
    let keys: Vec<String> = serde_json::from_str(body)?;
    Ok(keys.len() as u64)
}

/// Short text of a body for a message: its first line, at most 120 characters.
fn excerpt(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return "empty body".to_string();
    }
    line.chars().take(120).collect()
}

/// Judges the steps' answers into a probe (its `kind`, `address`, `via` set by the caller).
pub fn judge(kind: KvKind, nonce: &str, output: &str) -> KvStoreProbe {
    let mut probe = KvStoreProbe::default();
    let steps = match parse_output(output) {
        Ok(steps) => steps,
        Err(NoAnswer { step, text }) => {
            probe.error = Some(if step == "connect" {
                text
            } else {
                format!("no answer to the {step} request: {text}")
            });
            return probe;
        }
    };
    let mut error: Option<String> = None;
    let mut fail = |e: String| {
        if error.is_none() {
            error = Some(e);
        }
    };
    for (step, a) in &steps {
        let bad = |what: &str| format!("{step}: {what} (HTTP {}: {})", a.status, excerpt(&a.body));
        match (kind, step.as_str()) {
            (KvKind::Etcd, "health") => {
                let ok = serde_json::from_str::<serde_json::Value>(&a.body)
                    .ok()
                    .and_then(|v| v.get("health").cloned())
                    .is_some_and(|h| h == "true" || h == true);
                if !ok {
                    fail(bad("etcd says it is not healthy"));
                }
            }
            (KvKind::Consul, "health") => {
                let leader = a.body.trim().trim_matches('"');
                if a.status != 200 || leader.is_empty() {
                    fail(bad("consul has no leader"));
                }
            }
            (KvKind::Etcd, "keys") if a.status == 404 => fail(bad(
                "no v2 API, which dockerd and classic Swarm use: etcd 3.4 and later serve it with --enable-v2",
            )),
            (KvKind::Etcd, "keys") => match count_etcd_keys(&a.body) {
                Ok(n) if a.status == 200 => probe.keys = Some(n),
                Ok(_) => fail(bad("cannot list the keys")),
                Err(e) => fail(bad(&format!("unreadable key list: {e}"))),
            },
            (KvKind::Consul, "keys") => match count_consul_keys(a.status, &a.body) {
                Ok(n) if a.status == 200 || a.status == 404 => probe.keys = Some(n),
                Ok(_) => fail(bad("cannot list the keys")),
                Err(e) => fail(bad(&format!("unreadable key list: {e}"))),
            },
            (_, "write") => {
                probe.write_us = a.micros;
                if !(200..300).contains(&a.status) {
                    fail(bad("the probe key was not written"));
                }
            }
            (_, "read") => {
                probe.read_us = a.micros;
                let value = match kind {
                    KvKind::Consul => Some(a.body.trim().to_string()),
                    KvKind::Etcd => serde_json::from_str::<serde_json::Value>(&a.body)
                        .ok()
                        .and_then(|v| v["node"]["value"].as_str().map(String::from)),
                };
                if a.status != 200 || value.as_deref() != Some(nonce) {
                    fail(bad("the probe key did not read back as written"));
                }
            }
            (_, "delete") => {
                probe.delete_us = a.micros;
                if !(200..300).contains(&a.status) {
                    fail(bad("the probe key was not deleted"));
                }
            }
            _ => {}
        }
    }
    if steps.len() < 5 && error.is_none() {
        error = Some(format!("the probe stopped after {} requests", steps.len()));
    }
    probe.healthy = error.is_none();
    probe.error = error;
    probe
}

/// Probes the spec's K/V store from the first running node; `None` when the spec has no
/// K/V store or no node runs.
pub async fn probe_kvstore<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    observed: &Observed,
) -> Option<KvStoreProbe> {
    let kv = spec.kvstore.as_ref()?;
    let (host, node) = crate::observe_classic::first_running_node(spec, observed)?;
    let address = AddressPlan::of(spec).kvstore().to_string();
    let port = port(kv.kind);
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let cmd = command(&address, port, &requests(kv.kind, &nonce));
    let mut probe = match hosts[&host].exec(&node, cmd, PROBE_TIMEOUT).await {
        Ok(out) => judge(kv.kind, &nonce, &out.stdout),
        Err(EngineError::Timeout { seconds, .. }) => KvStoreProbe {
            error: Some(format!(
                "the probe in node {node} did not finish within {seconds} s"
            )),
            ..KvStoreProbe::default()
        },
        Err(e) => KvStoreProbe {
            error: Some(format!(
                "the probe in node {node} failed: {}",
                error_chain(&e)
            )),
            ..KvStoreProbe::default()
        },
    };
    probe.kind = match kv.kind {
        KvKind::Etcd => "etcd",
        KvKind::Consul => "consul",
    }
    .to_string();
    probe.address = format!("{address}:{port}");
    probe.via = node;
    Some(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, t0: u64, t1: u64, response: &str) -> String {
        format!("@@sis-begin {name}\n{response}\n@@sis-end {name} {t0} {t1}\n")
    }

    fn http(status: &str, body: &str) -> String {
        format!("HTTP/1.0 {status}\r\nContent-Type: application/json\r\nDate: x\r\n\r\n{body}")
    }

    const TREE: &str = r#"{"action":"get","node":{"dir":true,"nodes":[
        {"key":"/docker","dir":true,"nodes":[{"key":"/docker/nodes","dir":true,"nodes":[
            {"key":"/docker/nodes/10.9.0.16:2375","value":"10.9.0.16:2375"},
            {"key":"/docker/nodes/10.9.0.17:2375","value":"10.9.0.17:2375"}]}]},
        {"key":"/empty","dir":true},
        {"key":"/top","value":"1"}]}}"#;

    fn etcd_output(nonce: &str) -> String {
        [
            step("health", 10, 1_010, &http("200 OK", r#"{"health":"true"}"#)),
            step("keys", 2_000, 3_500, &http("200 OK", TREE)),
            step("write", 4_000, 6_500, &http("201 Created", "{}")),
            step(
                "read",
                7_000,
                7_800,
                &http(
                    "200 OK",
                    &format!(r#"{{"action":"get","node":{{"value":"{nonce}"}}}}"#),
                ),
            ),
            step("delete", 8_000, 9_200, &http("200 OK", "{}")),
        ]
        .concat()
    }

    #[test]
    fn a_healthy_etcd_gives_keys_and_latencies() {
        let p = judge(KvKind::Etcd, "n1", &etcd_output("n1"));
        assert!(p.healthy, "{p:?}");
        assert_eq!(p.error, None);
        assert_eq!(p.keys, Some(3));
        assert_eq!(
            (p.write_us, p.read_us, p.delete_us),
            (Some(2_500), Some(800), Some(1_200))
        );
    }

    #[test]
    fn a_key_read_back_wrong_is_unhealthy() {
        let p = judge(KvKind::Etcd, "n2", &etcd_output("n1"));
        assert!(!p.healthy);
        assert!(p
            .error
            .unwrap()
            .starts_with("read: the probe key did not read back"));
    }

    #[test]
    fn etcd_without_v2_says_to_enable_it() {
        let out = [
            step("health", 0, 1, &http("200 OK", r#"{"health":"true"}"#)),
            step("keys", 0, 1, &http("404 Not Found", "404 page not found")),
        ]
        .concat();
        let p = judge(KvKind::Etcd, "n", &out);
        assert!(!p.healthy);
        let e = p.error.unwrap();
        assert!(e.contains("--enable-v2") && e.contains("HTTP 404"), "{e}");
    }

    #[test]
    fn no_connection_is_reported_with_what_the_node_said() {
        let out = "@@sis-begin health\nbash: connect: No route to host\n\
bash: line 5: /dev/tcp/10.9.0.2/2379: No route to host\n";
        let p = judge(KvKind::Etcd, "n", out);
        assert!(!p.healthy);
        assert_eq!(
            p.error.unwrap(),
            "no answer to the health request: connect: No route to host \
line 5: /dev/tcp/10.9.0.2/2379: No route to host"
        );
        assert_eq!(p.keys, None);
    }

    #[test]
    fn consul_without_a_leader_is_unhealthy_and_its_keys_are_counted() {
        let out = [
            step("health", 0, 5, &http("200 OK", r#""""#)),
            step(
                "keys",
                0,
                5,
                &http("200 OK", r#"["docker/nodes/a","swarm/x"]"#),
            ),
            step("write", 0, 5, &http("200 OK", "true")),
            step("read", 0, 5, &http("200 OK", "n")),
            step("delete", 0, 5, &http("200 OK", "true")),
        ]
        .concat();
        let p = judge(KvKind::Consul, "n", &out);
        assert_eq!(p.keys, Some(2));
        assert!(!p.healthy);
        assert!(p.error.unwrap().contains("consul has no leader"));
        assert_eq!(count_consul_keys(404, "").unwrap(), 0);
    }

    #[test]
    fn a_clock_that_did_not_read_gives_no_latency() {
        // busybox date without %N support prints "%N" literally.
        let out =
            etcd_output("n").replace("@@sis-end write 4000 6500", "@@sis-end write 17%N 17%N");
        let p = judge(KvKind::Etcd, "n", &out);
        assert!(p.healthy);
        assert_eq!(p.write_us, None);
        assert_eq!(p.read_us, Some(800));
    }

    #[test]
    fn the_requests_write_under_the_probe_prefix_only() {
        for kind in [KvKind::Etcd, KvKind::Consul] {
            let reqs = requests(kind, "n");
            assert_eq!(reqs.len(), 5);
            for r in reqs.iter().filter(|r| r.method != "GET") {
                assert!(r.path.contains("/sis-probe/n"), "{r:?}");
            }
        }
        let cmd = command("10.9.0.2", 2379, &requests(KvKind::Etcd, "n"));
        assert!(cmd[4].contains("H=10.9.0.2; P=2379"));
        assert!(cmd[4].contains("req write PUT '/v2/keys/sis-probe/n' 'value=n&ttl=60'"));
        assert!(cmd[5].contains("nc -w 5"));
    }
}
