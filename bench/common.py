"""What every benchmark script shares: building Bulkhead and the peers,
timing a command over several runs with its peak memory, and writing a
section of BENCHMARKS.md.

A benchmark here times whole commands as a user runs them (process start,
reading files, printing), several times, and reports the median and the
peak resident memory. The peer runs in the same script on the same input.
"""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BULKHEAD_CACHE", Path.home() / ".cache" / "bulkhead"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
WORK = CACHE / "bench"


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def bulkhead_release() -> Path:
    """Builds `bulkhead` with the release profile and returns its path."""
    log("building bulkhead (release)")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "bulkhead"], cwd=ROOT, check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=str(TARGET)))
    return TARGET / "release" / "bulkhead"


def peers() -> Path:
    """Builds the pinned Go peers (kubeconform, kube-score) into a cache keyed
    on bench/go's module files and the Go version, and returns the folder."""
    go = ROOT / "bench" / "go"
    goversion = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256((go / "go.mod").read_bytes() + (go / "go.sum").read_bytes() + goversion.encode()).hexdigest()[:16]
    out = CACHE / "bench-bin" / key
    want = ["kubeconform", "kube-score"]
    if all((out / w).exists() for w in want):
        return out
    log("building peers: kubeconform, kube-score (cold: about 1.5 min)")
    tmp = out.with_suffix(".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(tmp) + "/",
                    "github.com/yannh/kubeconform/cmd/kubeconform", "github.com/zegl/kube-score/cmd/kube-score"],
                   cwd=go, check=True, env=dict(os.environ, CGO_ENABLED="0"))
    tmp.rename(out)
    return out


@dataclass
class Timing:
    """Several runs of one command."""

    name: str
    seconds: list[float]
    peak_mib: float
    exit_codes: list[int]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def line(self) -> str:
        spread = f"{min(self.seconds):.3f}–{max(self.seconds):.3f}"
        return f"{self.name}: median {self.median:.3f} s ({spread} s over {len(self.seconds)} runs), peak {self.peak_mib:.0f} MiB"


def measure(name: str, cmd: list[str], runs: int = 5, ok_codes: tuple[int, ...] = (0,), cwd: Path | None = None,
            warmup: int = 1, stdin: Path | None = None) -> Timing:
    """Runs `cmd` `warmup` + `runs` times (output discarded, `stdin` fed from
    a file) and keeps the wall time and peak resident memory of each timed run."""
    seconds, peak, codes = [], 0, []
    for i in range(warmup + runs):
        start = time.perf_counter()
        feed = open(stdin, "rb") if stdin else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdin=feed, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if stdin:
            feed.close()
        code = os.waitstatus_to_exitcode(status)
        if code not in ok_codes:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"{name}: `{' '.join(cmd)}` exited {code}\n{err[-2000:]}")
        if i >= warmup:
            seconds.append(elapsed)
            codes.append(code)
            peak = max(peak, usage.ru_maxrss)  # KiB on Linux
    t = Timing(name, seconds, peak / 1024, codes)
    log(t.line())
    return t


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.system()} {platform.release()}"


def write_section(name: str, body: str) -> None:
    """Replaces the section `name` of BENCHMARKS.md (between its markers), or
    appends it, leaving every other section as it was."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    log(f"wrote the `{name}` section of BENCHMARKS.md")
