"""Instructions per event of the codec's workloads, counted by callgrind.

Time on a shared VM drifts by half from one minute to the next; instruction
counts do not (same interpreter, same bytes, same hash seed).  So this is the
measure to compare two versions of the codec by, while ``bench_codec.py`` stays
the measure of speed.  Each workload runs once and then ``--passes`` more times
under ``valgrind --tool=callgrind``; the difference, divided by the passes and
the events, leaves out start-up and loading the captures.

Needs valgrind (Debian package ``valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Runs under valgrind: the workload ``passes`` times over the event stream.
WORKLOAD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import bench_codec as bench
streams = bench.recv_streams(bench.SHARED_ESL)
stream, count = bench.event_stream(streams)
reads = [stream[i : i + bench.READ_SIZE] for i in range(0, len(stream), bench.READ_SIZE)]
touch = {"paymentd": bench.read_what_paymentd_reads, "call": bench.read_what_a_call_reads,
         "framed": bench.nothing}.get(sys.argv[2])
for _ in range(int(sys.argv[3])):
    if touch is None:
        assert bench.bare_loop(stream, case_insensitive=sys.argv[2] == "bare-ci") == count
    else:
        assert bench.run(reads, touch) == count
print(count)
"""

WORKLOADS = {
    "paymentd": "(a) located + typed + the headers paymentd reads",
    "call": "    ... without Unique-ID (a call's own session)",
    "framed": "    located + typed, no header read",
    "bare": "yardstick: (a)'s reads, no parser, exact case",
    "bare-ci": "yardstick: (a)'s reads, no parser, lower-cased copy",
}


def instructions(workload: str, passes: int) -> tuple[int, int]:
    """(instructions executed, events per pass) of ``passes`` passes of ``workload``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                WORKLOAD,
                str(HERE),
                workload,
                str(passes),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        total = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
        if total is None:
            raise RuntimeError(f"no summary in callgrind's output: {result.stderr[-500:]}")
        return int(total.group(1)), int(result.stdout.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=3, help="measured passes over the stream")
    ap.add_argument("workloads", nargs="*", metavar="WORKLOAD", help=", ".join(WORKLOADS))
    args = ap.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    print(f"Python {sys.version.split()[0]} at {sys.executable}, callgrind, PYTHONHASHSEED=0")
    sys.path.insert(0, str(HERE.parent))
    from paymentd.esl import _accel

    codec = "the compiled accelerator" if _accel.speedups else "pure Python (no accelerator)"
    print(f"ESL codec: {codec}")
    for workload in args.workloads or WORKLOADS:
        base, events = instructions(workload, 1)
        more, _ = instructions(workload, 1 + args.passes)
        per_event = (more - base) / args.passes / events
        print(f"{WORKLOADS[workload]:<56} {per_event:>10,.0f} instructions/event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
