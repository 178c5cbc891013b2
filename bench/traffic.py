#!/usr/bin/env python3
"""`bulkhead traffic serve`: failover convergence, and queries per second
beside CoreDNS and BIND 9 serving the same zone.

    sudo python3 bench/traffic.py [--failovers 10] [--seconds 10] [--runs 3]

Needs root (network namespaces), dig, dnsperf and named (`apt-get install
dnsutils dnsperf bind9`) and Go (CoreDNS is built from its Go module,
bench/go/coredns, once into the cache). No cluster and no test environment.

1. Failover convergence. Three sites as network namespaces cabled to a hub
   (as tests/traffic.rs builds them), each with an HTTP health endpoint on
   its ingress address and its own `bulkhead traffic serve` instance; the
   fleet's defaults (probes every 2 s, timeout 1 s, down after 3 failures,
   up after 3 passes) and a TTL of 5 s. A failover: site 1's cable is pulled
   (its ingress and its DNS instance vanish, as when a site dies); the time
   until every remaining instance's answers exclude it is measured by `dig`
   every 100 ms from the hub; then the cable is put back and the time until
   every instance answers with it again. Median of `--failovers`. What a
   user waits for is that plus at most the TTL. Goal (issue 19): under 15 s
   including the TTL.
2. Queries per second. One instance of each server answering the same zone
   (a round-robin name with three addresses, a failover name, a weighted
   name, the SOA, a name that does not exist) on loopback, each pinned to
   one core with `taskset` (Bulkhead's runtime and BIND's and CoreDNS's
   threads all share it), dnsperf on the other core, `--seconds` per run,
   median of `--runs`. Bulkhead runs with rate limiting off (one client
   address sends everything); BIND's RRL is off by default, CoreDNS has none.
   Goal: ahead of CoreDNS, what k8gb serves with.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ZONE = "gslb.bench"
KEY = 'key "peers" {\n\talgorithm hmac-sha256;\n\tsecret "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";\n};\n'
NET = 241  # 10.241.0.0/24, inside the namespaces only
HEALTH = ("import http.server,sys\n"
          "class H(http.server.BaseHTTPRequestHandler):\n"
          "    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
          "    def log_message(self,*a): pass\n"
          "http.server.ThreadingHTTPServer((sys.argv[1],int(sys.argv[2])),H).serve_forever()\n")


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def coredns() -> Path:
    """CoreDNS from its Go module, built once into the cache (keyed on the module files and Go)."""
    mod = common.ROOT / "bench" / "go" / "coredns"
    goversion = sh("go", "version").stdout
    key = hashlib.sha256((mod / "go.mod").read_bytes() + (mod / "go.sum").read_bytes() + goversion.encode()).hexdigest()[:16]
    out = common.CACHE / "bench-bin" / f"coredns-{key}"
    if not out.exists():
        common.log("building CoreDNS (cold: a few minutes)")
        subprocess.run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(out), "github.com/coredns/coredns"],
                       cwd=mod, check=True, env=dict(os.environ, CGO_ENABLED="0"))
    return out


def fleet(dir: Path, ingress: list[str], dns: list[str], ttl: str, peer_port: int = 8053) -> None:
    """A fleet of one site per ingress address, a nameserver at each of `dns`
    (site 1's, site 2's, …), three apps."""
    n = len(ingress)
    clusters = "".join(
        f"    - {{name: site{i}, location: metal/site{i}, nodePools: [{{name: p, count: 1}}], labels: {{web: \"yes\"}}, "
        f"ingress: {{addresses: [{ingress[i - 1]}]}}}}\n" for i in range(1, n + 1))
    nameservers = "".join(f"      - {{name: ns{i}, cluster: site{i}, address: {a}, peerPort: {peer_port}}}\n"
                          for i, a in enumerate(dns, start=1))
    regions = ", ".join(f"{{name: site{i}, zones: [site{i}]}}" for i in range(1, n + 1))
    (dir / "apps" / "empty").mkdir(parents=True, exist_ok=True)
    (dir / "fleet.yaml").write_text(
        "apiVersion: bulkhead.dev/v1alpha1\nkind: Fleet\nmetadata: {name: traffic-bench}\nspec:\n"
        f"  providers:\n    - {{name: metal, kind: bare-metal, regions: [{regions}]}}\n"
        f"  clusters:\n{clusters}"
        "  apps:\n"
        f"    - {{name: web, manifests: apps/empty, placement: {{clusters: {{labels: {{web: \"yes\"}}}}}}, traffic: {{hostname: web.{ZONE}, policy: round-robin, port: 8080}}}}\n"
        f"    - {{name: api, manifests: apps/empty, placement: {{clusters: {{labels: {{web: \"yes\"}}}}}}, traffic: {{hostname: api.{ZONE}, policy: failover, port: 8080}}}}\n"
        f"    - {{name: shop, manifests: apps/empty, placement: {{clusters: {{labels: {{web: \"yes\"}}}}}}, traffic: {{hostname: shop.{ZONE}, policy: weighted, port: 8080}}}}\n"
        f"  traffic:\n    zone: {ZONE}\n    ttl: {ttl}\n    nameservers:\n{nameservers}")
    (dir / "peers.key").write_text(KEY)


class Sites:
    """A hub namespace with a bridge, and sites cabled to it (removed on close)."""

    def __init__(self, count: int):
        self.prefix = f"bhbench{os.getpid() % 10000}"
        self.count = count
        self.procs: list[subprocess.Popen] = []
        hub = self.hub = f"{self.prefix}-hub"
        sh("ip", "netns", "add", hub)
        self.x(hub, "ip", "link", "set", "lo", "up")
        self.x(hub, "ip", "link", "add", "br0", "type", "bridge")
        self.x(hub, "ip", "addr", "add", f"10.{NET}.0.1/24", "dev", "br0")
        self.x(hub, "ip", "link", "set", "br0", "up")
        for i in range(1, count + 1):
            ns = self.site(i)
            sh("ip", "netns", "add", ns)
            self.x(hub, "ip", "link", "add", f"vh{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.x(hub, "ip", "link", "set", f"vh{i}", "master", "br0")
            self.x(hub, "ip", "link", "set", f"vh{i}", "up")
            self.x(ns, "ip", "link", "set", "lo", "up")
            self.x(ns, "ip", "addr", "add", f"{self.dns(i)}/24", "dev", "eth0")
            self.x(ns, "ip", "addr", "add", f"{self.ingress(i)}/24", "dev", "eth0")
            self.x(ns, "ip", "link", "set", "eth0", "up")

    def site(self, i: int) -> str:
        return f"{self.prefix}-s{i}"

    @staticmethod
    def dns(i: int) -> str:
        return f"10.{NET}.0.{10 + i}"

    @staticmethod
    def ingress(i: int) -> str:
        return f"10.{NET}.0.{20 + i}"

    def x(self, ns: str, *args: str) -> None:
        sh("ip", "netns", "exec", ns, *args)

    def spawn(self, ns: str, args: list[str], log: Path) -> None:
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", ns, *args], stdout=open(log, "w"), stderr=subprocess.STDOUT))

    def answers(self, server: str, name: str) -> list[str]:
        out = sh("ip", "netns", "exec", self.hub, "dig", "+short", "+time=1", "+tries=1", f"@{server}", name, "A", check=False)
        return sorted(line for line in out.stdout.splitlines() if line and not line.startswith(";"))

    def close(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        for i in range(1, self.count + 1):
            sh("ip", "netns", "del", self.site(i), check=False)
        sh("ip", "netns", "del", self.hub, check=False)


def until(check, limit: float, what: str) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > limit:
            raise SystemExit(f"not within {limit} s: {what}")
        time.sleep(0.1)
    return time.perf_counter() - start


def failovers(bulkhead: Path, count: int, work: Path) -> tuple[list[float], list[float]]:
    sites = Sites(3)
    try:
        ingress = [Sites.ingress(i) for i in (1, 2, 3)]
        dns = [Sites.dns(i) for i in (1, 2, 3)]
        fleet(work, ingress, dns, "5s")
        for i in (1, 2, 3):
            sites.spawn(sites.site(i), [sys.executable, "-c", HEALTH, Sites.ingress(i), "8080"], work / f"health{i}.log")
            sites.spawn(sites.site(i), [str(bulkhead), "traffic", "serve", "--instance", f"ns{i}", "--peer-key",
                                        str(work / "peers.key"), str(work)], work / f"ns{i}.log")
        web = f"web.{ZONE}"
        until(lambda: all(sites.answers(d, web) == ingress for d in dns), 30, "every instance answers")
        down, up = [], []
        for n in range(count):
            sites.x(sites.site(1), "ip", "link", "set", "eth0", "down")
            took = until(lambda: all(sites.answers(d, web) == ingress[1:] for d in dns[1:]), 60, "site1 excluded")
            down.append(took)
            sites.x(sites.site(1), "ip", "link", "set", "eth0", "up")
            back = until(lambda: all(sites.answers(d, web) == ingress for d in dns), 60, "site1 back")
            up.append(back)
            common.log(f"failover {n + 1}/{count}: excluded after {took:.2f} s, back after {back:.2f} s")
            time.sleep(1)
        return down, up
    finally:
        sites.close()


def zone_file(path: Path, serial: int) -> None:
    """The zone as a file, for CoreDNS and BIND: what Bulkhead answers with all sites up."""
    path.write_text(
        f"$ORIGIN {ZONE}.\n$TTL 30\n"
        f"@ IN SOA ns1.{ZONE}. hostmaster.{ZONE}. {serial} 30 16 604800 30\n"
        f"@ IN NS ns1.{ZONE}.\nns1 IN A 127.0.0.1\n"
        "web IN A 127.0.1.1\nweb IN A 127.0.1.2\nweb IN A 127.0.1.3\n"
        "api IN A 127.0.1.1\nshop IN A 127.0.1.2\n")


def dnsperf(port: int, queries: Path, seconds: int) -> float:
    out = sh("taskset", "-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries), "-l", str(seconds),
             "-c", "8", "-q", "500", "-t", "2")
    m = re.search(r"Queries per second:\s+([\d.]+)", out.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", out.stdout)
    if not m:
        raise SystemExit(f"dnsperf said:\n{out.stdout}\n{out.stderr}")
    common.log(f"  port {port}: {float(m.group(1)):,.0f} q/s, lost {lost.group(1) if lost else '?'}")
    return float(m.group(1))


def qps(bulkhead: Path, seconds: int, runs: int, work: Path) -> dict[str, list[float]]:
    queries = work / "queries.txt"
    # dnsperf reads "name type" per line, and cycles through the file.
    mix = [f"web.{ZONE} A", f"api.{ZONE} A", f"shop.{ZONE} A", f"{ZONE} SOA", f"nope.{ZONE} A"]
    queries.write_text("\n".join(mix * 20) + "\n")
    (work / "fleet").mkdir(exist_ok=True)
    # One nameserver on loopback; its sites' health endpoints on loopback too.
    fleet(work / "fleet", ["127.0.1.1", "127.0.1.2", "127.0.1.3"], ["127.0.0.1"], "30s", peer_port=5399)
    zone_file(work / "db.zone", 1)
    servers = {
        "bulkhead": (5301, ["taskset", "-c", "1", str(bulkhead), "traffic", "serve", "--instance", "ns1",
                            "--listen", "127.0.0.1:5301", "--rate-limit", "0", str(work / "fleet")], {}),
        "coredns": (5302, ["taskset", "-c", "1", str(coredns()), "-conf", str(work / "Corefile")], {"GOMAXPROCS": "1"}),
        "bind": (5303, ["taskset", "-c", "1", "named", "-g", "-n", "1", "-c", str(work / "named.conf")], {}),
    }
    (work / "Corefile").write_text(f"{ZONE}:5302 {{\n    bind 127.0.0.1\n    file {work / 'db.zone'}\n}}\n")
    (work / "named.conf").write_text(
        f'options {{ directory "{work}"; pid-file "{work}/named.pid"; listen-on port 5303 {{ 127.0.0.1; }}; '
        'listen-on-v6 { none; }; recursion no; dnssec-validation no; notify no; session-keyfile none; };\n'
        f'controls {{ }};\nzone "{ZONE}" {{ type primary; file "{work / "db.zone"}"; }};\n')
    health = [subprocess.Popen([sys.executable, "-c", HEALTH, f"127.0.1.{i}", "8080"]) for i in (1, 2, 3)]
    results: dict[str, list[float]] = {}
    try:
        for name, (port, cmd, env) in servers.items():
            common.log(f"{name}: {seconds} s × {runs}")
            proc = subprocess.Popen(cmd, stdout=open(work / f"{name}.log", "w"), stderr=subprocess.STDOUT,
                                    env=dict(os.environ, **env))
            try:
                check = lambda: "ANSWER: 3" in sh("dig", "+time=1", "+tries=1", "-p", str(port), "@127.0.0.1",
                                                  f"web.{ZONE}", "A", check=False).stdout
                until(check, 30, f"{name} answers")
                dnsperf(port, queries, 3)  # warm-up
                results[name] = [dnsperf(port, queries, seconds) for _ in range(runs)]
            finally:
                proc.terminate()
                proc.wait()
    finally:
        for h in health:
            h.kill()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--failovers", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for tool in ("dig", "dnsperf", "named", "taskset", "ip", "go"):
        if not shutil.which(tool):
            raise SystemExit(f"`{tool}` is missing (apt-get install dnsutils dnsperf bind9 util-linux iproute2 golang)")
    bulkhead = common.bulkhead_release()
    coredns()
    work = Path(tempfile.mkdtemp(prefix="bulkhead-traffic-bench-"))
    try:
        (work / "failover").mkdir()
        down, up = failovers(bulkhead, args.failovers, work / "failover")
        rates = qps(bulkhead, args.seconds, args.runs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in rates.items()}
    ttl = 5.0
    body = f"""## Traffic DNS (`bench/traffic.py`)

