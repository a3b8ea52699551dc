#!/usr/bin/env python3
"""How this machine treats memory that sits idle for a few seconds.

`serve` touches each monitor's state once per interval (10 s in the
benchmark), so a machine that makes idle pages slow to touch again (a VM
whose host reclaims or tracks guest memory, for example) makes every probe
slower, and CPU per probe rises with the time a page sits idle, not with the
work done. This script measures it: it writes one byte per 4 KiB page of a
200 MiB buffer, at once and again after the buffer sat idle, and prints the
time per page.

Standard library only; about one minute. A machine without the effect
prints about the same figure on every line after the first touch.
"""

import time

SIZE = 200 * 2**20
PAGE = 4096
IDLE_S = (1, 2, 5, 15, 30)


def touch(buffer):
    """Nanoseconds per page to write one byte into every page."""
    started = time.perf_counter()
    for offset in range(0, SIZE, PAGE):
        buffer[offset] = (buffer[offset] + 1) & 0xFF
    return (time.perf_counter() - started) / (SIZE // PAGE) * 1e9


def main():
    buffer = bytearray(SIZE)
    print("| touch | ns per page |")
    print("|---|---|")
    print(f"| first (the kernel maps each page) | {touch(buffer):,.0f} |")
    print(f"| again at once | {touch(buffer):,.0f} |")
    for idle in IDLE_S:
        time.sleep(idle)
        print(f"| after {idle} s idle | {touch(buffer):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
