//! `sis report`: one self-contained HTML page of a watched run (inline SVG, no script, no
//! network at view time): Ready nodes per host, managers and leader changes, API latency,
//! CPU, memory and disk per host, fault windows shaded on every chart.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::report_svg::{chart, escape, Mark, Series, Window, PALETTE};
use crate::cli::ReportArgs;
use crate::exit::CliResult;
use crate::runlog;

pub fn report(args: ReportArgs) -> CliResult {
    let text =
        std::fs::read_to_string(&args.run).map_err(|e| format!("{}: {e}", args.run.display()))?;
    let run = Run::parse(&text).map_err(|e| format!("{}: {e}", args.run.display()))?;
    let html = run.html();
    std::fs::write(&args.out, html).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "{}: {} samples over {:.0} s, {} fault(s), {} leader change(s)",
        args.out.display(),
        run.samples.len(),
        run.span(),
        run.faults.len(),
        run.leader_changes.len()
    );
    Ok(())
}

#[derive(Debug, Default)]
struct Run {
    cluster: String,
    t0: f64,
    samples: Vec<(f64, Value)>,
    leader_changes: Vec<(f64, String)>,
    /// id → (kind and detail, start, end).
    faults: BTreeMap<String, (String, f64, Option<f64>)>,
}

impl Run {
    fn parse(text: &str) -> Result<Run, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, first) = lines.next().ok_or("empty file: no header line")?;
        let header: Value = serde_json::from_str(first).map_err(|e| format!("line 1: {e}"))?;
        if header["format"] != runlog::FORMAT {
            return Err(format!(
                "line 1: not a sis run file (format {:?}, expected {:?})",
                header["format"],
                runlog::FORMAT
            ));
        }
        if header["version"].as_u64() != Some(u64::from(runlog::VERSION)) {
            return Err(format!(
                "line 1: version {} of the run format is not known (this sis reads {})",
                header["version"],
                runlog::VERSION
            ));
        }
        let mut run = Run {
            cluster: header["cluster"].as_str().unwrap_or("").to_string(),
            t0: f64::MAX,
            ..Run::default()
        };
        for (i, line) in lines {
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            let t = v["t"]
                .as_f64()
                .ok_or_else(|| format!("line {}: no time `t`", i + 1))?;
            run.t0 = run.t0.min(t);
            match v["type"].as_str() {
                Some("sample") => run.samples.push((t, v)),
                Some("leader_change") => run
                    .leader_changes
                    .push((t, v["to"].as_str().unwrap_or("none").to_string())),
                Some("fault_start") => {
                    let id = v["id"].as_str().unwrap_or("").to_string();
                    let what = format!(
                        "{} {}",
                        id,
                        v["detail"]
                            .as_str()
                            .unwrap_or(v["kind"].as_str().unwrap_or(""))
                    );
                    let entry = run.faults.entry(id).or_insert((what, t, None));
                    entry.1 = entry.1.min(t);
                }
                Some("fault_end") => {
                    let id = v["id"].as_str().unwrap_or("").to_string();
                    if let Some(f) = run.faults.get_mut(&id) {
                        // The first end seen: chaos's own, or the marker's disappearance.
                        f.2 = Some(f.2.map_or(t, |e: f64| e.min(t)));
                    }
                }
                _ => {}
            }
        }
        if run.t0 == f64::MAX {
            run.t0 = 0.0;
        }
        Ok(run)
    }

    fn span(&self) -> f64 {
        let last = self.samples.last().map(|s| s.0).unwrap_or(self.t0);
        let ends = self.faults.values().map(|f| f.2.unwrap_or(f.1));
        ends.fold(last, f64::max) - self.t0
    }

    fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for (_, s) in &self.samples {
            if let Some(map) = s["hosts"].as_object() {
                for h in map.keys() {
                    if !hosts.contains(h) {
                        hosts.push(h.clone());
                    }
                }
            }
        }
        hosts
    }

    fn series(
        &self,
        name: &str,
        color: &str,
        dashed: bool,
        f: impl Fn(&Value) -> Option<f64>,
    ) -> Series {
        Series {
            name: name.to_string(),
            color: color.to_string(),
            dashed,
            points: self
                .samples
                .iter()
                .map(|(t, v)| (t - self.t0, f(v)))
                .collect(),
        }
    }

    fn per_host(&self, key: &str, scale: f64) -> Vec<Series> {
        self.hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                self.series(h, PALETTE[i % PALETTE.len()], false, |v| {
                    v["hosts"][h][key].as_f64().map(|x| x * scale)
                })
            })
            .collect()
    }

    fn html(&self) -> String {
        let span = self.span();
        let end = self.t0 + span;
        let windows: Vec<Window> = self
            .faults
            .values()
            .map(|(what, s, e)| Window {
                from: s - self.t0,
                to: e.unwrap_or(end) - self.t0,
                label: what.clone(),
            })
            .collect();
        let marks: Vec<Mark> = self
            .leader_changes
            .iter()
            .map(|(t, to)| Mark {
                at: t - self.t0,
                label: format!("leader → {}", short(to)),
            })
            .collect();
        let mut ready = self.per_host("ready", 1.0);
        ready.push(self.series("down (all hosts)", "#000", true, |v| {
            v["hosts"]
                .as_object()
                .map(|m| m.values().filter_map(|h| h["down"].as_f64()).sum())
        }));
        let charts = [
            chart(
                "Ready swarm2 nodes per host",
                "nodes",
                span,
                &ready,
                &windows,
                &marks,
            ),
            chart(
                "swarm2 managers: listed and answering (leader changes marked)",
                "managers",
                span,
                &[
                    self.series("managers", "#999", true, |v| v["managers"].as_f64()),
                    self.series("answering", "#542788", false, |v| {
                        v["managers_reachable"].as_f64()
                    }),
                ],
                &windows,
                &marks,
            ),
            chart(
                "Manager API latency (docker node ls)",
                "ms",
                span,
                &[
                    self.series("p50", "#1f77b4", false, |v| v["api_ms"]["p50"].as_f64()),
                    self.series("p99", "#d62728", false, |v| v["api_ms"]["p99"].as_f64()),
                    self.series("whole look at swarm2", "#777", true, |v| {
                        v["swarm2_ms"].as_f64()
                    }),
                ],
                &windows,
                &marks,
            ),
            chart(
                "Host CPU busy",
                "%",
                span,
                &self.per_host("cpu_pct", 1.0),
                &windows,
                &[],
            ),
            chart(
                "Host memory used",
                "%",
                span,
                &self.per_host("mem_used_pct", 1.0),
                &windows,
                &[],
            ),
            chart(
                "Free disk where the nodes' volumes live",
                "GiB",
                span,
                &self.per_host("disk_free_bytes", 1.0 / (1u64 << 30) as f64),
                &windows,
                &[],
            ),
        ];
        let mut h = String::new();
        let _ = write!(
            h,
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sis run of {c}</title>
<style>body{{font-family:sans-serif;margin:20px;color:#222}} svg{{display:block;margin:10px 0;border:1px solid #eee}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}</style>
</head><body>
<h1>sis run of cluster {c}</h1>
<p>{n} samples over {span:.0} s; {f} fault(s) shaded; {l} leader change(s) marked.</p>
"#,
            c = escape(&self.cluster),
            n = self.samples.len(),
            f = self.faults.len(),
            l = self.leader_changes.len(),
        );
        if !self.faults.is_empty() {
            h.push_str("<table><tr><th>fault</th><th>from (s)</th><th>to (s)</th></tr>\n");
            let mut by_start: Vec<_> = self.faults.values().collect();
            by_start.sort_by(|a, b| a.1.total_cmp(&b.1));
            for (what, s, e) in by_start {
                let to = e
                    .map(|e| format!("{:.0}", e - self.t0))
                    .unwrap_or_else(|| "still active".into());
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{:.0}</td><td>{to}</td></tr>",
                    escape(what),
                    s - self.t0
                );
            }
            h.push_str("</table>\n");
        }
        for c in charts {
            h.push_str(&c);
        }
        h.push_str("</body></html>\n");
        h
    }
}

