#!/usr/bin/env python3
"""Untrusted input at the limits: what used to hang or crawl now ends quickly.

    python3 bench/limits.py [--keys 200000] [--runs 5]

Three inputs, each timed as whole `bulkhead validate` runs (release build):
- a ConfigMap of 200,000 keys (a 2.5 MB file): duplicate-key detection was
  quadratic (over a minute); kubeconform (bench/go) parses and validates the
  same file in the same run, as the peer;
- a fleet at the size limits: 100 clusters of 5,000 nodes (500,000 nodes,
  the most a fleet may declare), which must still validate in under a second
  or so even though every node is a failure domain;
- `nodePools[].count: 4000000000`, which used to run until killed: now a
  diagnostic at once.

Goals from issue 13: 200,000 keys well under a second; a fleet at the limits
in about a second; the huge count refused at once.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import validate  # noqa: E402

FLEET_HEAD = """apiVersion: bulkhead.dev/v1alpha1
kind: Fleet
metadata: {name: limits}
spec:
"""


def configmap_fleet(out: Path, keys: int) -> Path:
    if out.exists():
        shutil.rmtree(out)
    (out / "apps" / "big").mkdir(parents=True)
    data = "".join(f"  key-{i:06d}: value-{i}\n" for i in range(keys))
    manifest = out / "apps" / "big" / "configmap.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big, namespace: big}}\ndata:\n{data}")
    (out / "fleet.yaml").write_text(FLEET_HEAD + """  providers: [{name: aws, kind: aws, regions: [{name: r, zones: [a, b, c]}]}]
  clusters: [{name: c, location: aws/r, controlPlane: {managed: true}, nodePools: [{name: p, count: 3}]}]
  apps: [{name: big, manifests: apps/big, namespace: big, placement: {clusters: {names: [c]}}}]
""")
    return manifest


def fleet_at_limits(out: Path, clusters: int = 100, nodes: int = 5000) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    regions = ", ".join(f"{{name: r{r}, zones: [r{r}a, r{r}b, r{r}c]}}" for r in range(10))
    cl = "\n".join(f"    - {{name: c{i:03d}, location: aws/r{i % 10}, controlPlane: {{managed: true}}, "
                   f"nodePools: [{{name: a, count: {nodes // 2}}}, {{name: b, count: {nodes - nodes // 2}}}]}}"
                   for i in range(clusters))
    (out / "fleet.yaml").write_text(FLEET_HEAD + f"  providers: [{{name: aws, kind: aws, regions: [{regions}]}}]\n  clusters:\n{cl}\n")


def huge_count(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "fleet.yaml").write_text(FLEET_HEAD + """  providers: [{name: aws, kind: aws, regions: [{name: r, zones: [a, b, c]}]}]
  clusters: [{name: c, location: aws/r, controlPlane: {managed: true}, nodePools: [{name: p, count: 4000000000}]}]
""")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keys", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    bulkhead = common.bulkhead_release()
    peers = common.peers()
    schemas = validate.kubeconform_schemas()

    cm_fleet = common.WORK / "limits-configmap"
    manifest = configmap_fleet(cm_fleet, a.keys)
    cm = common.measure(f"validate, ConfigMap of {a.keys:,} keys", [str(bulkhead), "validate", str(cm_fleet), "-o", "json"], a.runs)
    location = f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
    kc = common.measure("kubeconform, the same ConfigMap", [str(peers / "kubeconform"), "-strict", "-schema-location", location,
                                                            "-n", "1", str(manifest)], a.runs)
    limits_fleet = common.WORK / "limits-fleet"
    fleet_at_limits(limits_fleet)
    big = common.measure("validate, fleet at the limits", [str(bulkhead), "validate", str(limits_fleet), "-o", "json"], a.runs)
    huge_fleet = common.WORK / "limits-huge-count"
    huge_count(huge_fleet)
    huge = common.measure("validate, count: 4000000000", [str(bulkhead), "validate", str(huge_fleet), "-o", "json"], a.runs,
                          ok_codes=(2,))
    rows = [
        (f"`validate`, one ConfigMap of {a.keys:,} keys ({manifest.stat().st_size / 1e6:.1f} MB)", cm, "well under 1 s"),
        ("peer: kubeconform -strict, the same ConfigMap, 1 worker", kc, ""),
        ("`validate`, 100 clusters × 5,000 nodes (the fleet limit, 500,000 nodes)", big, "about 1 s"),
        ("`validate`, `nodePools[].count: 4000000000` (refused, exit 2)", huge, "at once"),
    ]
    table = "\n".join(f"| {label} | {t.median:.3f} s | {min(t.seconds):.3f}–{max(t.seconds):.3f} s | {t.peak_mib:.0f} MiB | {goal} |"
                      for label, t, goal in rows)
    body = f"""## Untrusted input at the limits (`bench/limits.py`)

Inputs that used to hang or crawl: duplicate-key detection was quadratic (a ConfigMap of 200,000 keys took
over a minute), and a node count of four billion ran until killed. Median of {a.runs} runs after one warm-up,
whole commands. Machine: {common.machine()}.

| run | median | range | peak memory | goal |
|---|---|---|---|---|
{table}

Rerun: `python3 bench/limits.py`.
"""
    common.write_section("limits", body)


if __name__ == "__main__":
    main()
