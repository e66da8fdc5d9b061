//! Time-series charts as inline SVG, written by hand: a few polylines, axes and shaded
//! windows need no plotting library, and the page must open offline with no script.

use std::fmt::Write;

pub const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// One line of a chart; `None` values break it.
pub struct Series {
    pub name: String,
    pub color: String,
    pub dashed: bool,
    pub points: Vec<(f64, Option<f64>)>,
}

/// A shaded time window (a fault) and a labelled instant (a leader change).
pub struct Window {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

pub struct Mark {
    pub at: f64,
    pub label: String,
}

const W: f64 = 1200.0;
const H: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 40.0;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart over seconds `0..span`; `y_unit` labels the axis.
pub fn chart(
    title: &str,
    y_unit: &str,
    span: f64,
    series: &[Series],
    windows: &[Window],
    marks: &[Mark],
) -> String {
    let span = span.max(1.0);
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(0.0f64, f64::max);
    // Percentages keep their scale, so that charts compare at a glance; other axes get four
    // round steps (nodes 0, 5, 10, 15, 20; not 12.5, 37.5).
    let ymax = if y_unit == "%" {
        100.0
    } else {
        4.0 * nice_ceiling(ymax.max(1.0) * 1.05 / 4.0).max(1.0)
    };
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x = |t: f64| LEFT + pw * (t / span).clamp(0.0, 1.0);
    let y = |v: f64| TOP + ph * (1.0 - (v / ymax).clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}">
<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>
<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{t}</text>
"##,
        t = escape(title)
    );
    for w in windows {
        let (x0, x1) = (x(w.from), x(w.to.max(w.from)));
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{ph}" fill="#f4a582" fill-opacity="0.35"><title>{}</title></rect><text x="{:.1}" y="{:.1}" font-size="10" fill="#b2182b">{}</text>"##,
            (x1 - x0).max(1.0),
            escape(&w.label),
            x0 + 2.0,
            TOP + 10.0,
            escape(&fit(&w.label, x1 - x0))
        );
    }
    // Grid and axes.
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            fmt_num(v)
        );
    }
    let step = nice_ceiling(span / 8.0).max(1.0);
    let mut t = 0.0;
    while t <= span + 0.001 {
        let xx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#999"/><text x="{xx:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 4.0,
            TOP + ph + 17.0,
            fmt_num(t)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">seconds</text><text x="14" y="{:.1}" font-size="11" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"##,
        TOP + ph,
        TOP + ph,
        W - RIGHT,
        TOP + ph,
        W - RIGHT,
        H - 6.0,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        escape(y_unit)
    );
    for m in marks {
        let xx = x(m.at);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#542788" stroke-dasharray="2,2"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#542788">{}</text>"##,
            TOP + ph,
            xx + 3.0,
            TOP + ph - 4.0,
            escape(&m.label)
        );
    }
    for se in series {
        let dash = if se.dashed {
            r#" stroke-dasharray="6,3""#
        } else {
            ""
        };
        for run in se.points.split(|p| p.1.is_none()).filter(|r| !r.is_empty()) {
            let pts: Vec<String> = run
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(v.unwrap_or(0.0))))
                .collect();
            if pts.len() == 1 {
                let (px, py) = pts[0].split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    s,
                    r#"<circle cx="{px}" cy="{py}" r="2.5" fill="{}"/>"#,
                    se.color
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
                    se.color,
                    pts.join(" ")
                );
            }
        }
    }
    // Legend, top right.
    let mut lx = W - RIGHT;
    for se in series.iter().rev() {
        let width = 24.0 + 7.0 * se.name.chars().count() as f64;
        lx -= width + 10.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="16" x2="{:.1}" y2="16" stroke="{}" stroke-width="3"/><text x="{:.1}" y="20" font-size="11">{}</text>"#,
            lx + 18.0,
            se.color,
            lx + 22.0,
            escape(&se.name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One node's timeline in an apply, in seconds on the page's axis; `None`: not reached.
pub struct Bar {
    pub label: String,
    pub create: Option<f64>,
    pub dockerd_ready: Option<f64>,
    pub joined: Option<f64>,
    pub ready: Option<f64>,
}

impl Bar {
    fn start(&self) -> Option<f64> {
        self.create
            .or(self.dockerd_ready)
            .or(self.joined)
            .or(self.ready)
    }
}

/// The steps of a bar: name, colour, and its two ends.
type Step = (&'static str, &'static str, fn(&Bar) -> Option<(f64, f64)>);

pub const STEPS: [Step; 3] = [
    ("create → dockerd ready", "#4393c3", |b| {
        Some((b.create?, b.dockerd_ready?))
    }),
    ("dockerd ready → joined", "#e08214", |b| {
        Some((b.dockerd_ready?, b.joined?))
    }),
    ("joined → Ready", "#1b7837", |b| {
        Some((b.joined?, b.ready?))
    }),
];

/// A waterfall over seconds `0..span`: a row per node, sorted by start, each step a segment;
/// the same time axis, fault windows and marks as [`chart`].
pub fn waterfall(
    title: &str,
    span: f64,
    bars: &[Bar],
    windows: &[Window],
    marks: &[Mark],
) -> String {
    let span = span.max(1.0);
    let mut rows: Vec<&Bar> = bars.iter().filter(|b| b.start().is_some()).collect();
    rows.sort_by(|a, b| {
        a.start()
            .unwrap_or(0.0)
            .total_cmp(&b.start().unwrap_or(0.0))
            .then_with(|| a.label.cmp(&b.label))
    });
    let n = rows.len().max(1) as f64;
    // Rows of 3 to 16 px, about 480 px in all: a thousand nodes still fit on a page.
    let rh = (480.0 / n).clamp(3.0, 16.0);
    let ph = rh * n;
    let h = TOP + ph + BOTTOM;
    let pw = W - LEFT - RIGHT;
    let x = |t: f64| LEFT + pw * (t / span).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{t}">
<rect x="0" y="0" width="{W}" height="{h}" fill="#fff"/>
<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{t}</text>
"##,
        t = escape(title)
    );
    for w in windows {
        let (x0, x1) = (x(w.from), x(w.to.max(w.from)));
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{ph:.1}" fill="#f4a582" fill-opacity="0.35"><title>{}</title></rect>"##,
            (x1 - x0).max(1.0),
            escape(&w.label),
        );
    }
    let step = nice_ceiling(span / 8.0).max(1.0);
    let mut t = 0.0;
    while t <= span + 0.001 {
        let xx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            TOP + ph + 4.0,
            TOP + ph + 17.0,
            fmt_num(t)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">seconds</text>"##,
        TOP + ph,
        W - RIGHT,
        TOP + ph,
        W - RIGHT,
        h - 6.0,
    );
    for (i, b) in rows.iter().enumerate() {
        let y0 = TOP + rh * i as f64;
        let bh = (rh - 1.0).max(2.0);
        if rh >= 9.0 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="{:.0}" text-anchor="end">{}</text>"##,
                LEFT - 4.0,
                y0 + bh - 1.0,
                (rh - 3.0).min(11.0),
                escape(&b.label)
            );
        }
        for (name, color, ends) in STEPS {
            if let Some((a, z)) = ends(b) {
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{y0:.1}" width="{:.1}" height="{bh:.1}" fill="{color}"><title>{}: {name} {:.2} s</title></rect>"##,
                    x(a),
                    (x(z) - x(a)).max(1.0),
                    escape(&b.label),
                    z - a
                );
            }
        }
    }
    for m in marks {
        let xx = x(m.at);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#542788" stroke-dasharray="2,2"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#542788">{}</text>"##,
            TOP + ph,
            xx + 3.0,
            TOP + ph - 4.0,
            escape(&m.label)
        );
    }
    let mut lx = W - RIGHT;
    for (name, color, _) in STEPS.iter().rev() {
        let width = 24.0 + 7.0 * name.chars().count() as f64;
        lx -= width + 10.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="10" width="18" height="10" fill="{color}"/><text x="{:.1}" y="20" font-size="11">{}</text>"#,
            lx + 22.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// `label` cut to what fits `width` pixels at 10 px (about 5.5 px a character), with an
/// ellipsis; the whole label is the window's tooltip.
fn fit(label: &str, width: f64) -> String {
    let room = ((width - 4.0) / 5.5).max(0.0) as usize;
    if label.chars().count() <= room {
        label.to_string()
    } else if room <= 1 {
        String::new()
    } else {
        let mut cut: String = label.chars().take(room - 1).collect();
        cut.push('…');
        cut
    }
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|c| *c >= v - 1e-9)
        .unwrap_or(10.0 * p)
}

