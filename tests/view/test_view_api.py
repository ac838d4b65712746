"""The viewer's HTTP API: paging, filters, episodes with tool calls and the env mask, comparing runs,
curves, the playground, and bad input (a missing file, a truncated line, a path outside the runs)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
from fastapi.testclient import TestClient
from view_helpers import synthetic

from agents.trajectory import save_jsonl
from agents.view.app import MAX_BODY_BYTES, create_app, make_viewer
from agents.view.play import MAX_TURN_CHARS

#: The server answers only to local host names (not TestClient's default "testserver").
LOCAL = "http://127.0.0.1:8765"


def client(paths: list[Path], **kwargs) -> TestClient:
    viewer = make_viewer(paths, **kwargs)
    for index in viewer.indexes.values():
        assert index.wait(60) and index.summary(timeout=60) is not None
    return TestClient(create_app(viewer), base_url=LOCAL)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """1,200 synthetic episodes (300 tasks x 4 samples), with an index cache of their own."""
    root = tmp_path_factory.mktemp("big")
    return client([save_jsonl(synthetic(300, k=4), root / "big.jsonl")], cache=root / "cache")


def test_pages_cover_every_episode_once(big: TestClient):
    seen = []
    offset = 0
    while True:
        page = big.get("/api/sources/0/episodes", params={"offset": offset, "limit": 500}).json()
        assert page["total"] == 1200
        if not page["rows"]:
            break
        seen += [r["id"] for r in page["rows"]]
        offset += 500
    assert seen == list(range(1200))
    last = big.get("/api/sources/0/episodes", params={"offset": 1190, "limit": 50}).json()
    assert len(last["rows"]) == 10


def test_filters_sorting_and_the_filtered_summary(big: TestClient):
    params = {"success": "false", "env": "Countdown-v0", "sort": "reward", "desc": "true", "limit": 500}
    page = big.get("/api/sources/0/episodes", params=params).json()
    assert page["total"] > 0
    assert all(r["success"] is not True and r["env"] == "toolgym/Countdown-v0" for r in page["rows"])
    rewards = [r["reward"] for r in page["rows"]]
    assert rewards == sorted(rewards, reverse=True)
    summary = big.get("/api/sources/0/summary", params={"success": "false", "env": "Countdown-v0"}).json()
    assert summary["filtered"] and summary["episodes"] == page["total"]
    assert summary["rows"][0]["success_rate"] == 0.0
    whole = big.get("/api/sources/0/summary").json()
    assert not whole["filtered"] and whole["episodes"] == 1200 and whole["k"] == 4
    assert [r["env_id"] for r in whole["rows"]] == ["toolgym/Countdown-v0", "toolgym/Sudoku-v0", "all"]


def field_errors(r) -> dict[str, str]:
    """FastAPI's 422: each bad field by name, with its reason."""
    assert r.status_code == 422, r.text
    return {".".join(str(p) for p in e["loc"][1:]) or e["loc"][0]: e["msg"] for e in r.json()["detail"]}


@pytest.mark.parametrize(
    ("url", "name", "says"),
    [
        ("/api/sources/0/episodes?limit=0", "limit", "greater than or equal to 1"),
        ("/api/sources/0/episodes?limit=100000", "limit", "less than or equal to 500"),
        ("/api/sources/0/episodes?offset=-1", "offset", "greater than or equal to 0"),
        ("/api/sources/0/episodes?sort=__class__", "sort", "'line', 'env'"),
        ("/api/sources/0/episodes?reward_min=lots", "reward_min", "valid number"),
        ("/api/sources/0/episodes?success=maybe", "success", "valid boolean"),
        ("/api/sources/0/episodes?turns_max=1.5", "turns_max", "valid integer"),
        ("/api/sources/0/summary?error=2", "error", "valid boolean"),
        ("/api/sources/0/episodes/x", "pos", "valid integer"),
        ("/api/compare?a=0&b=0&change=better", "change", "'fixed', 'broke'"),
        ("/api/compare?a=0", "b", "Field required"),
    ],
)
def test_bad_values_are_422s_naming_the_field(big: TestClient, url: str, name: str, says: str):
    errors = field_errors(big.get(url))
    assert list(errors) == [name] and says in errors[name], errors


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/api/sources/7/episodes", 404, "no source"),
        ("/api/sources/0/episodes/1200", 404, "no episode 1200"),
        ("/api/sources/0/episodes/-1", 404, "no episode"),
        ("/api/compare?a=0&b=9", 404, "no source"),
        ("/api/runs/0/curves", 404, "no run"),
        ("/api/nothing", 404, ""),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(big: TestClient, url: str, status: int, says: str):
    r = big.get(url)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail and says in detail and "\n" not in detail, detail


