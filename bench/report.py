#!/usr/bin/env python3
"""Prints the benchmark table from bench/run.sh's results (one JSON object per line).

Each figure is the median over the runs; a figure with a reference (nginx) is judged as the
median of the per-run ratios, both servers measured back to back in the same run.
usage: report.py RESULTS.jsonl
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {}
for r in rows:
    by.setdefault(r.get("kind") or r.get("mode"), []).append(r)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


table = []  # figure, target, measured, verdict
# BENCH_ONLY=queue runs one row; the others are then left out rather than "not measured".
only = by.get("machine", [{}])[0].get("only") or None


def add(figure, target, measured, ok):
    table.append((figure, target, measured, "n/a" if ok is None else ("PASS" if ok else "FAIL")))


def missing(figure, target, kind):
    if only in (None, kind):
        add(figure, target, "not measured", False)


# /can-deploy vs nginx. Judged: one wrk thread (the server has a core of its own). Information:
# two wrk threads, which share both cores with the server (results without "threads" are those).
wrk = by.get("wrk", [])


def wrk_rows(threads, judged):
    nginx = [r for r in wrk if r["server"] == "nginx" and r.get("threads", 2) == threads]
    dg = [r for r in wrk if r["server"] == "deployguard" and r.get("threads", 2) == threads]
    if not (nginx and dg):
        if judged:
            missing("/can-deploy throughput vs nginx", ">= 0.6x nginx", "wrk")
        return
    ratios = [d["rps"] / n["rps"] for n, d in zip(nginx, dg)]
    ratio = med(ratios)
    bad = sum(d["non2xx"] for d in dg) + sum(1 for d in dg if d["socket_errors"])
    tag = f"(wrk -t{threads} -c64)"
    add(f"/can-deploy throughput, keep-alive, 64 conns {tag}",
        ">= 0.6x nginx (1 worker)" if judged else "(info: wrk shares the 2 cores with the server)",
        f"{ratio:.2f}x  ({med([d['rps'] for d in dg]):,.0f} vs {med([n['rps'] for n in nginx]):,.0f} req/s;"
        f" runs {', '.join(f'{x:.2f}' for x in ratios)})" + (f"; {bad} runs with errors" if bad else ""),
        (ratio >= 0.6 and bad == 0) if judged else None)
    p99 = med([d["p99_ms"] for d in dg])
    add(f"/can-deploy latency under that load, p99 {tag}", "< 2 ms" if judged else "(info)",
        f"{p99:.2f} ms  (p50 {med([d['p50_ms'] for d in dg]):.2f} ms; nginx p99 "
        f"{med([n['p99_ms'] for n in nginx]):.2f} ms)", (p99 < 2.0) if judged else None)


wrk_rows(1, judged=True)
wrk_rows(2, judged=False)

# webhooks
hooks = [r for r in by.get("webhooks", []) if "applied_per_s" in r]
if hooks:
    rate = med([r["applied_per_s"] for r in hooks])
    all_ok = all(r.get("error", "") == "" and r["applied"] == r["count"] for r in hooks)
    add("signed workflow_run webhooks ingested (verify+parse+apply)", ">= 5,000/s",
        f"{rate:,.0f}/s  (8 keep-alive conns, 22 KB bodies" +
        ("" if all_ok else f"; NOT all applied: {[r.get('status') for r in hooks]}") + ")",
        rate >= 5000 and all_ok)
else:
    missing("signed workflow_run webhooks ingested", ">= 5,000/s", "webhooks")

reflect = [r for r in by.get("reflect", []) if "p99_ms" in r]
if reflect:
    p99 = med([r["p99_ms"] for r in reflect])
    missed = sum(r["not_reflected"] for r in reflect)
    add("webhook received -> /can-deploy reflects it, p99", "< 5 ms",
        f"{p99:.2f} ms  (p50 {med([r['p50_ms'] for r in reflect]):.2f} ms, max "
        f"{max(r['max_ms'] for r in reflect):.2f} ms" + (f", {missed} never reflected" if missed else "") + ")",
        p99 < 5.0 and missed == 0)
else:
    missing("webhook -> /can-deploy reflects it", "p99 < 5 ms", "reflect")

idle = by.get("idle", [])
if idle:
    rss = med([r["rss_kib"] for r in idle]) / 1024
    add("RSS, 50 environments, idle (polling)", "< 30 MiB", f"{rss:.1f} MiB", rss < 30)
else:
    missing("RSS, 50 environments, idle", "< 30 MiB", "idle")

waiters = [r for r in by.get("waiters", []) if "rss_waiting_kib" in r]
if waiters:
    rss = med([r["rss_waiting_kib"] for r in waiters]) / 1024
    complete = all(r["answered_200"] == r["count"] and r["early_answers"] == 0 for r in waiters)
    add("10,000 concurrent /can-deploy?wait= waiters", "< 150 MiB RSS, all answered",
        f"{rss:.1f} MiB; answered 200: {', '.join(str(r['answered_200']) for r in waiters)} of "
        f"{waiters[0]['count']}; last answer {med([r['all_answered_ms'] for r in waiters]):.0f} ms "
        f"after the unfreeze", rss < 150 and complete)
else:
    missing("10,000 concurrent waiters", "< 150 MiB RSS, all answered", "waiters")

def cpu_seconds(r):  # schedstat nanoseconds when recorded, else 10 ms ticks
    return r["cpu_ns"] / 1e9 if "cpu_ns" in r else r["cpu_ticks"] / r["hz"]

prod = by.get("idle_prod", [])
if prod:
    pct = med([100.0 * cpu_seconds(r) / r["seconds"] for r in prod])
    reqs = med([r["upstream_requests"] / r["seconds"] for r in prod])
    add("idle CPU, 50 envs polling at the default intervals (GitHub 30 s, Azure 60 s)",
        "< 1% of one core",
        f"{pct:.2f}%  ({reqs:.1f} upstream requests/s over {med([r['seconds'] for r in prod]):.0f} s)",
        pct < 1.0)
else:
    missing("idle CPU, 50 envs polling at the default intervals", "< 1% of one core", "idle_prod")
if idle:
    pct = med([100.0 * cpu_seconds(r) / r["seconds"] for r in idle])
    polls = med([r["upstream_requests"] / r["seconds"] for r in idle])
    poll = by.get("machine", [{}])[0].get("poll", "?")
    add(f"idle CPU, stress: 150 sources every {poll} (6-12x the defaults)", "(info; was judged < 1% until 2026-11-26)",
        f"{pct:.2f}%  ({polls:.0f} upstream requests/s, "
        f"{med([1e6 * cpu_seconds(r) / max(r['upstream_requests'], 1) for r in idle]):.0f} us CPU per request)",
        None)
    not304 = max(r["github_not_304"] for r in idle)
    used = max(r["rate_limit_used"] for r in idle)
    add("GitHub requests counting against rate limit, nothing changes", "0 (all 304)",
        f"{not304} non-304 of {med([r['github_requests'] for r in idle]):.0f} GitHub requests per 10 s; "
        f"rate-limit bucket used {used}", not304 == 0 and used == 0)

# The deploy queue: N tickets joined on one environment, each granted when the one before leaves.
queue = [r for r in by.get("queue", []) if "granted" in r]
queue_rss = by.get("queue_rss", [])
if queue:
    n = queue[0]["count"]
    complete = all(r["granted"] == r["count"] and r["out_of_order"] == 0 and
                   r.get("position_mismatch", 0) == 0 and r.get("overlapping_grants", 0) == 0 and
                   not r.get("first_error") for r in queue)
    errors = "; ".join(r["first_error"] for r in queue if r.get("first_error"))
    add(f"{n:,} queued tickets served in order", "all granted, 0 out of order",
        f"granted {', '.join(str(r['granted']) for r in queue)} of {n:,}; out of order "
        f"{sum(r['out_of_order'] for r in queue)}; join {med([r['join_s'] for r in queue]):.1f} s, "
        f"served in {med([r['serve_s'] for r in queue]):.1f} s" + (f"; errors: {errors}" if errors else ""),
        complete)
    p99 = med([r["p99_ms"] for r in queue])
    add("queue grant p99 (holder's DELETE sent -> next client's 201)", "< 50 ms",
        f"{p99:.2f} ms  (p50 {med([r['p50_ms'] for r in queue]):.2f} ms, max "
        f"{max(r['max_ms'] for r in queue):.2f} ms; {len(queue)} round(s))", p99 < 50 and complete)
else:
    missing("1,000 queued tickets served in order", "all granted, 0 out of order", "queue")
    missing("queue grant p99", "< 50 ms", "queue")
if queue_rss:
    hwm = queue_rss[0]["hwm_kib"] / 1024
    waiting = med([r["rss_waiting_kib"] for r in queue if r.get("rss_waiting_kib", -1) >= 0])
    add("queue daemon RSS (peak, VmHWM, 1 environment)", "< 60 MiB",
        f"{hwm:.1f} MiB over {queue_rss[0]['rounds']} round(s)" +
        (f"; {waiting / 1024:.1f} MiB with all {queue[0]['count']:,} waiting" if waiting and queue else ""),
        hwm < 60)
else:
    missing("queue daemon RSS", "< 60 MiB", "queue")

for m in by.get("micro", []):
    for b in m["benchmarks"]:
        ns = b["ns"]
        shown = f"{ns / 1000:.2f} us" if ns >= 1000 else f"{ns:.0f} ns"
        add(f"micro: {b['name']}", "(info)", shown, None)

machine = by.get("machine", [{}])[0]
end = by.get("machine_end", [{}])[0]
print()
print(f"machine: nproc={machine.get('nproc')} cpu={machine.get('cpu')} kernel={machine.get('kernel')} "
      f"date={machine.get('date')}")
print(f"load average (1/5/15 min): start {machine.get('load_start')}, end {end.get('load_end')}; "
      f"per-phase load is in the results file")
print()
w = [max(len(r[i]) for r in table + [("figure", "target", "measured", "result")]) for i in range(4)]
w[2] = min(w[2], 110)
line = lambda r: f"| {r[0]:<{w[0]}} | {r[1]:<{w[1]}} | {r[2]:<{w[2]}} | {r[3]:<{w[3]}} |"
print(line(("figure", "target", "measured", "result")))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in table:
    print(line(r))
fails = [r[0] for r in table if r[3] == "FAIL"]
print()
print("all targets met" if not fails else f"{len(fails)} target(s) missed: " + "; ".join(fails))
