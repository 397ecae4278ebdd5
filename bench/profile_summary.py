"""Where the CPU goes, from py-spy's raw (collapsed) stacks: the top functions by own time (the
sample's innermost frame) and by total time (anywhere on the stack), and own time by library.

    .venv/bin/python bench/profile_summary.py FILE.raw.txt [...] [--top 15]

bench/pipeline.py --profile DIR writes DIR/<process>.raw.txt (py-spy record --format raw
--subprocesses) and this summary of each as DIR/summary.txt.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/wt-bench/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _library(path: str) -> str:
    short = _short(path)
    if "site-packages/" in path:
        return short.split("/", 1)[0]
    if short.startswith(("shared/", "services/", "bench/")):
        return "sopdesk (" + short.split("/", 1)[0] + ")"
    if "/lib/python3" in path:
        return "python stdlib"
    return short.split("/", 1)[0] or "?"


def _key(frame: str) -> tuple[str, str]:
    match = FRAME.match(frame)
    if not match:
        return frame, "?"
    return f"{match['name']} ({_short(match['file'])})", match["file"]


# where a task (Celery) or a request (Flask) starts: stacks are cut there for the "total" lists
ENTRIES = ("build_tracer.<locals>.trace_task", "Flask.wsgi_app")


def read(path: Path) -> dict:
    """Own time per function, total time per function below the task/request entry, own time per
    library, and the samples inside and outside tasks/requests."""
    own, total, libraries, outside = Counter(), Counter(), Counter(), Counter()
    samples = inside = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += n
        keys = [_key(f) for f in frames]
        own[keys[-1][0]] += n
        libraries[_library(keys[-1][1])] += n
        entry = next((i for i, k in enumerate(keys) if k[0].split(" (")[0] in ENTRIES), None)
        if entry is None:
            outside[keys[-1][0]] += n
            continue
        inside += n
        for name in {k[0] for k in keys[entry + 1:]}:
            total[name] += n
    return {"own": own, "total": total, "libraries": libraries, "outside": outside, "samples": samples,
            "inside": inside}


def summarise(path: Path, top: int = 15, rate: int = 100) -> str:
    found = read(path)
    own, total, samples, inside = found["own"], found["total"], found["samples"], found["inside"]
    name = path.name.removesuffix(".raw.txt")
    if not samples:
        return f"== {name}: no samples\n"
    lines = [f"== {name}: {samples} samples (~{samples / rate:.1f} s holding the GIL at {rate} Hz); "
             f"{100 * inside / samples:.0f}% inside tasks/requests, {100 * (samples - inside) / samples:.0f}% outside "
             f"(the worker's or server's own loop: broker, pool, sockets)"]
    lines.append(f"-- top {top} by own time (% of all samples)")
    for fn, n in own.most_common(top):
        lines.append(f"{100 * n / samples:5.1f}%  {fn}")
    lines.append(f"-- top {top} by total time inside tasks/requests (% of all samples; wrappers on more than 95% "
                 f"of the task/request samples left out)")
    for fn, n in [(fn, n) for fn, n in total.most_common() if n <= 0.95 * inside][:top]:
        lines.append(f"{100 * n / samples:5.1f}%  {fn}")
    lines.append(f"-- sopdesk's own functions (shared/, services/) by total time (% of all samples)")
    for fn, n in [(fn, n) for fn, n in total.most_common()
                  if fn.rsplit("(", 1)[-1].startswith(("shared/", "services/"))][:top]:
        lines.append(f"{100 * n / samples:5.1f}%  {fn}")
    lines.append("-- outside tasks/requests, top 5 by own time (% of all samples)")
    for fn, n in found["outside"].most_common(5):
        lines.append(f"{100 * n / samples:5.1f}%  {fn}")
    lines.append("-- own time by library")
    lines.append("  ".join(f"{lib} {100 * n / samples:.0f}%" for lib, n in found["libraries"].most_common(12)))
    return "\n".join(lines) + "\n"


def summarise_folder(folder: Path, top: int = 15) -> str:
    return "\n".join(summarise(p, top) for p in sorted(folder.glob("*.raw.txt")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    for path in args.files:
        print(summarise(path, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
