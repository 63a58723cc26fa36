#!/usr/bin/env python3
"""How long a revocation made through one node takes to be honoured by the others (SPEC §11).

bench/propagation.sh starts the nodes and runs this. Each round logs a user in on one node,
logs the session out through the next node, and then asks every other node to introspect the
claims token until it answers inactive; the time from the logout's answer to the last node's
inactive answer is the round's propagation. The nodes rotate roles round by round.

  propagation.py ROUNDS ADMIN_PASSWORD USER PASSWORD NODE...   (NODE = public,intranet)

Prints p50, p99 and max in milliseconds, and every round that took longer than a second.
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def call(method, url, body=None, form=None, basic=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def main():
    rounds, admin_pw, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    nodes = [tuple(n.split(",")) for n in sys.argv[5:]]
    if len(nodes) < 2:
        sys.exit("propagation.py: at least two nodes")
    basic = f"admin:{admin_pw}"
    took = []
    slow = []
    for r in range(rounds):
        a, b = nodes[r % len(nodes)], nodes[(r + 1) % len(nodes)]
        status, body = call("POST", a[0] + "/login", body={"userid": user, "password": password})
        if status != 200:
            sys.exit(f"round {r}: login answered {status}")
        claims, refresh = body["claims_token"]["value"], body["refresh_token"]
        status, _ = call(
            "POST", b[0] + "/authService/accounts/logout", form={"refresh_token": refresh}
        )
        if status != 200:
            sys.exit(f"round {r}: logout answered {status}")
        done = time.monotonic()
        latest = 0.0
        for node in nodes:
            if node is b:
                continue
            while True:
                status, body = call(
                    "POST", node[1] + "/oauth2/introspect", form={"token": claims}, basic=basic
                )
                if status == 200 and body.get("active") is False:
                    latest = max(latest, time.monotonic() - done)
                    break
                if time.monotonic() - done > 10:
                    sys.exit(f"round {r}: {node[0]} still says active after 10 s")
                time.sleep(0.001)
        took.append(latest * 1000)
        if latest > 1:
            slow.append((r, latest))
    took.sort()
    pct = lambda p: took[min(len(took) - 1, int(p / 100 * len(took)))]  # noqa: E731
    print(
        f"revocation propagation over {len(nodes)} nodes, {rounds} logouts: "
        f"p50 {pct(50):.2f} ms, p99 {pct(99):.2f} ms, max {took[-1]:.2f} ms"
    )
    for r, s in slow:
        print(f"  round {r}: {s * 1000:.0f} ms (over the 1 s bound)")
    sys.exit(1 if slow else 0)


if __name__ == "__main__":
    main()
