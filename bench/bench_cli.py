# SPDX-License-Identifier: Apache-2.0
"""bench_cli: the command line on a generated book (issue 13 section 5).

    PYTHONPATH=bindings/python python3 bench/bench_cli.py [accounts] [rounds] [positions] [--no-liquidate]

Writes tools/gen_book.py's book (default 100,000 accounts x 5 positions) to a temporary file
and runs, `rounds` times each (default 3), in child processes with stdout to /dev/null:

- the baseline: `json.load` of the same book by the standard library (a Python process that
  only parses the file: what any Python reader of the book pays at least);
- `python3 -m librisk evaluate BOOK` and `evaluate --ndjson BOOK`;
- `python3 -m librisk liquidate --compact` on the book and on one of a tenth of the accounts
  (the ratio of the two says whether the command is linear in the book; skipped with
  --no-liquidate).

Each program's best CPU time (user + system of the child, os.wait4), its wall time in that
round and its peak RSS are printed as `result` lines, with the ratio of each CPU time to the
baseline's, beside the targets for 10^5 x 5 accounts (5 s wall on a quiet machine, 400 MB).
The CPU time is the figure to compare on a shared machine; the wall time means little without
the load average, which is printed before and after. The books are deleted afterwards.
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def run(argv, env):
    """(wall s, CPU s, peak RSS MB) of one child run with stdout to /dev/null."""
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, stdout=null, env=env)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit("bench_cli: %s failed (status %d)" % (" ".join(argv), status))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def best(argv, env, rounds):
    """The round with the least CPU time."""
    got = [run(argv, env) for _ in range(rounds)]
    return min(got, key=lambda r: r[1])


def book(n, positions, path):
    subprocess.check_call([sys.executable, os.path.join(ROOT, "tools", "gen_book.py"), "--accounts", str(n),
                           "--positions", str(positions), "-o", path])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    liquidate = "--no-liquidate" not in sys.argv[1:]
    n = int(args[0]) if len(args) > 0 else 100000
    rounds = int(args[1]) if len(args) > 1 else 3
    positions = int(args[2]) if len(args) > 2 else 5
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python")
    paths = []
    try:
        fd, path = tempfile.mkstemp(suffix=".json", prefix="librisk-bench-book-")
        os.close(fd)
        paths.append(path)
        book(n, positions, path)
        print("book: %d accounts x %d positions, %.1f MB; load average %.1f; best of %d rounds by CPU time"
              % (n, positions, os.path.getsize(path) / 1e6, os.getloadavg()[0], rounds))
        py = sys.executable
        base = best([py, "-c", "import json, sys; json.load(open(sys.argv[1]))", path], env, rounds)
        rows = [("json_load", base)]
        rows.append(("evaluate", best([py, "-m", "librisk", "evaluate", path], env, rounds)))
        rows.append(("ndjson", best([py, "-m", "librisk", "evaluate", "--ndjson", path], env, rounds)))
        if liquidate:
            fd, small = tempfile.mkstemp(suffix=".json", prefix="librisk-bench-book-")
            os.close(fd)
            paths.append(small)
            book(max(1, n // 10), positions, small)
            rows.append(("liquidate", best([py, "-m", "librisk", "liquidate", "--compact", path], env, rounds)))
            rows.append(("liquidate_tenth", best([py, "-m", "librisk", "liquidate", "--compact", small], env,
                                                 rounds)))
        for name, (wall, cpu, rss) in rows:
            print("%-16s wall %7.2f s  cpu %7.2f s (%5.2fx json.load)  peak RSS %7.1f MB"
                  % (name, wall, cpu, cpu / base[1], rss))
            print("result cli_%s_wall_s %.2f" % (name, wall))
            print("result cli_%s_cpu_s %.2f" % (name, cpu))
            print("result cli_%s_cpu_vs_json_load %.2f" % (name, cpu / base[1]))
            print("result cli_%s_rss_mb %.1f" % (name, rss))
        if liquidate:
            ratio = dict(rows)["liquidate"][1] / dict(rows)["liquidate_tenth"][1]
            print("liquidate: 10x the accounts, %.1fx the CPU time" % ratio)
            print("result cli_liquidate_cpu_ratio_10x %.2f" % ratio)
        print("targets (10^5 x 5): evaluate <= 5 s wall on a quiet machine, <= 400 MB")
        print("result load_average %.1f" % os.getloadavg()[0])
    finally:
        for p in paths:
            os.unlink(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
