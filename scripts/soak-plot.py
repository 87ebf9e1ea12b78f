#!/usr/bin/env python3
"""Summary, plot and verdict of a soak run (scripts/soak): reads OUT/samples.jsonl, writes
OUT/soak.png (throughput, p99 and daxd's RSS over time) and OUT/summary.md, and exits 1 if
the RSS of any window after the warm-up (the end included) is more than --rss-tolerance
above the RSS after the warm-up, or if any window had an error rate above --max-error-rate
in any operation."""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--duration", type=float, required=True)
ap.add_argument("--warmup", type=float, required=True)
ap.add_argument("--rss-tolerance", type=float, default=0.10)
ap.add_argument("--max-error-rate", type=float, default=0.001)
args = ap.parse_args()

samples = [json.loads(line) for line in open(os.path.join(args.out, "samples.jsonl")) if line.strip()]
if not samples:
    print("no samples", file=sys.stderr)
    sys.exit(1)
ops = list(samples[0]["ops"])
t = [s["t_s"] for s in samples]
mib = [s["rss_bytes"] / 2**20 for s in samples]

# The reference: the RSS read after the first window that ends at or after the warm-up.
ref = next((s for s in samples if s["t_s"] >= args.warmup), samples[-1])
end = samples[-1]
rss_ref, rss_end = ref["rss_bytes"], end["rss_bytes"]
growth = rss_end / rss_ref - 1
after = [s for s in samples if s["t_s"] >= ref["t_s"]]
rss_max_after = max(s["rss_bytes"] for s in after)

bad_windows = []
for s in samples:
    for name, o in s["ops"].items():
        n = o.get("requests") or 0
        e = o.get("errors") or 0
        if o.get("failed") or o.get("rc", 0) != 0 or (e and e / max(n, 1) > args.max_error_rate):
            bad_windows.append((s["window"], name, e, n, o.get("rc")))
# Every window after the warm-up, not only the last: growth that comes and goes is growth.
over = [s for s in after if s["rss_bytes"] / rss_ref - 1 > args.rss_tolerance]
rss_ok = not over
err_ok = not bad_windows

# ---- plot -----------------------------------------------------------------------------------------
fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
x = [v / 60 for v in t]
for name in ops:
    a1.plot(x, [s["ops"][name].get("rps") or 0 for s in samples], marker=".", label=name)
a1.plot(x, [s["rps_total"] for s in samples], color="black", linewidth=2, marker=".", label="total")
a1.set_ylabel("throughput (req/s, log)")
a1.set_yscale("log")
a1.legend(ncol=7, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False)
a1.set_title("daxd soak: %d s, %d windows, 50 connections (%s)" % (
    args.duration, len(samples), os.path.basename(os.path.normpath(args.out))))
for name in ops:
    a2.plot(x, [(s["ops"][name].get("p99_us") or float("nan")) / 1000 for s in samples], marker=".", label=name)
a2.set_ylabel("p99 latency (ms, log)")
a2.set_yscale("log")

a3.plot(x, mib, color="tab:red", marker=".", label="daxd VmRSS")
if all("rss_anon_bytes" in s for s in samples):
    a3.plot(x, [s["rss_anon_bytes"] / 2**20 for s in samples], color="tab:orange", linewidth=1, label="of which RssAnon")
    a3.plot(x, [(s["rss_file_bytes"] + s["rss_shmem_bytes"]) / 2**20 for s in samples], color="tab:blue",
            linewidth=1, label="of which RssFile + RssShmem")
if all(s.get("cached_bytes", -1) >= 0 for s in samples):
    a3.plot(x, [s["cached_bytes"] / 2**20 for s in samples], color="tab:green", linewidth=1,
            label="node item cache (EstimatedDbSize)")
a3.axhline(rss_ref / 2**20, color="gray", linestyle="--", linewidth=1, label="after warm-up")
a3.axhline(rss_ref * (1 + args.rss_tolerance) / 2**20, color="gray", linestyle=":", linewidth=1,
           label="+%d%% limit" % round(args.rss_tolerance * 100))
for ax in (a1, a2, a3):
    ax.axvspan(0, args.warmup / 60, color="0.9", zorder=0)
    ax.grid(True, alpha=0.3)
