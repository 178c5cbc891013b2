#!/usr/bin/env python3
"""`bulkhead plan` and `bulkhead apply` on 3 clusters × 2,000 objects, beside
`kubectl diff --server-side` of the same objects on each cluster in turn.

    testenv/testenv run --clusters 3 --no-s3 -- python3 bench/plan.py [--objects 2000] [--runs 5]

An app of `--objects` objects (ConfigMaps, Secrets, headless Services,
Deployments of 0 replicas) in one namespace, placed on every cluster. Its
namespace exists beforehand, so every object is checked by the API server:

- plan, nothing applied yet: a server-side dry-run create of every object
  on the three clusters at once; the peer, kubectl (built from the pinned
  Kubernetes release's module, bench/go/kubectl) running `kubectl diff
  --server-side` of the same rendered objects on each cluster in turn;
- apply to the three clusters at once, beside applying each cluster alone
  (the goal: close to the slowest cluster, not the sum);
- plan after the apply with 1% of the objects changed (the steady state of
  a fleet in git), beside kubectl diff of the same.

Goal from issue 17: `bulkhead plan` of 3 × 2,000 under 10 s. Median of
`--runs`, figures in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NS = "bench-plan"
FLEET = "bench-plan"


def kubectl() -> Path:
    """kubectl of the pinned release, built once into the cache (keyed on the module files and Go)."""
    mod = common.ROOT / "bench" / "go" / "kubectl"
    goversion = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256((mod / "go.mod").read_bytes() + (mod / "go.sum").read_bytes() + goversion.encode()).hexdigest()[:16]
    out = common.CACHE / "bench-bin" / f"kubectl-{key}"
    if not out.exists():
        common.log("building kubectl v1.36.3 (cold: about 1 min)")
        subprocess.run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(out), "."], cwd=mod, check=True,
                       env=dict(os.environ, CGO_ENABLED="0"))
    return out


def manifests(n: int, generation: int) -> str:
    """The app's objects as one YAML stream; `generation` changes 1% of the ConfigMaps."""
    docs = []
    for i in range(n):
        kind, name = i % 10, f"o{i:06d}"
        if kind < 6:
            changed = generation if i % 100 == 0 else 0
            docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": f"a{i % 50}"}},
                         "data": {"config.yaml": f"replicas: {i % 7}\nmode: fast\nowner: team-{i % 13}\n", "generation": str(changed)}})
        elif kind < 8:
            docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                         "stringData": {"password": f"secret-{i}", "user": f"user-{i % 100}"}})
        elif kind < 9:
            docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                         "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}})
        else:
            docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                         "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                                  "template": {"metadata": {"labels": {"app": name}},
                                               "spec": {"containers": [{"name": "app", "image": f"registry.example.com/{name}:1"}]}}}})
    # JSON is YAML: one document per line.
    return "".join("---\n" + json.dumps(d) + "\n" for d in docs)


def write_fleet(env: dict, dir: Path, n: int, generation: int) -> None:
    providers, clusters = "", ""
    for c in env["clusters"]:
        providers += f"    - {{name: {c['provider']}, kind: {c['providerKind']}, regions: [{{name: {c['region']}, zones: [{', '.join(c['zones'])}]}}]}}\n"
        clusters += (f"    - name: {c['name']}\n      location: {c['provider']}/{c['region']}\n"
                     f"      access: {{kubeconfig: {c['kubeconfig']}, context: {c['context']}}}\n      controlPlane: {{managed: true}}\n")
    (dir / "app").mkdir(parents=True, exist_ok=True)
    (dir / "app" / "objects.yaml").write_text(manifests(n, generation))
    (dir / "fleet.yaml").write_text(
        f"apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {FLEET}}}\nspec:\n  providers:\n{providers}"
        f"  clusters:\n{clusters}  apps:\n    - {{name: app, manifests: app, namespace: {NS}, placement: {{clusters: {{}}}}}}\n")