Machine: {common.machine()}. Rerun: `sudo python3 bench/traffic.py --failovers {args.failovers} --seconds {args.seconds} --runs {args.runs}`.

**Failover convergence** (three sites as network namespaces, an instance in each, the fleet's default probes:
every 2 s, timeout 1 s, down after 3 failures, up after 3 passes; TTL 5 s; site 1's cable pulled, `dig` from the
hub every 100 ms), median of {len(down)}:

| | median | min | max |
|---|---:|---:|---:|
| site down → every instance's answers exclude it | {statistics.median(down):.2f} s | {min(down):.2f} s | {max(down):.2f} s |
| … plus the TTL: the longest a user can still be sent there | {statistics.median(down) + ttl:.2f} s | | |
| site back → every instance's answers include it | {statistics.median(up):.2f} s | {min(up):.2f} s | {max(up):.2f} s |

Goal: under 15 s including the TTL. For comparison (documented, not measured here: they need a cloud or
a cluster): k8gb estimates 60-90 s (reconcile 30 s + TTL 30 s + caches), Route 53 failover 60-90 s.

**Queries per second**, the same zone on loopback, each server pinned to one core (`taskset`), dnsperf
(8 clients, 500 in flight) on the other, {args.seconds} s per run, median of {args.runs}; a mix of a
round-robin name (3 addresses), a failover name, a weighted name, the SOA and a name that does not exist:

| server | queries/s | vs CoreDNS |
|---|---:|---:|
| Bulkhead (`traffic serve`, rate limiting off) | {med['bulkhead']:,.0f} | {med['bulkhead'] / med['coredns']:.2f}× |
| CoreDNS (v1.15.0, `file` plugin, GOMAXPROCS=1) | {med['coredns']:,.0f} | 1.00× |
| BIND 9 (Debian, `-n 1`) | {med['bind']:,.0f} | {med['bind'] / med['coredns']:.2f}× |

Runs: {", ".join(f"{k}: " + " / ".join(f"{x:,.0f}" for x in v) for k, v in rates.items())}. CoreDNS and BIND
serve a static zone file; Bulkhead computes each answer from the sites' state and the policy.
"""
    common.write_section("traffic", body)


if __name__ == "__main__":
    main()
