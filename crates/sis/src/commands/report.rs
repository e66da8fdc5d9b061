//! `sis report`: one self-contained HTML page of a watched run (inline SVG, no script, no
//! network at view time): Ready nodes per host, managers and leader changes, API latency,
//! CPU, memory and disk per host, fault windows shaded on every chart.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::report_svg::{chart, escape, waterfall, Bar, Mark, Series, Window, PALETTE, STEPS};
use crate::cli::ReportArgs;
use crate::exit::CliResult;
use crate::runlog;

pub fn report(args: ReportArgs) -> CliResult {
    let mut run = Run::new();
    for path in &args.runs {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        run.add(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    run.finish();
    let html = run.html();
    std::fs::write(&args.out, html).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "{}: {} samples, {} apply run(s) with {} node timeline(s), over {:.0} s; {} fault(s), \
         {} leader change(s)",
        args.out.display(),
        run.samples.len(),
        run.applies.len(),
        run.bars.len(),
        run.span(),
        run.faults.len(),
        run.leader_changes.len()
    );
    Ok(())
}

/// A node's milestones in one apply, seconds since the epoch.
#[derive(Debug, Default, Clone)]
struct NodeRun {
    node: String,
    create: Option<f64>,
    dockerd_ready: Option<f64>,
    joined: Option<f64>,
    ready: Option<f64>,
}

/// An apply run: when, how long, how it ended.
#[derive(Debug, Clone)]
struct ApplyRun {
    t: f64,
    seconds: f64,
    ending: String,
}

/// A phase of an apply: when it started, pass, title, actions, wall seconds.
#[derive(Debug, Clone)]
struct PhaseRun {
    t: f64,
    pass: u64,
    phase: String,
    actions: u64,
    seconds: f64,
}

#[derive(Debug, Default)]
struct Run {
    clusters: Vec<String>,
    t0: f64,
    samples: Vec<(f64, Value)>,
    leader_changes: Vec<(f64, String)>,
    /// id → (kind and detail, start, end).
    faults: BTreeMap<String, (String, f64, Option<f64>)>,
    applies: Vec<ApplyRun>,
    phases: Vec<PhaseRun>,
    bars: Vec<NodeRun>,
}

impl Run {
    fn new() -> Run {
        Run {
            t0: f64::MAX,
            ..Run::default()
        }
    }

    #[cfg(test)]
    fn parse(text: &str) -> Result<Run, String> {
        let mut run = Run::new();
        run.add(text)?;
        run.finish();
        Ok(run)
    }

    /// Adds one run file's records.
    fn add(&mut self, text: &str) -> Result<(), String> {
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
        let cluster = header["cluster"].as_str().unwrap_or("").to_string();
        if !self.clusters.contains(&cluster) {
            self.clusters.push(cluster);
        }
        // This file's node → its latest bar in `self.bars`: a `create` starts a new one.
        let mut latest: BTreeMap<String, usize> = BTreeMap::new();
        for (i, line) in lines {
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            let t = v["t"]
                .as_f64()
                .ok_or_else(|| format!("line {}: no time `t`", i + 1))?;
            self.t0 = self.t0.min(t);
            match v["type"].as_str() {
                Some("sample") => self.samples.push((t, v)),
                Some("leader_change") => self
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
                    let entry = self.faults.entry(id).or_insert((what, t, None));
                    entry.1 = entry.1.min(t);
                }
                Some("fault_end") => {
                    let id = v["id"].as_str().unwrap_or("").to_string();
                    if let Some(f) = self.faults.get_mut(&id) {
                        // The first end seen: chaos's own, or the marker's disappearance.
                        f.2 = Some(f.2.map_or(t, |e: f64| e.min(t)));
                    }
                }
                Some("apply") => self.applies.push(ApplyRun {
                    t,
                    seconds: v["seconds"].as_f64().unwrap_or(0.0),
                    ending: v["ending"].as_str().unwrap_or("").to_string(),
                }),
                Some("phase") => self.phases.push(PhaseRun {
                    t,
                    pass: v["pass"].as_u64().unwrap_or(1),
                    phase: v["phase"].as_str().unwrap_or("").to_string(),
                    actions: v["actions"].as_u64().unwrap_or(0),
                    seconds: v["seconds"].as_f64().unwrap_or(0.0),
                }),
                Some("node") => {
                    let node = v["node"].as_str().unwrap_or("").to_string();
                    let milestone = v["milestone"].as_str().unwrap_or("");
                    let index = match latest.get(&node) {
                        Some(&i) if milestone != "create" => i,
                        _ => {
                            self.bars.push(NodeRun {
                                node: node.clone(),
                                ..NodeRun::default()
                            });
                            latest.insert(node, self.bars.len() - 1);
                            self.bars.len() - 1
                        }
                    };
                    let bar = &mut self.bars[index];
                    let slot = match milestone {
                        "create" => &mut bar.create,
                        "dockerd_ready" => &mut bar.dockerd_ready,
                        "joined" => &mut bar.joined,
                        "ready" => &mut bar.ready,
                        _ => continue,
                    };
                    *slot = Some(t);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// After the last file: everything in time order.
    fn finish(&mut self) {
        if self.t0 == f64::MAX {
            self.t0 = 0.0;
        }
        self.samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.leader_changes.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.applies.sort_by(|a, b| a.t.total_cmp(&b.t));
        self.phases.sort_by(|a, b| a.t.total_cmp(&b.t));
    }

    fn span(&self) -> f64 {
        let last = self.samples.last().map(|s| s.0).unwrap_or(self.t0);
        let ends = self.faults.values().map(|f| f.2.unwrap_or(f.1));
        let applies = self.applies.iter().map(|a| a.t + a.seconds);
        let bars = self
            .bars
            .iter()
            .flat_map(|b| [b.create, b.dockerd_ready, b.joined, b.ready])
            .flatten();
        ends.chain(applies).chain(bars).fold(last, f64::max) - self.t0
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
        let mut marks: Vec<Mark> = self
            .leader_changes
            .iter()
            .map(|(t, to)| Mark {
                at: t - self.t0,
                label: format!("leader → {}", short(to)),
            })
            .collect();
        marks.extend(self.applies.iter().map(|a| Mark {
            at: a.t - self.t0,
            label: if a.ending == "converged" {
                "apply".to_string()
            } else {
                format!("apply ({})", a.ending)
            },
        }));
        let bars: Vec<Bar> = self
            .bars
            .iter()
            .map(|b| {
                let at = |t: Option<f64>| t.map(|t| t - self.t0);
                Bar {
                    label: short(&b.node).to_string(),
                    create: at(b.create),
                    dockerd_ready: at(b.dockerd_ready),
                    joined: at(b.joined),
                    ready: at(b.ready),
                }
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
<style>body{{font-family:sans-serif;margin:20px;color:#222}} svg{{display:block;margin:10px 0;border:1px solid #eee}} table{{border-collapse:collapse;margin:8px 0}} td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}}</style>
</head><body>
<h1>sis run of cluster {c}</h1>
<p>{n} samples over {span:.0} s; {a} apply run(s), {b} node timeline(s); {f} fault(s) shaded; {l} leader change(s) marked.</p>
"#,
            c = escape(&self.clusters.join(", ")),
            n = self.samples.len(),
            a = self.applies.len(),
            b = self.bars.len(),
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
        if !bars.is_empty() {
            h.push_str(&waterfall(
                "Apply: a bar per node, sorted by start (create → dockerd ready → joined → Ready)",
                span,
                &bars,
                &windows,
                &marks,
            ));
            h.push_str(&self.apply_tables(&bars));
        }
        if self.samples.is_empty() {
            h.push_str("</body></html>\n");
            return h;
        }
        for c in charts {
            h.push_str(&c);
        }
        h.push_str("</body></html>\n");
        h
    }
}

impl Run {
    /// The applies' phases and, per step, p50/p90/max over the nodes.
    fn apply_tables(&self, bars: &[Bar]) -> String {
        let mut h = String::from(
            "<table><tr><th>apply at (s)</th><th>pass</th><th>phase</th><th>actions</th>\
             <th>wall s</th></tr>\n",
        );
        for p in &self.phases {
            let _ = writeln!(
                h,
                "<tr><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
                p.t - self.t0,
                p.pass,
                escape(&p.phase),
                p.actions,
                p.seconds
            );
        }
        h.push_str(
            "</table>\n<table><tr><th>per node (s)</th><th>nodes</th><th>p50</th><th>p90</th>\
             <th>max</th></tr>\n",
        );
        for (name, _, ends) in STEPS {
            let mut d: Vec<f64> = bars.iter().filter_map(ends).map(|(a, z)| z - a).collect();
            if d.is_empty() {
                continue;
            }
            d.sort_by(f64::total_cmp);
            let at = |q: f64| d[((q * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1];
            let _ = writeln!(
                h,
                "<tr><td>{name}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
                d.len(),
                at(0.5),
                at(0.9),
                d[d.len() - 1]
            );
        }
        h.push_str("</table>\n");
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

    const APPLY: &str = r#"{"format":"sis-run","version":1,"cluster":"c"}
{"type":"apply","t":90.0,"seconds":12.5,"file":"c.yaml","ending":"converged","passes":1}
{"type":"phase","t":90.5,"pass":1,"phase":"create nodes","actions":2,"seconds":3.0}
{"type":"node","t":91.0,"node":"c.local-2","milestone":"create"}
{"type":"node","t":90.6,"node":"c.local-1","milestone":"create"}
{"type":"node","t":92.0,"node":"c.local-1","milestone":"dockerd_ready"}
{"type":"node","t":92.5,"node":"c.local-2","milestone":"dockerd_ready"}
{"type":"node","t":93.0,"node":"c.local-1","milestone":"joined"}
{"type":"node","t":95.0,"node":"c.local-1","milestone":"ready"}
{"type":"node","t":120.0,"node":"c.local-1","milestone":"create"}
"#;

    #[test]
    fn an_apply_and_a_watch_merge_on_one_time_axis() {
        let mut run = Run::new();
        run.add(RUN).unwrap();
        run.add(APPLY).unwrap();
        run.finish();
        assert_eq!(run.t0, 90.0, "the earliest record of either file");
        assert_eq!(run.span(), 30.0, "to the last milestone");
        assert_eq!(run.samples.len(), 3);
        assert_eq!(run.applies.len(), 1);
        assert_eq!(run.bars.len(), 3, "a create starts a new bar of the node");
        let first = &run.bars[1];
        assert_eq!(first.node, "c.local-1");
        assert_eq!(
            (first.create, first.dockerd_ready, first.joined, first.ready),
            (Some(90.6), Some(92.0), Some(93.0), Some(95.0))
        );
        let html = run.html();
        assert_eq!(
            html.matches("<svg").count(),
            7,
            "the waterfall and six charts"
        );
        assert!(html.contains(">apply<"));
        assert!(html.contains("<td>create nodes</td>"));
        // An apply file alone: the waterfall, no empty charts.
        let alone = Run::parse(APPLY).unwrap().html();
        assert_eq!(alone.matches("<svg").count(), 1);
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
