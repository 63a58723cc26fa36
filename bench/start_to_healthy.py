#!/usr/bin/env python3
"""Starts a server and reports how long it took to answer GET /health with 200.

    start_to_healthy.py HOST PORT LOGFILE TIMEOUT_S -- COMMAND [ARGS...]

Prints "PID MILLISECONDS" and exits 0, leaving the server running (bench/load.sh stops it by
its pid). The clock starts just before the process is created, so the figure includes the
exec, opening the store and binding both listeners. On a timeout or an early exit it kills
what it started, prints the reason and exits 1. Polls every millisecond, loopback only.
"""

import http.client
import subprocess
import sys
import time


def healthy(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=0.5)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def main() -> int:
    if len(sys.argv) < 7 or sys.argv[5] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    host, port, logfile, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    command = sys.argv[6:]
    with open(logfile, "ab") as log:
        start = time.monotonic()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    while True:
        if healthy(host, port):
            elapsed_ms = (time.monotonic() - start) * 1000
            print(f"{proc.pid} {elapsed_ms:.1f}")
            return 0
        if proc.poll() is not None:
            print(f"the server exited with {proc.returncode} before it was healthy", file=sys.stderr)
            return 1
        if time.monotonic() - start > timeout:
            proc.kill()
            proc.wait()
            print(f"not healthy after {timeout} s", file=sys.stderr)
            return 1
        time.sleep(0.001)


if __name__ == "__main__":
    sys.exit(main())
