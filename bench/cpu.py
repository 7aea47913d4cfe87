"""CPU seconds a process has used, read from /proc: the server's cost per request, which stays
meaningful when the load generator and other processes compete for the same cores."""

import os
from collections.abc import Callable
from pathlib import Path

CpuProbe = Callable[[], float | None]
# Fields 14 and 15 of /proc/PID/stat (user and system time), counted after the ")" that ends the
# command name, which may itself contain spaces.
UTIME, STIME = 11, 12


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu(pid: int) -> CpuProbe:
    """CPU of a process and its children: a `serve --workers N` parent and its workers."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def probe() -> float | None:
        total = 0
        for member in [pid, *_children(pid)]:
            try:
                fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[UTIME]) + int(fields[STIME])
        return total / ticks

    return probe


def process_cpu(pid: int) -> CpuProbe:
    stat = Path(f"/proc/{pid}/stat")
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def probe() -> float | None:
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[UTIME]) + int(fields[STIME])) / ticks

    return probe


def no_cpu() -> float | None:
    return None
