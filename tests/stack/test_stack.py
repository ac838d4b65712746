"""The compose stack, end to end: code and search episodes against the services, isolation inside the
sandbox container, bad input, and every sandbox replica serving behind the one address."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

METRIC_RUNS = re.compile(r'^toolgym_sandbox_runs_total\{status="[a-z_]+"\} (\d+)', re.M)
READ_METRICS = (
    "import urllib.request; "
    "print(urllib.request.urlopen('http://127.0.0.1:8080/metrics', timeout=5).read().decode())"
)


def test_sandbox_runs_code_through_the_balancer(sandbox) -> None:
    result = sandbox.run("print(sum(range(10)))")
    assert result.status == "ok", result
    assert result.stdout.strip() == "45"


def test_runs_in_the_stack_have_numpy(sandbox) -> None:
    """The image's runs use the provisioned interpreter (TOOLGYM_SANDBOX_PYTHON): numpy, scipy, sympy."""
    r = sandbox.run(
        "import numpy as np, scipy, sympy\nprint(int(np.arange(10).sum()), sympy.factor('x**2 - 1'))",
        timeout_s=30,
    )
    assert (r.status, r.stdout) == ("ok", "45 (x - 1)*(x + 1)\n"), r


def test_code_episode(sandbox) -> None:
    """A multi-turn code episode on the service: define, test, fix, test again, in one session."""
    with sandbox.open_session(timeout_s=10.0) as session:
        assert session.run("def mean(xs):\n    return sum(xs) // len(xs)\n").status == "ok"
        first = session.run("print(mean([1, 2]))")
        assert first.status == "ok" and first.stdout.strip() == "1"  # the bug shows
        assert session.run("def mean(xs):\n    return sum(xs) / len(xs)\n").status == "ok"
        second = session.run("assert mean([1, 2]) == 1.5\nprint('passed')")
        assert second.status == "ok" and second.stdout.strip() == "passed"
    failing = sandbox.run("raise SystemExit(3)")
    assert failing.status == "error" and failing.exit_code == 3


def test_python_tool_episode(sandbox_url: str) -> None:
    """PythonTool-v0 through the balancer (TOOLGYM_SANDBOX_URL): a persistent interpreter across
    calls (a session, pinned to one replica), then the answer, reward 1."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the envs)

    env = gym.make("toolgym/PythonTool-v0", persistent=True)
    try:
        env.reset(seed=3)
        inner = env.unwrapped
        assert inner.interpreter.sandbox.__class__.__name__ == "SandboxClient"
        obs, reward, terminated, truncated, info = env.step("<python>secret = 40 + 2</python>")
        assert not (terminated or truncated) and "error" not in info
        obs, *_ = env.step("<python>print(secret)</python>")
        assert "42" in obs
        _, reward, terminated, _, info = env.step(inner.answer_turn(inner.task.answer))
        assert terminated and reward == 1.0 and info["is_success"] is True
    finally:
        env.close()


def test_code_task_episodes(sandbox_url: str) -> None:
    """CodeTask-v0's reference solutions graded by hidden tests in the served sandbox: reward 1."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the envs)

    env = gym.make("toolgym/CodeTask-v0")
    try:
        for task_id in env.unwrapped.task_ids()[:4]:
            env.reset(options={"task_id": task_id})
            _, reward, terminated, _, info = env.step(env.unwrapped.answer_turn(env.unwrapped.task.answer))
            assert terminated and reward == 1.0 and "error" not in info, (task_id, info)
    finally:
        env.close()


def test_sandbox_keeps_its_isolation_inside_the_container(sandbox) -> None:
    probe = sandbox.run(
        "import os, socket\n"
        "print(os.getuid() != 0)\n"
        "try:\n"
        "    s = socket.create_connection(('lb', 8080), timeout=2); print('net open')\n"
        "except OSError:\n"
        "    print('no network')\n"
        "try:\n"
        "    open('/usr/pwned', 'w'); print('root writable')\n"
        "except OSError:\n"
        "    print('read-only root')\n"
        "print(len([p for p in os.listdir('/proc') if p.isdigit()]) < 10)\n"
    )
    assert probe.status == "ok", probe
    assert probe.stdout.split("\n")[:4] == ["True", "no network", "read-only root", "True"]
    runaway = sandbox.run("while True: pass", timeout_s=1.0)
    assert runaway.status == "timeout"


