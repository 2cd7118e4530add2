#!/usr/bin/env python3
"""Save-to-reload latency of `hotline watch`.

Usage:
    cargo build --release
    python3 benches/watch_latency.py --data tests/data/dong-e [--saves 20]
    python3 benches/watch_latency.py --data target/bench-data/1000000 --saves 5

Copies the Dong'e policy into a temporary folder, starts the release binary's
`hotline watch` on it with `--port 0`, listens to the preview's event stream
(`/events`), and saves the policy again and again the way editors do (write a
temporary file, rename it over the policy), each save adding a comment. For each
save it measures the time from the rename to the `reload` event the page would
act on, and prints the median and min-max, with the build time the watch reports
in `/state.json` (its phases: compile, load, evaluate, render).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="the data folder (DIR/2023-03/…)")
    parser.add_argument("--month", default="2023-03")
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/hotline"))
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"no {args.binary}: run `cargo build --release` first")

    work = tempfile.mkdtemp(prefix="hotline-watch-latency-")
    policy = os.path.join(work, "dong-e-monthly.policy")
    shutil.copy(os.path.join(ROOT, "policies/dong-e-monthly.policy"), policy)
    watch = subprocess.Popen(
        [args.binary, "watch", policy, "--data", os.path.abspath(args.data),
         "--month", args.month, "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = watch.stderr.readline()
            found = re.search(r"preview: http://127\.0\.0\.1:(\d+)/", line)
            if found:
                port = int(found.group(1))
        if port is None:
            sys.exit("the watch printed no preview address")

        stream = socket.create_connection(("127.0.0.1", port), timeout=300)
        stream.sendall(
            f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        events = stream.makefile("r", encoding="utf-8", newline="\n")

        def next_reload(after):
            event = None
            while True:
                line = events.readline()
                if not line:
                    sys.exit("the event stream closed")
                line = line.rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event in ("reload", "hello"):
                    version = int(line[len("data: "):])
                    if version > after:
                        return version

        def state():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", "/state.json", headers={"Host": f"127.0.0.1:{port}"})
            body = conn.getresponse().read()
            conn.close()
            return json.loads(body)

        # Wait for the first good build.
        while True:
            s = state()
            if s.get("ok"):
                break
            time.sleep(0.05)
        version = first_version = s["version"]

        def page():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", "/", headers={"Host": f"127.0.0.1:{port}"})
            body = conn.getresponse().read().decode("utf-8")
            conn.close()
            return body

        original = open(policy, encoding="utf-8").read()
        title = "东阿县12345市民热线承办件办理情况"
        if title not in original:
            sys.exit(f"the policy has no title `{title}` to change")
        latencies, builds = [], []
        for i in range(args.saves):
            time.sleep(0.3)  # a pause between saves, as a person makes
            marker = f"{title}第{i}稿"
            temp = policy + ".tmp"
            with open(temp, "w", encoding="utf-8") as f:
                f.write(original.replace(title, marker))
            start = time.perf_counter()
            os.replace(temp, policy)
            while True:
                version = next_reload(version)
                seen = time.perf_counter()
                if marker in page():
                    break
            latencies.append((seen - start) * 1000)
            s = state()
            builds.append(s.get("rendered_in_ms", float("nan")))
        time.sleep(0.5)
        builds_per_save = (state()["version"] - first_version) / args.saves
        median = statistics.median(latencies)
        print(f"data: {args.data} ({args.month}), {args.saves} saves, "
              f"{builds_per_save:.2f} builds per save")
        print(f"save -> reload event: median {median:.0f} ms "
              f"(min {min(latencies):.0f}, max {max(latencies):.0f})")
        known = [b for b in builds if b == b]
        if known:
            print(f"build as the watch reports it: median {statistics.median(known):.0f} ms")
        print(f"last build's phases (ms): {json.dumps(s.get('phases_ms'), ensure_ascii=False)}")
    finally:
        watch.terminate()
        watch.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
