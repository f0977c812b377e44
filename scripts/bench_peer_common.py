"""What both benchmark peers share: T5 bucketing exactly as Hugging Face transformers
computes it, and timing rpbtool as a whole process with its peak memory."""
import math
import os
import subprocess
import sys
import tempfile
import time

import torch


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32,
                             max_distance=128):
    # transformers/models/t5/modeling_t5.py, T5Attention._relative_position_bucket
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def run_rpbtool(command):
    """One whole-process run of rpbtool, timed from spawn to exit, then its peak memory.

    The timed run goes through BENCH_TIMER (scripts/bench_timer.c) when it is set: that small
    process times rpbtool's lifetime itself, so that this large interpreter's own fork and
    exec (~3-6 ms here) are not counted as rpbtool's start-up; without it, the time is taken
    here around subprocess.call. Max RSS comes from a second, untimed run under
    /usr/bin/time -v: wait4's ru_maxrss of a child of this process would include this
    (large) process's high-water mark, which the kernel carries over at exec, and timing
    through /usr/bin/time would add its own fork and exec (about 3 ms here) to rpbtool's.
    """
    # Let this process's own BLAS worker threads go idle first: after each threaded call
    # OpenBLAS's pthreads pool spins in sched_yield for about 0.1 s, and on a 2-core machine
    # that would take the cores from the rpbtool run that follows.
    time.sleep(float(os.environ.get("BENCH_SETTLE", "0.25")))
    timer = os.environ.get("BENCH_TIMER")  # scripts/bench_timer.c, built by the bench script
    # rpbtool's environment: this process's without the OpenBLAS kernel choice made for the
    # peer (bench.md: a fair BLAS for the peer's process only), plus the NAME=VALUE words of
    # BENCH_RPBTOOL_ENV (RPB_KERNEL_PATH=avx2, or OPENBLAS_CORETYPE=Prescott to show that
    # it changes nothing).
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    for word in os.environ.get("BENCH_RPBTOOL_ENV", "").split():
        name, _, value = word.partition("=")
        env[name] = value
    with open(os.devnull, "wb") as devnull:
        if timer:
            with tempfile.NamedTemporaryFile("r", suffix=".elapsed") as elapsed_file:
                status = subprocess.call([timer, elapsed_file.name] + command, stdout=devnull,
                                         env=env)
                text = elapsed_file.read().strip()
            elapsed = float(text) if status == 0 and text else 0.0
        else:
            start = time.perf_counter()
            status = subprocess.call(command, stdout=devnull, env=env)
            elapsed = time.perf_counter() - start
        if status != 0:
            sys.exit(f"bench peer: {' '.join(command)} failed with status {status}")
        with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
            timed = ["/usr/bin/time", "-v", "-o", report.name] + command
            if subprocess.call(timed, stdout=devnull, env=env) != 0:
                sys.exit(f"bench peer: {' '.join(command)} failed under /usr/bin/time")
            rss = [line.split(":")[1] for line in report if "Maximum resident set size" in line]
    return elapsed, int(rss[0])