def run(cmd: list[str], ok: tuple[int, ...] = (0,), **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode not in ok:
        raise SystemExit(f"`{' '.join(map(str, cmd[:6]))} …` exited {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    return p


def timed(cmd: list[str], ok: tuple[int, ...] = (0,), **kw) -> float:
    start = time.perf_counter()
    run(cmd, ok, **kw)
    return time.perf_counter() - start


def kubectl_diff_all(kc: Path, env: dict, rendered: dict[str, Path]) -> float:
    """`kubectl diff --server-side` of each cluster's objects, one cluster after another."""
    start = time.perf_counter()
    for c in env["clusters"]:
        run([str(kc), "--kubeconfig", c["kubeconfig"], "--context", c["context"], "diff", "--server-side",
             "--force-conflicts", "--field-manager", "bulkhead", "-f", str(rendered[c["name"]])], ok=(0, 1))
    return time.perf_counter() - start


def render_all(bh: Path, env: dict, dir: Path) -> dict[str, Path]:
    out = {}
    for c in env["clusters"]:
        path = dir / f"rendered-{c['name']}.yaml"
        path.write_text(run([str(bh), "render", "--cluster", c["name"], str(dir)]).stdout)
        out[c["name"]] = path
    return out


def reset(kc: Path, env: dict) -> None:
    """The namespace empty and present, no inventory: nothing applied yet
    (the three clusters at once: emptying a namespace of 2,000 objects takes
    its controller a while)."""
    def steps(c: dict) -> str:
        base = f"{kc} --kubeconfig {c['kubeconfig']} --context {c['context']}"
        return (f"{base} delete namespace {NS} --ignore-not-found --wait=true && "
                f"{base} -n kube-system delete configmap bulkhead-inventory-{FLEET} --ignore-not-found && "
                f"{base} create namespace {NS}")
    procs = [subprocess.Popen(["bash", "-c", steps(c)], stdout=subprocess.DEVNULL) for c in env["clusters"]]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("could not reset the benchmark's namespace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    state = os.environ.get("BULKHEAD_TESTENV")
    if not state:
        raise SystemExit("run it inside the test environment: testenv/testenv run --clusters 3 --no-s3 -- python3 bench/plan.py")
    env = json.loads((Path(state) / "env.json").read_text())
    if len(env["clusters"]) < 3:
        raise SystemExit("the benchmark needs three clusters (--clusters 3)")
    bh, kc = common.bulkhead_release(), kubectl()
    dir = common.WORK / "plan"
    shutil.rmtree(dir, ignore_errors=True)
    dir.mkdir(parents=True)
    write_fleet(env, dir, args.objects, 0)
    rendered = render_all(bh, env, dir)
    n, runs = args.objects, args.runs
    clusters = [c["name"] for c in env["clusters"]]

    common.log(f"plan of {len(clusters)} × {n} objects, nothing applied yet")
    reset(kc, env)
    plan_cold = [timed([str(bh), "plan", str(dir)], ok=(1,)) for _ in range(runs)]
    kubectl_cold = [kubectl_diff_all(kc, env, rendered) for _ in range(max(1, runs // 2 + 1))]

    common.log("apply: the three clusters at once, and each alone")
    apply_all, apply_one = [], {c: [] for c in clusters}
    apply_runs = min(runs, 3)
    for _ in range(apply_runs):
        reset(kc, env)
        apply_all.append(timed([str(bh), "apply", "--yes", "--allow-mass-delete", str(dir)]))
        reset(kc, env)
        for c in clusters:
            apply_one[c].append(timed([str(bh), "apply", "--yes", "--cluster", c, str(dir)]))

    common.log("plan after the apply, 1% of the objects changed")
    write_fleet(env, dir, n, 1)
    rendered = render_all(bh, env, dir)
    plan_warm = [timed([str(bh), "plan", str(dir)], ok=(1,)) for _ in range(runs)]
    kubectl_warm = [kubectl_diff_all(kc, env, rendered) for _ in range(max(1, runs // 2 + 1))]
    changed = json.loads(run([str(bh), "plan", "-o", "json", str(dir)], ok=(1,)).stdout)
    updates = sum(c["update"] for c in changed["clusters"])
    reset(kc, env)
    for c in env["clusters"]:
        run([str(kc), "--kubeconfig", c["kubeconfig"], "--context", c["context"], "delete", "namespace", NS, "--wait=false"])

    med = statistics.median
    slowest = max(med(v) for v in apply_one.values())
    total = sum(med(v) for v in apply_one.values())
    body = f"""## `bulkhead plan` and `apply`: {len(clusters)} clusters × {n:,} objects (bench/plan.py)

Machine: {common.machine()}. The test environment's clusters (kube-apiserver v1.36.3 each, all on this machine's
cores); median of {runs} runs ({len(kubectl_cold)} for kubectl). The peer: `kubectl diff --server-side` (kubectl built from
k8s.io/kubectl v0.36.3, bench/go/kubectl) of the same rendered objects, cluster after cluster.

| | Bulkhead | kubectl diff --server-side | ratio |
|---|---|---|---|
| plan, nothing applied yet (a dry run of every object) | **{med(plan_cold):.2f} s** | {med(kubectl_cold):.2f} s | {med(kubectl_cold) / med(plan_cold):.1f}× |
| plan after apply, 1% changed ({updates} updates) | **{med(plan_warm):.2f} s** | {med(kubectl_warm):.2f} s | {med(kubectl_warm) / med(plan_warm):.1f}× |

Goal: a plan of 3 × 2,000 under 10 s. The steady-state plan lists each kind once per cluster and dry-runs only the
objects whose inventory digest or live fields differ; kubectl sends a GET and a dry-run PATCH for every object.

Apply (every object created, server-side apply, then the health gate on its {n // 10} Deployments; median of
{apply_runs}): the three clusters at once **{med(apply_all):.2f} s**; each alone
{", ".join(f"{c} {med(v):.2f} s" for c, v in apply_one.items())} (slowest {slowest:.2f} s, sum {total:.2f} s): at once
takes {med(apply_all) / slowest:.2f}× the slowest cluster, {med(apply_all) / total:.2f}× the sum (the three API servers share
this machine's {os.cpu_count()} cores, so some of the sum is inevitable here; on separate clusters it is the slowest).

Rerun: `testenv/testenv run --clusters 3 --no-s3 -- python3 bench/plan.py --objects {n} --runs {runs}`.
"""
    common.write_section("plan", body)


if __name__ == "__main__":
    main()
