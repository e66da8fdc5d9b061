#!/usr/bin/env python3
"""plot-capacity.py CSV SVG — plots capacity.sh's rows (BENCH_CAP_CSV) as an SVG.

Left axis: the machine's idle CPU (busy cores) and the cluster's own (node cores) after each
step, with the 60 % line of the cores (capacity.sh's "calm") and the 40 % line at which
pacing stops adding nodes; right axis: each step's grow time (bars). No dependencies beyond
Python 3.
"""
import csv
import sys


def main(src, dst, cores=2.0):
    with open(src, newline="") as f:
        rows = [r for r in csv.DictReader(f)]
    steps = [r for r in rows if r["apply_s"] not in ("-", "hold", "fail", "stop")]
    steps = [r for r in steps if int(r["nodes"]) > 0]
    if not steps:
        sys.exit("no steps in " + src)
    hold = [r for r in rows if r["apply_s"] == "hold"]
    stopped = [r for r in rows if r["apply_s"] in ("fail", "stop")]
    w, h = 720, 420
    left, right, top, bottom = 70, 70, 50, 60
    pw, ph = w - left - right, h - top - bottom
    xmax = max(int(r["nodes"]) for r in rows) + 25
    ymax = cores
    tmax = max(float(r["apply_s"]) for r in steps) * 1.15

    def x(n):
        return left + pw * n / xmax

    def y(c):
        return top + ph * (1 - c / ymax)

    def yt(t):
        return top + ph * (1 - t / tmax)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">'
        f"sis apply in steps on {cores:g} cores: idle CPU and grow time</text>",
    ]
    # Grow time bars (right axis).
    bw = pw * 20 / xmax
    for r in steps:
        n, t = int(r["nodes"]), float(r["apply_s"])
        out.append(
            f'<rect x="{x(n) - bw / 2:.1f}" y="{yt(t):.1f}" width="{bw:.1f}" '
            f'height="{top + ph - yt(t):.1f}" fill="#cfe0f5"/>'
        )
        out.append(
            f'<text x="{x(n):.1f}" y="{yt(t) - 4:.1f}" text-anchor="middle" '
            f'fill="#4a78b0">{t:.0f} s</text>'
        )
    # Axes and grid.
    out.append(
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>'
    )
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>')
    out.append(
        f'<line x1="{left + pw}" y1="{top}" x2="{left + pw}" y2="{top + ph}" stroke="#4a78b0"/>'
    )
    for i in range(0, 5):
        c = ymax * i / 4
        out.append(
            f'<text x="{left - 6}" y="{y(c) + 4:.1f}" text-anchor="end">{c:.1f}</text>'
        )
        t = tmax * i / 4
        out.append(
            f'<text x="{left + pw + 6}" y="{yt(t) + 4:.1f}" fill="#4a78b0">{t:.0f}</text>'
        )
    for n in range(0, xmax, 50):
        out.append(
            f'<text x="{x(n):.1f}" y="{top + ph + 18}" text-anchor="middle">{n}</text>'
        )
    out.append(
        f'<text x="{left + pw / 2}" y="{h - 18}" text-anchor="middle">nodes in swarm2</text>'
    )
    out.append(
        f'<text x="18" y="{top + ph / 2}" transform="rotate(-90 18 {top + ph / 2})" '
        'text-anchor="middle">idle CPU (cores)</text>'
    )
    out.append(
        f'<text x="{w - 14}" y="{top + ph / 2}" transform="rotate(90 {w - 14} {top + ph / 2})" '
        'text-anchor="middle" fill="#4a78b0">grow time (s)</text>'
    )
    # The 60 % line.
    goal = 0.6 * cores
    out.append(
        f'<line x1="{left}" y1="{y(goal):.1f}" x2="{left + pw}" y2="{y(goal):.1f}" '
        'stroke="#c0392b" stroke-dasharray="6 4"/>'
    )
    out.append(
        f'<text x="{left + 6}" y="{y(goal) - 5:.1f}" fill="#c0392b">60 % of the cores</text>'
    )
    rest = 0.4 * cores
    out.append(
        f'<line x1="{left}" y1="{y(rest):.1f}" x2="{left + pw}" y2="{y(rest):.1f}" '
        'stroke="#e67e22" stroke-dasharray="2 4"/>'
    )
    out.append(
        f'<text x="{left + 6}" y="{y(rest) + 15:.1f}" fill="#e67e22">'
        "40 %: pacing adds no nodes at rest past it</text>"
    )

    def line(key, colour, label, dy):
        pts = [(int(r["nodes"]), float(r[key])) for r in steps if r[key] not in ("-", "")]
        if not pts:
            return
        path = " ".join(f"{x(n):.1f},{y(c):.1f}" for n, c in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for n, c in pts:
            out.append(f'<circle cx="{x(n):.1f}" cy="{y(c):.1f}" r="3.5" fill="{colour}"/>')
        out.append(f'<text x="{left + 10}" y="{top + dy}" fill="{colour}">{label}</text>')

    line("busy_cores", "#222222", "● machine busy (cores)", 14)
    line("node_cores", "#27ae60", "● the nodes' own cgroups (cores)", 30)
    for r in hold:
        n, c = int(r["nodes"]), float(r["busy_cores"])
        out.append(
            f'<rect x="{x(n) - 5:.1f}" y="{y(c) - 5:.1f}" width="10" height="10" '
            'fill="none" stroke="#8e44ad" stroke-width="2"/>'
        )
        out.append(
            f'<text x="{x(n) - 8:.1f}" y="{y(c) + 18:.1f}" text-anchor="end" fill="#8e44ad">'
            f"held {n}: {c:.2f} cores</text>"
        )
    for r in stopped:
        n = int(r["nodes"])
        out.append(
            f'<text x="{x(n):.1f}" y="{top + ph - 8}" text-anchor="middle" fill="#c0392b">'
            f'{r["apply_s"]} ({n} asked)</text>'
        )
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: plot-capacity.py CSV SVG [CORES]")
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else 2.0)