/// A node name without its cluster prefix.
fn short(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = r#"{"format":"sis-run","version":1,"cluster":"c"}
{"type":"leader_change","from":null,"to":"c.local-1","t":100.0}
{"type":"sample","t":100.0,"hosts":{"local":{"ready":5,"down":0,"cpu_pct":10.0}},"managers":3,"managers_reachable":3,"leader":"c.local-1","api_ms":{"p50":20.0,"p99":30.0,"n":3}}
{"type":"fault_start","id":"f1","kind":"kill","targets":["c.local-1"],"detail":"kill leader","t":101.0}
{"type":"fault_start","id":"f1","kind":"kill","targets":["c.local-1"],"detail":"kill leader","seen":"marker","t":103.0}
{"type":"sample","t":105.0,"hosts":{"local":{"ready":4,"down":1,"cpu_pct":40.0}},"managers":3,"managers_reachable":2,"leader":null,"api_ms":{"p50":null,"p99":null,"n":0}}
{"type":"leader_change","from":"c.local-1","to":"c.local-2","t":110.0}
{"type":"fault_end","id":"f1","t":112.0}
{"type":"sample","t":115.0,"hosts":{"local":{"ready":5,"down":0,"cpu_pct":12.0}},"managers":3,"managers_reachable":3,"leader":"c.local-2","api_ms":{"p50":22.0,"p99":50.0,"n":3}}
"#;

    #[test]
    fn a_run_becomes_one_page_with_its_faults_and_leaders() {
        let run = Run::parse(RUN).unwrap();
        assert_eq!(run.samples.len(), 3);
        assert_eq!(
            run.faults.len(),
            1,
            "chaos's event and the marker's are one fault"
        );
        assert_eq!(run.faults["f1"].1, 101.0);
        assert_eq!(run.faults["f1"].2, Some(112.0));
        assert_eq!(run.leader_changes.len(), 2);
        let html = run.html();
        assert_eq!(html.matches("<svg").count(), 6);
        assert!(html.contains("leader → local-2"));
        assert!(
            !html.contains("<script") && !html.contains("http://")
                || html.matches("http://").count()
                    == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        assert!(Run::parse("").unwrap_err().contains("empty"));
        assert!(Run::parse("{\"format\":\"x\"}")
            .unwrap_err()
            .contains("not a sis run file"));
        assert!(Run::parse("{\"format\":\"sis-run\",\"version\":9}")
            .unwrap_err()
            .contains("version 9"));
        let bad = "{\"format\":\"sis-run\",\"version\":1}\n{nope\n";
        assert!(Run::parse(bad).unwrap_err().starts_with("line 2:"));
    }
}
