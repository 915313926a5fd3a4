"""Start-up as a user waits for it: exec of `agent run` → its first model request reaching the server.

Beside it, in the same interleaved rounds and against the same local server:
- `python (http.client)`: a bare Python process posting one request (the floor any Python tool pays);
- `python + openai SDK`: a bare Python process posting one request through the openai client Duet uses;
- `agent --help`: exits before the run path is imported (what this bench used to time alone).

The server records when each request arrives (same clock as the exec), answers with a one-line streamed
reply, and the process is then left to finish. `agent run` is measured warm (its context caches already made by
an earlier run in the same workspace, as in a second CI step) and cold (first run in a fresh workspace).

Run: python bench/startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARRIVALS: list[float] = []
ARRIVED = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        ARRIVALS.append(time.perf_counter())
        ARRIVED.set()
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        model = body.get("model", "m")
        if not body.get("stream"):
            payload = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": model,
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": "ok"}}],
                                  "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}})
            data = payload.encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        chunks = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Nothing to change."},
                          "finish_reason": None}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 5, "total_tokens": 1005,
                                      "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 1000}},
        ]
        head = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model}
        text = "".join(f"data: {json.dumps({**head, **c})}\n\n" for c in chunks) + "data: [DONE]\n\n"
        data = text.encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


HTTP_CLIENT = """
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("POST", "/v1/chat/completions", json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
          {"content-type": "application/json", "authorization": "Bearer x"})
c.getresponse().read()
"""

SDK_CLIENT = """
import sys, openai
client = openai.OpenAI(base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key="x")
client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
"""


def time_to_request(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    ARRIVALS.clear()
    ARRIVED.clear()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not ARRIVED.wait(60):
        proc.kill()
        raise SystemExit(f"no request from {argv[:3]}: {proc.communicate()[1].decode()[-400:]}")
    first = ARRIVALS[0] - started
    _out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} exited {proc.returncode}: {err.decode()[-400:]}")
    return first


def time_to_exit(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - started


def workspace(base: Path, name: str) -> Path:
    target = base / name
    shutil.copytree(ROOT / "fixtures" / "repos" / "py_calc", target)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=target, check=True, capture_output=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    agent = str(Path(sys.executable).parent / "agent")
    if not Path(agent).is_file():
        agent = shutil.which("agent") or ""
    if not agent:
        print("the `agent` command is not installed", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        env.update(HOME=str(base / "home"), DEEPSEEK_API_KEY="x", OPENAI_API_KEY="x",
                   DEEPSEEK_BASE_URL=f"http://127.0.0.1:{port}", OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
        warm = workspace(base, "warm")
        run = [agent, "run", "--approval", "auto-edit", "--output", "json", "say hi"]
        time_to_request(run, env, warm)  # makes the warm workspace's caches
        rows: dict[str, list[float]] = {k: [] for k in ("python (http.client)", "python + openai SDK",
                                                         "agent --help (exit)", "agent run (warm)",
                                                         "agent run (cold)")}
        for i in range(args.rounds):  # interleaved: each round runs every command once
            rows["python (http.client)"].append(
                time_to_request([sys.executable, "-c", HTTP_CLIENT, str(port)], env, base))
            rows["python + openai SDK"].append(
                time_to_request([sys.executable, "-c", SDK_CLIENT, str(port)], env, base))
            rows["agent --help (exit)"].append(time_to_exit([agent, "--help"], env, base))
            rows["agent run (warm)"].append(time_to_request(run, env, warm))
            rows["agent run (cold)"].append(time_to_request(run, env, workspace(base, f"cold{i}")))
        floor = statistics.median(rows["python (http.client)"])
        print(f"load average before/after: {os.getloadavg()[0]:.2f}; {args.rounds} interleaved rounds")
        print(f"{'exec → first request':<24} {'median':>8} {'min':>8} {'max':>8} {'× floor':>8}")
        for name, times in rows.items():
            median = statistics.median(times)
            print(f"{name:<24} {median * 1000:6.0f}ms {min(times) * 1000:6.0f}ms {max(times) * 1000:6.0f}ms "
                  f"{median / floor:7.1f}×")
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
