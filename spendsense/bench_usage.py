"""What a benchmark stage's process used: its peak resident memory (with its worker processes) and its CPU time,
read from /proc and getrusage; and the end of a Spark stage's JVM, so its usage counts as the stage's."""

from __future__ import annotations

import os
import resource
from typing import Self


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB: VmHWM, which starts afresh at exec (ru_maxrss keeps the
    spawning parent's peak, e.g. after the one-day input was prepared in it), else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants now, in MiB (from /proc; 0 where unreadable)."""
    total_kb, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status", encoding="ascii") as fh:
                total_kb += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total_kb / 1024


class TreeMemory:
    """Samples the resident memory of this process with its children (a stage's worker processes run at the
    same time: their sum is what the machine holds) every `every` seconds; `.peak_mb` is the largest sum."""

    def __init__(self, every: float = 0.1):
        import threading

        self.peak_mb, self._every, self._stop = 0.0, every, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(os.getpid()))
            self._stop.wait(self._every)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds() -> float:
    """User plus system CPU time of this process, all threads (DuckDB's included), and of its ended children
    (a Spark stage's JVM and Python workers, once end_spark has waited for them)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def end_spark() -> None:
    """Stop this stage's SparkSession, if it started one, and wait for its JVM to exit, so the JVM's CPU and
    memory count as the stage's."""
    import sys

    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        gateway.shutdown()
        proc.stdin.close()  # the gateway JVM exits when its stdin closes
        proc.wait(timeout=120)