fn fmt_num(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_plain_svg() {
        let s = chart(
            "a <b>",
            "n",
            60.0,
            &[Series {
                name: "x".into(),
                color: "#000".into(),
                dashed: false,
                points: vec![
                    (0.0, Some(1.0)),
                    (30.0, None),
                    (40.0, Some(2.0)),
                    (50.0, Some(3.0)),
                ],
            }],
            &[Window {
                from: 10.0,
                to: 20.0,
                label: "kill".into(),
            }],
            &[Mark {
                at: 15.0,
                label: "leader".into(),
            }],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert!(s.contains("a &lt;b&gt;"));
        assert_eq!(s.matches("<polyline").count(), 1, "a gap splits the line");
        assert_eq!(s.matches("<circle").count(), 1);
        assert!(!s.contains("<script"));
        assert_eq!(nice_ceiling(3.3), 5.0);
        assert_eq!(nice_ceiling(11.0), 20.0);
        assert_eq!(fit("kill leader", 200.0), "kill leader");
        assert_eq!(fit("kill node:a,node:b", 50.0), "kill no…");
    }

    #[test]
    fn a_waterfall_has_a_row_per_node_in_start_order() {
        let bar = |label: &str, c: f64| Bar {
            label: label.into(),
            create: Some(c),
            dockerd_ready: Some(c + 1.0),
            joined: Some(c + 1.5),
            ready: None,
        };
        let s = waterfall(
            "apply",
            10.0,
            &[bar("late", 5.0), bar("early", 1.0)],
            &[],
            &[],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert_eq!(s.matches("<rect x=").count() - 1 - 3, 4, "two steps a node");
        assert!(s.find(">early<").unwrap() < s.find(">late<").unwrap());
    }
}