a3.set_ylabel("RSS (MiB)")
a3.set_ylim(bottom=0, top=max(mib + [rss_ref * (1 + args.rss_tolerance) / 2**20]) * 1.15)
a3.set_xlabel("time since the first window (min); shaded: warm-up")
a3.legend(fontsize=8, loc="lower right")
fig.tight_layout()
png = os.path.join(args.out, "soak.png")
fig.savefig(png, dpi=100)

# ---- summary --------------------------------------------------------------------------------------
def med(v):
    v = sorted(v)
    return v[len(v) // 2] if v else float("nan")


lines = [
    "# Soak %s" % os.path.basename(os.path.normpath(args.out)),
    "",
    "%d windows over %.0f s (requested %d s), 50 connections; warm-up %d s." % (
        len(samples), end["t_s"], args.duration, args.warmup),
    "",
    "| op | connections | requests | errors | req/s (median window) | req/s min..max | p99 µs (median window) | p99 µs max |",
    "|---|---|---|---|---|---|---|---|",
]
for name in ops:
    rows = [s["ops"][name] for s in samples]
    rps = [r.get("rps") or 0 for r in rows]
    p99 = [r["p99_us"] for r in rows if r.get("p99_us") is not None]
    lines.append("| %s | %s | %d | %d | %.0f | %.0f..%.0f | %.0f | %.0f |" % (
        name, rows[0].get("connections"), sum(r.get("requests") or 0 for r in rows),
        sum(r.get("errors") or 0 for r in rows), med(rps), min(rps), max(rps), med(p99),
        max(p99) if p99 else float("nan")))
tot = [s["rps_total"] for s in samples]
lines += [
    "| total | 50 | %d | %d | %.0f | %.0f..%.0f | | |" % (
        sum((o.get("requests") or 0) for s in samples for o in s["ops"].values()),
        sum(s["errors_total"] for s in samples), med(tot), min(tot), max(tot)),
    "",
    "- RSS after the warm-up (window %d, t = %.0f s): %.1f MiB" % (ref["window"], ref["t_s"], rss_ref / 2**20),
    "- RSS at the end (window %d, t = %.0f s): %.1f MiB (%+.1f%%)" % (
        end["window"], end["t_s"], rss_end / 2**20, growth * 100),
    "- windows after the warm-up more than +%.0f%% above it: %d of %d: %s" % (
        args.rss_tolerance * 100, len(over), len(after), "ok" if rss_ok else "FAIL (first: " + ", ".join(
            "window %d %+.1f%%" % (s["window"], (s["rss_bytes"] / rss_ref - 1) * 100) for s in over[:5]) + ")"),
    "- RSS min..max after the warm-up: %.1f..%.1f MiB; first window: %.1f MiB" % (
        min(s["rss_bytes"] for s in after) / 2**20, rss_max_after / 2**20, samples[0]["rss_bytes"] / 2**20),
    "- RssAnon after the warm-up / at the end: %s" % (
        "%.1f / %.1f MiB" % (ref["rss_anon_bytes"] / 2**20, end["rss_anon_bytes"] / 2**20) if "rss_anon_bytes" in end else "n/a"),
    "- node item cache entries (EstimatedDbItemCount) first..last window: %d..%d" % (
        samples[0]["cached_items"], end["cached_items"]),
    "- node item cache bytes (EstimatedDbSize) after the warm-up / at the end: %s" % (
        "%.1f / %.1f MiB" % (ref["cached_bytes"] / 2**20, end["cached_bytes"] / 2**20) if "cached_bytes" in end else "n/a"),
    "- daxd CPU: %.0f s over %.0f s (%.2f cores)" % (end["daxd_cpu_s"], end["t_s"], end["daxd_cpu_s"] / max(end["t_s"], 1)),
    "- windows with an error rate above %.2f%% (or a failed load process): %d: %s" % (
        args.max_error_rate * 100, len(bad_windows), "ok" if err_ok else "FAIL " + "; ".join(
            "window %d %s: %d/%d errors rc=%s" % b for b in bad_windows[:10])),
    "",
    "Verdict: %s" % ("PASS" if rss_ok and err_ok else "FAIL"),
]
text = "\n".join(lines) + "\n"
open(os.path.join(args.out, "summary.md"), "w").write(text)
print(text)
print("plot: %s" % png)
sys.exit(0 if rss_ok and err_ok else 1)
