#!/usr/bin/env python3
"""The Attention Explorer under load (issue 19): N concurrent clients for S seconds, on loopback only, each
sending a mix of valid requests (info, analyze + attention, head types, audio and image analyses when those
models are loaded) and malformed ones (bad JSON, unknown routes, wrong methods, unknown ids, non-audio uploads,
oversized bodies, bytes that are not HTTP). It starts its own `attn explore --port 0`, and reports:

  - valid requests that failed (must be 0) and malformed ones answered 5xx or not at all (must be 0);
  - latency p50 / p99 of the valid requests, per kind and overall;
  - the server's resident memory (VmRSS) before the load, at its end, and after a quiet second.

    python3 scripts/stress_explorer.py                      # 64 clients, 60 s (the issue's figures)
    python3 scripts/stress_explorer.py --clients 8 --seconds 5 --json out.json
Exits 1 when a valid request failed, a malformed one got a 5xx or no answer, or the server died.
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def percentile(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class Client(threading.Thread):
    def __init__(self, port, deadline, seed, info, results, lock):
        super().__init__(daemon=True)
        self.port, self.deadline, self.rng, self.info = port, deadline, random.Random(seed), info
        self.results, self.lock = results, lock

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def valid(self):
        kinds = ["info", "analyze", "head_types"]
        if self.info.get("audio") and self.info["audio"]["recordings"] > 0:
            kinds.append("audio")
        if self.info.get("vit") and self.info["vit"].get("test"):
            kinds.append("image")
        kind = self.rng.choice(kinds)
        if kind == "info":
            status, _ = self.request("GET", "/api/info")
        elif kind == "head_types":
            status, _ = self.request("GET", "/api/head_types")
        elif kind == "analyze":
            words = TEXT.split()
            text = " ".join(words[: self.rng.randint(3, len(words))])
            status, body = self.request("POST", "/api/analyze", json.dumps({"text": text}),
                                        {"Content-Type": "application/json"})
            if status == 200:
                an = json.loads(body)
                status, _ = self.request("GET", f"/api/attention?id={an['id']}&layer=0&head=0")
        elif kind == "audio":
            n = self.rng.randrange(self.info["audio"]["recordings"])
            status, _ = self.request("POST", f"/api/audio/analyze?index={n}", b"", {"Content-Length": "0"})
        else:
            n = self.rng.randrange(min(100, self.info["vit"]["test"]["size"]))
            status, _ = self.request("POST", f"/api/image/explain?index={n}", b"", {"Content-Length": "0"})
        return kind, status == 200, status

    def malformed(self):
        kind = self.rng.choice(["bad_json", "no_route", "wrong_method", "unknown_id", "not_audio", "too_big", "not_http"])
        if kind == "not_http":  # raw bytes on a socket: the server may answer 400 or close; it must live on
            s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            try:
                s.sendall(bytes(self.rng.getrandbits(8) for _ in range(200)) + b"\r\n\r\n")
                s.recv(4096)
            except OSError:
                pass
            finally:
                s.close()
            return kind, True, 0
        if kind == "bad_json":
            status, _ = self.request("POST", "/api/analyze", '{"text": ', {"Content-Type": "application/json"})
        elif kind == "no_route":
            status, _ = self.request("GET", "/api/nothing_here")
        elif kind == "wrong_method":
            status, _ = self.request("DELETE", "/api/info")
        elif kind == "unknown_id":
            status, _ = self.request("GET", "/api/attention?id=nope&layer=0&head=0")
        elif kind == "not_audio":
            status, _ = self.request("POST", "/api/audio/analyze", b"RIFF but not really a sound file",
                                     {"Content-Type": "audio/wav"})
        else:
            status, _ = self.request("POST", "/api/analyze", json.dumps({"text": "x" * 200000}),
                                     {"Content-Type": "application/json"})
        return kind, 400 <= status < 500, status

    def run(self):
        while time.time() < self.deadline:
            is_valid = self.rng.random() < 0.7
            t0 = time.time()
            try:
                kind, ok, status = self.valid() if is_valid else self.malformed()
            except Exception as e:  # no answer at all
                kind, ok, status = ("valid" if is_valid else "malformed"), False, repr(e)
            dt = time.time() - t0
            with self.lock:
                self.results.append((is_valid, kind, ok, status, dt))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--attn", default=os.path.join(ROOT, "build/release/bin/attn"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models/gpt-moby-dick"))
    ap.add_argument("--json", help="also write the report here")
    a = ap.parse_args()
    if not os.access(a.attn, os.X_OK):
        sys.exit(f"stress_explorer: {a.attn} is missing; build first (bash scripts/build.sh release)")
    server = subprocess.Popen([a.attn, "explore", "--port", "0", "--host", "127.0.0.1", "--model", a.model],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        port = None
        t0 = time.time()
        while port is None and time.time() - t0 < 120:
            line = server.stdout.readline()
            if not line:
                break
            m = re.search(r"explorer: http://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            sys.exit("stress_explorer: the explorer did not start")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/api/info")
        info = json.loads(c.getresponse().read())
        c.close()
        rss_before = rss_kb(server.pid)
        results, lock = [], threading.Lock()
        deadline = time.time() + a.seconds
        clients = [Client(port, deadline, 1000 + i, info, results, lock) for i in range(a.clients)]
        for cl in clients:
            cl.start()
        for cl in clients:
            cl.join()
        rss_end = rss_kb(server.pid)
        time.sleep(1)
        rss_after = rss_kb(server.pid)
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    valid = [r for r in results if r[0]]
    bad = [r for r in results if not r[0]]
    failed_valid = [r for r in valid if not r[2]]
    failed_bad = [r for r in bad if not r[2]]
    per_kind = {}
    for r in valid:
        per_kind.setdefault(r[1], []).append(r[4])
    report = {
        "clients": a.clients, "seconds": a.seconds, "server_alive": alive,
        "valid_requests": len(valid), "valid_failed": len(failed_valid),
        "malformed_requests": len(bad), "malformed_not_4xx": len(failed_bad),
        "latency_ms": {"p50": 1000 * percentile([r[4] for r in valid], 0.5),
                       "p99": 1000 * percentile([r[4] for r in valid], 0.99),
                       "per_kind": {k: {"count": len(v), "p50": 1000 * percentile(v, 0.5), "p99": 1000 * percentile(v, 0.99)}
                                    for k, v in sorted(per_kind.items())}},
        "rss_mb": {"before": rss_before / 1024, "end_of_load": rss_end / 1024, "one_second_later": rss_after / 1024},
        "examples_of_failures": [list(map(str, r)) for r in (failed_valid + failed_bad)[:5]],
    }
    print(f"explorer under {a.clients} clients for {a.seconds:g} s (loopback): server {'alive' if alive else 'DEAD'}")
    print(f"  valid requests: {len(valid)}, failed: {len(failed_valid)}; malformed: {len(bad)}, "
          f"answered other than 4xx: {len(failed_bad)}")
    lat = report["latency_ms"]
    print(f"  latency of valid requests: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms")
    for k, v in lat["per_kind"].items():
        print(f"    {k:<11} {v['count']:>6}  p50 {v['p50']:8.1f} ms  p99 {v['p99']:8.1f} ms")
    r = report["rss_mb"]
    print(f"  resident memory: {r['before']:.0f} MB before, {r['end_of_load']:.0f} MB at the end, "
          f"{r['one_second_later']:.0f} MB a second later")
    for f in report["examples_of_failures"]:
        print("  failure:", " ".join(f))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    sys.exit(0 if alive and not failed_valid and not failed_bad else 1)


if __name__ == "__main__":
    main()
