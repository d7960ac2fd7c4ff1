#!/usr/bin/env python3
"""Measure Python components under a real Tollgate server: upload-to-active
time, then fuel, peak memory and duration of fresh-instance calls (the
admin dry-run runs exactly the production call path).

    python3 tests/guests-py/measure.py TOLLGATE_BINARY COMPONENTS_DIR [RUNS]

COMPONENTS_DIR is what build.sh wrote. The server runs on a free loopback
port with its own data dir and the limits raised by environment (the
defaults refuse an 18 MB component), and is stopped at the end.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LIMITS = {
    "TOLLGATE_MAX_COMPONENT_BYTES": str(32 << 20),
    "TOLLGATE_COMPILE_TIMEOUT_MS": "60000",
    "TOLLGATE_MEMORY_MIB": "64",
    "TOLLGATE_FUEL": "1000000000",
    "TOLLGATE_DEADLINE_MS": "5000",
}
# (component, fixture whose input is measured)
CASES = [
    ("bare", HERE / "bare/fixtures/accepts.json"),
    ("min-max-quantity-py", REPO / "plugins/examples/min-max-quantity-py/fixtures/below-minimum.json"),
    ("one-active-subscription-py", REPO / "plugins/examples/one-active-subscription-py/fixtures/second-subscription.json"),
    ("template-precheck", REPO / "plugins/templates/python/precheck/content/fixtures/accept.json"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, token: str, body: bytes, content_type: str) -> dict:
    request = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def main() -> None:
    binary, components = sys.argv[1], Path(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    with tempfile.TemporaryDirectory() as data:
        tenant = json.loads(subprocess.check_output([binary, "tenant", "create", "--name", "measure", "--data-dir", data]))
        port = free_port()
        env = dict(os.environ, **LIMITS)
        server = subprocess.Popen([binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}/admin/v1"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            for name, fixture in CASES:
                wasm = (components / f"{name}.wasm").read_bytes()
                started = time.monotonic()
                call(f"{base}/plugins?name={name}", tenant["admin_token"], wasm, "application/wasm")
                upload = time.monotonic() - started
                body = json.dumps({"plugin": name, "input": json.loads(fixture.read_text())["input"]}).encode()
                results = [call(f"{base}/dry-run", tenant["admin_token"], body, "application/json") for _ in range(runs)]
                durations = sorted(r["duration_us"] for r in results)
                print(json.dumps({
                    "component": name, "bytes": len(wasm), "upload_s": round(upload, 2),
                    "fuel": results[-1]["fuel"], "peak_memory": results[-1]["peak_memory"],
                    "duration_us": {"min": durations[0], "median": statistics.median(durations),
                                    "p90": durations[int(len(durations) * 0.9) - 1]},
                }))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