@pytest.mark.parametrize(
    "url",
    [
        "/api/runs/0/files/log_history.json",  # in the run folder, but not a file the page serves
        "/api/runs/0/files/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/runs/0/files/%2Fetc%2Fpasswd",
        "/api/runs/0/files/../../../../etc/passwd",
        "/api/sources/..%2F..%2Fetc%2Fpasswd/episodes",
        "/api/sources/%2Fetc%2Fpasswd/episodes/0",
        "/static/..%2F..%2Fpyproject.toml",
        "/static/../../../pyproject.toml",
        "/static/index.py",
        "/etc/passwd",
        "/api/file?path=/etc/passwd",
    ],
)
def test_paths_outside_the_runs_are_never_served(runs: dict[str, Path], view_cache: Path, url: str):
    c = client([runs["train"]])
    r = c.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert "root:" not in r.text and "[project]" not in r.text
    assert c.get("/api/runs/0/files/reward.png").content.startswith(b"\x89PNG")


def test_a_foreign_host_name_is_refused(big: TestClient):
    assert big.get("/api/config", headers={"host": "evil.example:8765"}).status_code == 400
    assert big.get("/api/config", headers={"host": "testserver"}).status_code == 400
    assert big.get("/api/config", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert big.get("/api/config", headers={"host": "[::1]:8765"}).status_code == 200


def test_a_missing_path_is_a_clear_error(tmp_path: Path, view_cache: Path):
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*nope.jsonl"):
        make_viewer([tmp_path / "nope.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no trajectories"):
        make_viewer([tmp_path / "empty"])


def test_a_truncated_line_is_listed_and_the_rest_served(
    runs: dict[str, Path], tmp_path: Path, view_cache: Path
):
    text = runs["eval"].read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text + text.splitlines()[0][:100])
    c = client([cut])
    n = len(text.splitlines())
    bad = c.get("/api/sources/0/bad-lines").json()
    assert bad["count"] == 1 and bad["lines"][0]["line"] == n + 1 and "cut short" in bad["lines"][0]["error"]
    assert c.get("/api/sources/0/episodes").json()["total"] == n
    config = c.get("/api/config").json()
    assert config["sources"][0]["bad_lines"] == 1


def test_an_episode_shows_tool_calls_results_rewards_and_the_env_mask(
    runs: dict[str, Path], view_cache: Path
):
    c = client([runs["eval"]], tokenizer=runs["train"] / "final")
    page = c.get("/api/sources/0/episodes", params={"env": "Countdown-v0", "success": "true"}).json()
    ep = c.get(f"/api/sources/0/episodes/{page['rows'][0]['id']}").json()
    assert ep["is_success"] is True and ep["answer"] == ep["reference"]
    first, second = ep["turns"]
    call = next(s for s in first["segments"] if s["kind"] == "call")
    assert call["name"] == "check" and call["arguments"] == {"candidate": ep["reference"]}
    assert first["env"] == [{"role": "tool", "name": "check", "content": "correct"}]
    assert [s["kind"] for s in second["segments"]] == ["answer"] and second["reward"] == 1.0
    assert second["reward_components"]["score"] == 1.0
    tokens = ep["tokens"]
    assert tokens["available"] and tokens["text"]
    env_text = "".join(t[2] for t in tokens["turns"][0] if t[1] == "e")
    model_text = "".join(t[2] for t in tokens["turns"][0] if t[1] == "m")
    assert "correct" in env_text and "<tool_response>" in env_text
    assert "check" in model_text and "correct" not in model_text
    assert tokens["counts"]["env"] == sum(1 for t in tokens["turns"][0] if t[1] == "e")
    # the XML protocol's calls are found by the tool tags its system prompt lists
    kk = c.get("/api/sources/0/episodes", params={"env": "KnightsKnaves-v0"}).json()["rows"][0]
    xml = c.get(f"/api/sources/0/episodes/{kk['id']}").json()
    assert xml["tools"] == ["check"]
    assert [s for s in xml["turns"][0]["segments"] if s["kind"] == "call"][0]["name"] == "check"


def test_an_episode_without_token_ids_says_there_is_no_mask(tmp_path: Path, view_cache: Path):
    c = client([save_jsonl(synthetic(1, k=1), tmp_path / "text.jsonl")])
    tokens = c.get("/api/sources/0/episodes/0").json()["tokens"]
    assert tokens["available"] is False and "no token ids" in tokens["note"]
    row = c.get("/api/sources/0/episodes").json()["rows"][0]
    assert row["tokens"] is False


def test_before_and_after_side_by_side(runs: dict[str, Path], view_cache: Path):
    c = client([runs["train"]])
    labels = [s["label"] for s in c.get("/api/config").json()["sources"]]
    assert [x.rsplit(": ", 1)[1] for x in labels] == ["held_out_before", "trajectories", "held_out_after"]
    data = c.get("/api/compare", params={"a": "0", "b": "2"}).json()
    assert {k: data["counts"][k] for k in ("fixed", "broke", "same", "unpaired")} == {
        "fixed": 3, "broke": 1, "same": 2, "unpaired": 0
    }  # fmt: skip
    assert data["counts"]["success_a"] == pytest.approx(2 / 6) and data["counts"][
        "success_b"
    ] == pytest.approx(4 / 6)
    fixed = c.get("/api/compare", params={"a": "0", "b": "2", "change": "fixed"}).json()["rows"]
    assert [r["seed"] for r in fixed] == [2, 3, 4]
    assert all(r["a"]["success"] is False and r["b"]["success"] is True for r in fixed)


def test_train_curves(runs: dict[str, Path], view_cache: Path):
    c = client([runs["train"]])
    curves = c.get("/api/runs/0/curves").json()
    assert curves["steps"] == [1, 2, 3, 4, 5]
    for name in ("reward", "env_success", "kl", "frac_reward_zero_std"):
        assert len(curves["series"][name]) == 5
    assert curves["series"]["frac_reward_zero_std"][0] == pytest.approx(0.9)


@pytest.mark.parametrize("protocol", ["json", "xml"])
def test_play_an_env_in_either_protocol(view_cache: Path, protocol: str):
    c = TestClient(create_app(make_viewer([])), base_url=LOCAL)
    assert any(e["id"] == "toolgym/Countdown-v0" for e in c.get("/api/play/envs").json())
    start = c.post(
        "/api/play/start", json={"env_id": "toolgym/Countdown-v0", "seed": 3, "protocol": protocol}
    ).json()
    assert start["protocol"] == protocol and start["messages"][1]["role"] == "user"
    env = gym.make("toolgym/Countdown-v0", protocol=protocol).unwrapped
    env.reset(seed=3)
    first = c.post(f"/api/play/{start['session']}/step", json={"text": "no idea"}).json()
    assert first["format_error"] and not first["terminated"] and first["reward"] <= 0
    second = c.post(
        f"/api/play/{start['session']}/step", json={"text": env.answer_turn(env.task.answer)}
    ).json()
    assert second["terminated"] and second["is_success"] is True and second["reference"] == env.task.answer
    again = c.post(f"/api/play/{start['session']}/step", json={"text": "more"})
    assert again.status_code == 400 and "start a new one" in again.json()["detail"]


def test_play_bad_input(view_cache: Path):
    c = TestClient(create_app(make_viewer([])), base_url=LOCAL)
    assert c.post("/api/play/start", json={"env_id": "toolgym/Nope-v0"}).status_code == 400
    r = c.post("/api/play/start", json={"env_id": "toolgym/Countdown-v0", "protocol": "yaml"})
    assert r.status_code == 400 and "protocol" in r.json()["detail"]
    for body, name, says in [
        ({"env_id": "toolgym/Countdown-v0", "seed": -1}, "seed", "greater than or equal to 0"),
        ({"env_id": "toolgym/Countdown-v0", "seed": "3"}, "seed", "valid integer"),
        ({"env_id": "toolgym/Countdown-v0", "seed": True}, "seed", "valid integer"),
        ({"env_id": "toolgym/Countdown-v0", "difficulty": "hard"}, "difficulty", "valid number"),
        ({"env_id": "toolgym/Countdown-v0", "protcol": "json"}, "protcol", "Extra inputs"),
        ({"seed": 3}, "env_id", "Field required"),
        ([1, 2], "body", "valid dictionary"),
    ]:
        errors = field_errors(c.post("/api/play/start", json=body))
        assert list(errors) == [name] and says in errors[name], (body, errors)
    errors = field_errors(c.post("/api/play/nosuch/step", json={"text": "x" * (MAX_TURN_CHARS + 1)}))
    assert list(errors) == ["text"] and f"at most {MAX_TURN_CHARS} characters" in errors["text"]
    assert c.post("/api/play/nosuch/step", json={"text": "x"}).status_code == 400
    too_big = '{"text": "' + "x" * MAX_BODY_BYTES + '"}'
    r = c.post("/api/play/nosuch/step", content=too_big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert (
        c.post("/api/play/start", content="env_id=x", headers={"content-type": "text/plain"}).status_code
        == 422
    )


def test_an_env_that_fails_is_a_500_that_says_why(view_cache: Path):
    viewer = make_viewer([])
    c = TestClient(create_app(viewer), base_url=LOCAL, raise_server_exceptions=False)
    sid = c.post("/api/play/start", json={"env_id": "toolgym/Countdown-v0", "seed": 0}).json()["session"]

    def broken(action: str):
        raise ConnectionError("sandbox service down")

    viewer.playground._sessions[sid].env.step = broken
    r = c.post(f"/api/play/{sid}/step", json={"text": "x"})
    assert r.status_code == 500 and "ConnectionError: sandbox service down" in r.json()["detail"]


def test_a_file_removed_or_cut_after_opening_is_a_4xx(tmp_path: Path, view_cache: Path):
    path = save_jsonl(synthetic(3, k=1), tmp_path / "t.jsonl")
    c = client([path])
    path.write_text(path.read_text()[:50])  # cut short under the server
    r = c.get("/api/sources/0/episodes/1")
    assert r.status_code == 409 and "changed since it was indexed" in r.json()["detail"]
    path.unlink()
    r = c.get("/api/sources/0/episodes/0")
    assert r.status_code == 409 and "No such file" in r.json()["detail"]


def test_indexing_starts_when_the_server_does(tmp_path: Path, view_cache: Path):
    """``toolgym view`` opens its files unstarted, so the server's start-up has the CPU to itself."""
    viewer = make_viewer([save_jsonl(synthetic(5), tmp_path / "t.jsonl")], start=False)
    index = viewer.indexes["0"]
    assert not index.wait(0) and len(index) == 0
    with TestClient(create_app(viewer), base_url=LOCAL) as c:  # runs the app's start-up
        assert index.wait(60)
        assert c.get("/api/sources/0/episodes").json()["total"] == 20
    again = make_viewer([tmp_path / "t.jsonl"], start=False)  # from the cache: complete at once
    assert again.indexes["0"].from_cache and again.indexes["0"].wait(0)
