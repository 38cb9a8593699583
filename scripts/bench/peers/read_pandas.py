#!/usr/bin/env python3
"""read_pandas.py -- the pandas side of scripts/bench-ingest.

    read_pandas.py CSV [COL,COL,...]

Reads CSV with pandas.read_csv (its C engine, types inferred; with a list
of columns, usecols= keeps only those) and prints one line:
"wall_s cpu_s rows", the read call's own wall-clock and CPU seconds (the
interpreter's and pandas' start-up left out; CPU summed over threads).
"""
import sys
import time

import pandas as pd


def main():
    path = sys.argv[1]
    cols = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else None
    t0, c0 = time.perf_counter(), time.process_time()
    d = pd.read_csv(path, usecols=cols)
    t1, c1 = time.perf_counter(), time.process_time()
    print("%.4f %.4f %d" % (t1 - t0, c1 - c0, len(d)))


if __name__ == "__main__":
    main()
