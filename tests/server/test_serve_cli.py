"""``toolgym env serve`` starts the server; a bad env id is one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import gymnasium as gym
import httpx
from server_helpers import free_port

import envs  # noqa: F401


def test_env_serve_runs_episodes():
    port = free_port()
    cmd = [sys.executable, "-m", "agents", "env", "serve", "toolgym/Countdown-v0", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            time.sleep(0.2)
        env = gym.make("toolgym/Remote-v0", url=f"http://127.0.0.1:{port}", env_id="toolgym/Countdown-v0")
        local = gym.make("toolgym/Countdown-v0")
        assert env.reset(seed=1) == local.reset(seed=1)
        turn = local.unwrapped.demonstration()[-1]
        assert env.step(turn) == local.step(turn)
        env.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_env_serve_refuses_an_unknown_env():
    out = subprocess.run(
        [sys.executable, "-m", "agents", "env", "serve", "toolgym/Nope-v0"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "unknown env 'toolgym/Nope-v0'" in out.stderr
