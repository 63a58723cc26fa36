#!/usr/bin/env python3
"""The soak test's load (issue 7; run by scripts/soak.sh): virtual clients on threads, each
logging in, refreshing, introspecting, checking an API key, asking for client_credentials
tokens, revoking and logging out, over keep-alive connections, for a given time.

Every response is classed: expected (2xx, or the 401 a deliberate refusal should get), 5xx,
unexpected 4xx, or a connection error. The counts go to a JSON file every second (for the
sampler in soak.sh) and to stdout at the end. Only the standard library is used.
"""

import argparse
import base64
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

PASSWORD = "correct horse battery"


class Conn:
    """One keep-alive connection to one listener; reopened after an error."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            res = self.conn.getresponse()
            data = res.read()
            if (res.getheader("connection") or "").lower() == "close":
                self.close()
            return res.status, data
        except (http.client.HTTPException, OSError) as e:
            # Not retried: a POST may have been done; the caller starts its session over.
            self.close()
            return None, str(e).encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def form(fields):
    return urllib.parse.urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"}


def as_json(body):
    return json.dumps(body), {"Content-Type": "application/json"}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_op = {}
        self.classes = {"expected": 0, "5xx": 0, "unexpected_4xx": 0, "connection_errors": 0,
                        "wrong_answers": 0, "other": 0}
        self.examples = []

    def record(self, op, status, expected, body=b""):
        if status is None:
            kind = "connection_errors"
        elif status in expected:
            kind = "expected"
        elif status >= 500:
            kind = "5xx"
        elif 400 <= status < 500:
            kind = "unexpected_4xx"
        else:
            kind = "other"
        with self.lock:
            ops = self.by_op.setdefault(op, {})
            key = str(status)
            ops[key] = ops.get(key, 0) + 1
            self.classes[kind] += 1
            if kind != "expected" and len(self.examples) < 20:
                self.examples.append(f"{op}: {status} {body[:200]!r}")
        return kind == "expected"

    def wrong(self, op, body):
        """A 200 whose content is wrong (a live token introspected as inactive)."""
        with self.lock:
            self.classes["wrong_answers"] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{op}: wrong answer {body[:200]!r}")

    def snapshot(self, elapsed):
        with self.lock:
            # A wrong answer was also counted by its status.
            total = sum(v for k, v in self.classes.items() if k != "wrong_answers")
            return {"elapsed_seconds": round(elapsed, 1), "requests": total,
                    "classes": dict(self.classes), "by_op": json.loads(json.dumps(self.by_op)),
                    "examples": list(self.examples)}


class Client:
    """One virtual client: a session at a time, and the shared app key and OAuth client."""

    def __init__(self, args, setup, stats, seed):
        self.public, self.intranet = Conn(args.public), Conn(args.intranet)
        self.static = basic(args.static_user, args.static_password)
        self.setup, self.stats = setup, stats
        self.rng = random.Random(seed)
        self.read_only = args.mix == "read"
        self.session = None  # (refresh_token, claims_token, spent refresh tokens)
        self.issued = 0.0  # when the session's claims token was issued (monotonic)

    def call(self, op, conn, method, path, payload=None, headers=None, expected=(200,)):
        body, content = payload if payload else (None, {})
        status, data = conn.request(method, path, body, {**content, **(headers or {})})
        ok = self.stats.record(op, status, expected, data)
        if status is None:
            self.session = None
        return ok, status, data

    def login(self):
        userid = self.rng.choice(self.setup["users"])
        ok, status, data = self.call("login", self.public, "POST", "/login",
                                     as_json({"userid": userid, "password": PASSWORD}))
        if ok:
            body = json.loads(data)
            self.session = (body["refresh_token"], body["claims_token"]["value"], [])
            self.issued = time.monotonic()

    def refresh(self):
        token, _, spent = self.session
        ok, _, data = self.call("refresh", self.public, "POST", "/authService/accounts/refresh",
                                form({"refresh_token": token}))
        if ok:
            body = json.loads(data)
            self.session = (body["refresh_token"], body["claims_token"]["value"], spent + [token])
            self.issued = time.monotonic()
        else:
            self.session = None

    def introspect(self):
        _, claims, _ = self.session
        ok, _, data = self.call("introspect", self.intranet, "POST", "/oauth2/introspect",
                                form({"token": claims}), self.static)
        if ok and json.loads(data).get("active") is not True:
            self.stats.wrong("introspect", data)

    def key_check(self):
        self.call("key_check", self.public, "GET", "/api/v1/check",
                  headers={"X-VoltMX-App-API-Key": self.setup["key"]})

    def bad_key(self):
        # A mistyped key: refused before any lookup (the checksum).
        key = self.setup["key"]
        bad = key[:-3] + ("aaa" if not key.endswith("aaa") else "bbb")
        self.call("bad_key", self.public, "GET", "/api/v1/check",
                  headers={"X-VoltMX-App-API-Key": bad}, expected=(401,))

    def client_credentials(self):
        client_id, secret = self.setup["client"]
        self.call("client_credentials", self.public, "POST", "/oauth2/token",
                  form({"grant_type": "client_credentials"}), basic(client_id, secret))

    def end(self):
        token, claims, _ = self.session
        how = self.rng.randrange(4)
        if how == 0:
            self.call("revoke_refresh", self.intranet, "POST", "/oauth2/revoke",
                      form({"token": token}), self.static)
        elif how == 1:
            self.call("revoke_claims", self.intranet, "POST", "/oauth2/revoke",
                      form({"token": claims}), self.static)
        elif how == 2:
            self.call("logout", self.public, "POST", "/authService/accounts/logout",
                      form({"refresh_token": token}))
        # how == 3: abandoned, left to expire.
        self.session = None

    def replay(self):
        _, _, spent = self.session
        if not spent:
            return self.refresh()
        # A spent refresh token: refused, and the session ends (SPEC §3).
        self.call("replay_spent", self.public, "POST", "/authService/accounts/refresh",
                  form({"refresh_token": self.rng.choice(spent)}), expected=(401,))
        self.session = None

    def step(self):
        # Claims tokens live 2 minutes in soak.sh's config: a client whose token is a minute
        # old logs in again rather than present a token about to expire.
        if self.session is None or time.monotonic() - self.issued > 60:
            return self.login()
        if self.read_only:
            # One login per client, then only what writes nothing to the store.
            return self.rng.choices([self.introspect, self.key_check, self.bad_key],
                                    weights=[50, 45, 5])[0]()
        op = self.rng.choices(
            [self.introspect, self.key_check, self.client_credentials, self.refresh, self.end,
             self.replay, self.bad_key, self.login],
            weights=[25, 20, 10, 15, 4, 1, 1, 2])[0]
        op()


def set_up(args):
    """Users, an application with a key, and an OAuth client, made as `admin`."""
    conn = Conn(args.intranet)
    admin = basic("admin", args.admin_password)

    def post(path, body):
        payload, content = as_json(body)
        status, data = conn.request("POST", path, payload, {**content, **admin})
        if status not in (200, 201):
            sys.exit(f"set-up: POST {path} answered {status}: {data[:300]!r}")
        return json.loads(data)

    tag = f"{os.getpid()}-{int(time.time())}"
    users = []
    for n in range(args.users):
        userid = f"soak-{tag}-{n}"
        post("/api/v1/users", {"userid": userid, "password": PASSWORD})
        users.append(userid)
    app = post("/api/v1/applications", {"name": f"soak-{tag}"})
    key = post(f"/api/v1/applications/{app['app_id']}/keys", {"name": "soak"})
    client = post("/api/v1/oauth/clients", {"name": f"soak-{tag}"})
    return {"users": users, "key": key["key"],
            "client": (client["client_id"], client["client_secret"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--public", required=True)
    parser.add_argument("--intranet", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--static-user", required=True)
    parser.add_argument("--static-password", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--stats", required=True, help="JSON file rewritten every second")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--mix", choices=["mixed", "read"], default="mixed",
                        help="read: after one login per client, only introspections and key "
                             "checks (no store writes), to tell a leak from store growth")
    args = parser.parse_args()

    setup = set_up(args)
    stats = Stats()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"soak load: {args.threads} clients for {args.seconds:.0f} s, seed {seed}", flush=True)
    start = time.monotonic()
    deadline = start + args.seconds

    def run(n):
        client = Client(args, setup, stats, seed + n)
        while time.monotonic() < deadline:
            client.step()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(args.threads)]
    for t in threads:
        t.start()

    def write_stats():
        temp = args.stats + ".new"
        with open(temp, "w") as f:
            json.dump(stats.snapshot(time.monotonic() - start), f)
        os.replace(temp, args.stats)

    while any(t.is_alive() for t in threads):
        write_stats()
        time.sleep(1)
    for t in threads:
        t.join(timeout=60)
    write_stats()
    print(json.dumps(stats.snapshot(time.monotonic() - start), indent=1))


if __name__ == "__main__":
    main()