def test_bad_input_gets_a_clear_error(sandbox_url: str) -> None:
    response = httpx.post(f"{sandbox_url}/run", json={"code": "print(1)", "language": "cobol"}, timeout=10)
    assert response.status_code == 422
    assert "language" in response.text


def test_search_episode(retriever) -> None:
    """SearchQA-v0 on the retriever service: two hops of search, then the answer, reward 1."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the envs)

    assert retriever.health()["status"] == "ok"
    # The env's default knowledge base is the one `toolgym index kb` wrote the served corpus from; the
    # env reaches the service through TOOLGYM_RETRIEVER_URL.
    env = gym.make("toolgym/SearchQA-v0", min_hops=2, max_hops=2)
    try:
        obs, info = env.reset(seed=5)
        task, kb = env.unwrapped.task, env.unwrapped.kb
        first, second = (kb.entities[i] for i in task.metadata["gold_ids"])
        obs, reward, terminated, truncated, info = env.step(f"<search>{first.name}</search>")
        assert not (terminated or truncated) and reward == 0.0
        assert first.id in info["retrieved"] and second.name in obs  # the passage names the next hop
        obs, _, _, _, info = env.step(f"<search>{second.name}</search>")
        assert second.id in info["retrieved"] and task.answer in obs
        _, reward, terminated, _, info = env.step(f"<answer>{task.answer}</answer>")
        assert terminated and reward == 1.0 and info["is_success"] is True
    finally:
        env.close()


def test_search_follows_passages_over_many_questions(retriever) -> None:
    """Multi-hop questions answered by following the passages the service returns."""
    from envs.search.kb import KBConfig, generate_kb

    kb = generate_kb(KBConfig())
    for question in kb.questions(6, hops=(1, 2, 3), seed=7):
        query = question.question
        for hop, gold in enumerate(question.supporting_ids):
            hits = retriever.search(query, topk=5)
            assert gold in [h.id for h in hits], (hop, question)
            passage = next(h.contents for h in hits if h.id == gold)
            if hop + 1 < len(question.supporting_ids):
                # The next entity is named in this passage: that name is the next query.
                query = kb.entities[question.supporting_ids[hop + 1]].name
                assert query in passage
            else:
                assert question.answer in passage


def test_retriever_rejects_bad_requests(retriever_url: str) -> None:
    response = httpx.post(f"{retriever_url}/retrieve", json={"queries": "not a list"}, timeout=10)
    assert response.status_code == 422


def _replica_runs(docker_client) -> dict[str, int]:
    project = os.environ.get("COMPOSE_PROJECT_NAME", "toolgym")
    containers = docker_client.containers.list(
        filters={"label": [f"com.docker.compose.project={project}", "com.docker.compose.service=sandbox"]}
    )
    runs = {}
    for container in containers:
        code, output = container.exec_run(["python3", "-c", READ_METRICS])
        assert code == 0, output
        runs[container.name] = sum(int(n) for n in METRIC_RUNS.findall(output.decode()))
    return runs


def test_every_replica_serves(sandbox, docker_client) -> None:
    """Runs sent to the one address spread over all replicas, and none is lost."""
    expected = int(os.environ.get("TOOLGYM_STACK_REPLICAS", "1"))
    before = _replica_runs(docker_client)
    assert len(before) == expected, before
    n = 24 * expected
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: sandbox.run(f"print({i} * {i})"), range(n)))
    assert [r.stdout.strip() for r in results] == [str(i * i) for i in range(n)]
    after = _replica_runs(docker_client)
    served = {name: after[name] - before[name] for name in before}
    assert sum(served.values()) == n, served
    assert all(count > 0 for count in served.values()), served


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_balancer_passes_service_endpoints(sandbox_url: str, path: str) -> None:
    assert httpx.get(f"{sandbox_url}{path}", timeout=10).status_code == 200
