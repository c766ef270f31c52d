# SPDX-License-Identifier: Apache-2.0
"""bench_cli: the command line on a generated book (issue 13 section 5).

    PYTHONPATH=bindings/python python3 bench/bench_cli.py [accounts] [rounds] [positions]

Writes tools/gen_book.py's book (default 100,000 accounts x 5 positions) to a temporary file,
runs `python3 -m librisk evaluate BOOK > /dev/null` and `evaluate --ndjson` `rounds` times
each (default 1), and prints the best wall time, the CPU time (user + system) and the peak RSS
of the child (os.wait4), as `result` lines, beside the targets for 10^5 x 5 accounts (5 s,
400 MB). The book is deleted afterwards; nothing is written to the tree. The load average is
printed too: on a shared machine the wall time means little without it.
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def run(args, env):
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen([sys.executable, "-m", "librisk"] + args, stdout=null, env=env)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit("bench_cli: %s failed (status %d)" % (" ".join(args), status))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    positions = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python")
    fd, path = tempfile.mkstemp(suffix=".json", prefix="librisk-bench-book-")
    os.close(fd)
    try:
        subprocess.check_call([sys.executable, os.path.join(ROOT, "tools", "gen_book.py"), "--accounts", str(n),
                               "--positions", str(positions), "-o", path])
        size = os.path.getsize(path)
        print("book: %d accounts x %d positions, %.1f MB; load average %.1f" % (n, positions, size / 1e6,
                                                                                  os.getloadavg()[0]))
        for name, args in (("evaluate", ["evaluate", path]), ("ndjson", ["evaluate", "--ndjson", path])):
            best = None
            for _ in range(rounds):
                got = run(args, env)
                best = got if best is None or got[0] < best[0] else best
            wall, cpu, rss = best
            print("%-9s wall %7.2f s  cpu %7.2f s  peak RSS %7.1f MB" % (name, wall, cpu, rss))
            print("result cli_%s_wall_s %.2f" % (name, wall))
            print("result cli_%s_cpu_s %.2f" % (name, cpu))
            print("result cli_%s_rss_mb %.1f" % (name, rss))
        print("result load_average %.1f" % os.getloadavg()[0])
    finally:
        os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
