"""Bad requests are 4xx naming the field, a server past capacity refuses at once with 503, and idle
sessions are closed with their envs."""

from __future__ import annotations

import json
import time

import gymnasium as gym
import httpx
import pytest
from openenv.core.generic_client import GenericEnvClient
from server_helpers import running_server
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import envs  # noqa: F401
from envs.core.errors import InfraError


def ws_call(url: str, message: dict) -> dict:
    with connect(url.replace("http", "ws") + "/ws", proxy=None) as ws:
        ws.send(json.dumps(message))
        return json.loads(ws.recv(timeout=60))


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"seed": -1}, 422, "seed"),
        ({"seed": "x"}, 422, "seed"),
        ({"env_id": "toolgym/Nope-v0"}, 400, "env_id"),
        ({"env_id": 3}, 400, "env_id"),
        ({"env_kwargs": {"max_turns": 0}}, 400, "env_kwargs"),
        ({"env_kwargs": {"bogus": 1}}, 400, "env_kwargs"),
        ({"env_kwargs": [1]}, 400, "env_kwargs"),
        ({"options": "x"}, 400, "options"),
        ({"options": {"task_id": "no such task"}}, 400, "options.task_id"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_bad_reset_is_4xx_naming_the_field(server, body, status, field):
    url, _ = server
    reply = httpx.post(f"{url}/reset", json=body, timeout=60)
    assert reply.status_code == status, reply.text
    assert field in json.dumps(reply.json()["detail"])
    # the same over a WebSocket session: an error frame naming the field, the session kept
    if status == 400:
        frame = ws_call(url, {"type": "reset", "data": body})
        assert frame["type"] == "error" and field in frame["data"]["message"]


def test_bad_step_is_4xx_naming_the_field(server):
    url, _ = server
    for action, field in (({"message": 3}, "message"), ({"text": "x"}, "message"), ({}, "message")):
        reply = httpx.post(f"{url}/step", json={"action": action}, timeout=60)
        assert reply.status_code == 422 and field in json.dumps(reply.json()["detail"])
    assert httpx.post(f"{url}/step", json={}, timeout=60).status_code == 422
    # a step outside an episode: 409 (OpenEnv's HTTP step gets a fresh env; episodes run over /ws)
    reply = httpx.post(f"{url}/step", json={"action": {"message": "<answer>1</answer>"}}, timeout=60)
    assert reply.status_code == 409 and "reset" in reply.json()["detail"]
    frame = ws_call(url, {"type": "step", "data": {"message": 3}})
    assert frame["data"]["code"] == "VALIDATION_ERROR" and frame["data"]["errors"][0]["loc"] == ["message"]
    env = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0", max_turns=0)
    with pytest.raises(ValueError, match="^env_kwargs: .*max_turns"):
        env.reset(seed=0)
    env.close()


def test_past_capacity_refused_at_once_with_503():
    with running_server(("toolgym/Countdown-v0",), max_sessions=2) as (url, app):
        held = [gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0") for _ in range(2)]
        for env in held:
            env.reset(seed=0)
        start = time.monotonic()
        with pytest.raises(InvalidStatus) as refused:
            connect(url.replace("http", "ws") + "/ws", proxy=None)
        assert refused.value.response.status_code == 503
        assert b"max_sessions" in refused.value.response.body
        assert time.monotonic() - start < 5
        third = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0")
        with pytest.raises(InfraError, match="HTTP 503"):
            third.reset(seed=0)
        with pytest.raises(ConnectionError, match="503"):  # OpenEnv's own client sees it too
            GenericEnvClient(base_url=url).sync().connect()
        held.pop().close()
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/envs").json()["sessions"] >= 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        third.reset(seed=0)  # a slot is free again
        third.close()
        held[0].close()


def test_idle_sessions_are_reaped():
    with running_server(("toolgym/Countdown-v0",), max_sessions=4, idle_timeout_s=0.5) as (url, app):
        env = gym.make("toolgym/Remote-v0", url=url, env_id="toolgym/Countdown-v0")
        env.reset(seed=0)
        assert httpx.get(f"{url}/envs").json()["sessions"] == 1
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/envs").json()["sessions"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert httpx.get(f"{url}/envs").json()["sessions"] == 0
        # the episode of a reaped session ends as an infrastructure error ...
        _, _, _, truncated, info = env.step("<answer>1+2</answer>")
        assert truncated and info["is_success"] is None and "closed the session" in info["error"]
        # ... and the next reset opens a new session
        obs, _ = env.reset(seed=0)
        assert obs and httpx.get(f"{url}/envs").json()["sessions"] == 1
        env.close()


def test_session_ids_are_random_uuids(server):
    """The ids of sessions (OpenEnv's, for /mcp) are UUID4s: 122 random bits, not a counter."""
    import uuid

    url, app = server
    ids = set()
    for _ in range(3):
        reply = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "openenv/session/create"})
        sid = reply.json()["result"]["session_id"]
        assert uuid.UUID(sid).version == 4
        ids.add(sid)
        httpx.post(
            f"{url}/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "openenv/session/close",
                "params": {"session_id": sid},
            },
        )
    assert len(ids) == 3
