#!/usr/bin/env python3
"""Times shell commands alternated run by run (A B C A B C ...), for scripts/bench.sh.

On a small shared machine absolute times drift with the load; two commands run back to
back see about the same load, so each run of a command is divided by the run of the
first command in the same round, and the median of those per-round ratios is printed
(with each command's median time).

Every run starts from the same state: `sync` (not timed) first, because a command that
writes a file and exits (cat, GNU tar) leaves it dirty, and its writeback would slow down
whatever runs next; minroot's own sync before its rename is part of its run, as users see
it. The order rotates each round (A B C, B C A, C A B, ...), so that no command always
runs right after the same one.

usage: alternate.py RUNS TITLE NAME=COMMAND [NAME=COMMAND ...]
The first command is the reference (ratio 1.00). Each command runs once first (warm-up,
page cache). stdout goes to /dev/null, stderr too unless the command fails; a failing
command stops the benchmark (its stderr shown).
Prints one table row per command: name, median ms, median of the per-round ratios."""

import os
import statistics
import subprocess
import sys
import time


def once(cmd):
    os.sync()
    # stderr is kept and shown only when the command fails: the notes of a run (pack's
    # NSS notes, libtree's "not all dependencies were found") would bury the tables.
    t = time.perf_counter()
    r = subprocess.run(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - t
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        sys.exit(f"alternate.py: {cmd!r} exited with {r.returncode}")
    return took


def main():
    runs, title = int(sys.argv[1]), sys.argv[2]
    cmds = [a.split("=", 1) for a in sys.argv[3:]]
    for _, c in cmds:
        once(c)
    times = [[] for _ in cmds]
    for r in range(runs):
        for i in range(len(cmds)):
            k = (i + r) % len(cmds)
            times[k].append(once(cmds[k][1]))
    print(f"### {title} ({runs} alternated rounds)")
    print()
    print("| command | median | ratio to the first (median of per-round ratios) |")
    print("|---|---:|---:|")
    for k, (name, c) in enumerate(cmds):
        ratios = [t / r for t, r in zip(times[k], times[0])]
        print(
            f"| {name} | {statistics.median(times[k]) * 1e3:.1f} ms | x{statistics.median(ratios):.2f} |"
        )
    print()
    sys.stdout.flush()


main()
