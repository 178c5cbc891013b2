#!/usr/bin/env python3
"""`bulkhead net plan` on 10,000 clusters and `net check` on 1,000,000 ranges.

    python3 bench/net.py [--clusters 10000] [--ranges 1000000] [--runs 5]

Planning: a fleet of N clusters, each in a region of six zones with two
node pools, every range `auto`, planned from an IPv6 supernet (10,000
clusters need about 140 million IPv4 addresses, more than 10.0.0.0/8 holds;
a dual-stack fleet of 500 clusters, which fills 10.0.0.0/8 and 100.64.0.0/10, is measured too). The whole command is
timed: reading and validating fleet.yaml, planning, printing JSON.

Checking: the example fleet plus a ranges file of N prefixes (an IPAM export
of that size), of which a known few overlap. No open-source tool checks
ranges across a fleet, so the reference is the same sort-and-sweep written
in Python with the standard `ipaddress` module, run on the same file; it
shows how much of the time is the algorithm and how much the language.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def fleet(n: int, supernets: list[str]) -> str:
    regions = [f"r{i}" for i in range(20)]
    providers = "\n".join(
        f"        - {{name: {r}, zones: [{', '.join(f'{r}-{z}' for z in 'abcdef')}]}}" for r in regions
    )
    clusters = "\n".join(
        f"    - name: c{i:05d}\n      location: cloud/{regions[i % len(regions)]}\n"
        f"      nodePools: [{{name: general, count: {6 * (1 + i % 4)}}}, {{name: memory, count: 6}}]"
        for i in range(n)
    )
    return f"""apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {{name: net-bench}}
spec:
  network:
    supernets: [{', '.join(supernets)}]
  providers:
    - name: cloud
      kind: aws
      regions:
{providers}
  clusters:
{clusters}
"""


def ranges_file(path: Path, n: int, seed: int = 7) -> int:
    """N prefixes of IPAM-export shape: mostly disjoint /24s and /28s spread
    over 100.64.0.0/10 and fc00::/7, and every 10,000th one a copy of an
    earlier one (a known overlap). Returns how many overlaps were planted."""
    rng = random.Random(seed)
    lines, planted, earlier = ["prefix,owner"], 0, []
    v4_base = int(ipaddress.IPv4Address("100.64.0.0"))
    for i in range(n):
        if i and i % 10_000 == 0:
            lines.append(f"{earlier[rng.randrange(len(earlier))]},dup-{i}")
            planted += 1
            continue
        if i % 2:
            net = ipaddress.IPv4Network((v4_base + (i // 2) * 16, 28))
        else:
            net = ipaddress.IPv6Network((int(ipaddress.IPv6Address("fc00::")) + (i << 64), 64))
        lines.append(f"{net},site-{i}")
        if len(earlier) < 1000:
            earlier.append(str(net))
    path.write_text("\n".join(lines) + "\n")
    return planted


def python_sweep(path: Path) -> int:
    """The reference: the same sort-and-sweep with `ipaddress`. Returns overlaps."""
    nets = []
    for line in path.read_text().splitlines()[1:]:
        cidr, owner = line.split(",", 1)
        nets.append((ipaddress.ip_network(cidr), owner))
    nets.sort(key=lambda x: (x[0].version, int(x[0].network_address), x[0].prefixlen))
    found, stack = 0, []
    for net, _ in nets:
        first = int(net.network_address)
        while stack and (stack[-1][0] != net.version or stack[-1][1] < first):
            stack.pop()
        found += len(stack)
        stack.append((net.version, int(net.broadcast_address)))
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--ranges", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    bulkhead = common.bulkhead_release()
    work = common.WORK / "net"
    work.mkdir(parents=True, exist_ok=True)

    big = work / f"plan-{a.clusters}"
    big.mkdir(exist_ok=True)
    (big / "fleet.yaml").write_text(fleet(a.clusters, ["fd00::/16"]))
    dual = work / "plan-500-dual"
    dual.mkdir(exist_ok=True)
    (dual / "fleet.yaml").write_text(fleet(500, ["10.0.0.0/8", "100.64.0.0/10", "fd00::/16"]))
    plan_big = common.measure(f"net plan, {a.clusters} clusters (IPv6)",
                              [str(bulkhead), "net", "plan", str(big), "--dry-run", "-o", "json"], a.runs)
    plan_dual = common.measure("net plan, 500 clusters (dual stack)",
                               [str(bulkhead), "net", "plan", str(dual), "--dry-run", "-o", "json"], a.runs)

    ranges = work / f"ranges-{a.ranges}.csv"
    planted = ranges_file(ranges, a.ranges)
    example = common.ROOT / "examples" / "multicloud"
    check = common.measure(f"net check, {a.ranges:,} ranges",
                           [str(bulkhead), "net", "check", str(example), "--ranges", str(ranges), "-o", "json"],
                           a.runs, ok_codes=(1,))
    # The reference once per run, in this process.
    py_times = []
    for _ in range(a.runs):
        start = time.perf_counter()
        found = python_sweep(ranges)
        py_times.append(time.perf_counter() - start)
    py_times.sort()
    py_median = py_times[len(py_times) // 2]
    common.log(f"python ipaddress sweep: median {py_median:.3f} s, {found} overlaps ({planted} planted)")
    out = subprocess.run([str(bulkhead), "net", "check", str(example), "--ranges", str(ranges), "-o", "json"],
                         capture_output=True, text=True)
    reported = out.stdout.count('"range-overlap"')

    def row(label: str, t: common.Timing, goal: str) -> str:
        return f"| {label} | {t.median:.3f} s | {min(t.seconds):.3f}–{max(t.seconds):.3f} s | {t.peak_mib:.0f} MiB | {goal} |"

    body = f"""## Network planning and checking (`bench/net.py`)

Median of {a.runs} runs after one warm-up, whole commands as a user runs them. Machine: {common.machine()}.

| command | median | range | peak memory | goal |
|---|---|---|---|---|
{row(f"`net plan`, {a.clusters:,} clusters × 6 zones, IPv6", plan_big, "< 1 s")}
{row("`net plan`, 500 clusters × 6 zones, dual stack", plan_dual, "")}
{row(f"`net check --ranges`, {a.ranges:,} ranges", check, "< 1 s")}
| reference: the same sweep in Python (`ipaddress`), same file | {py_median:.3f} s | | | |

The check reported {reported} overlaps; {planted} were planted and the Python reference counts {found}
(it counts every containing range, the check the same). Bulkhead is {py_median / check.median:.0f}× the
reference, parsing and printing included. Rerun: `python3 bench/net.py`.
"""
    common.write_section("net", body)


if __name__ == "__main__":
    main()
