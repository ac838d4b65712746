"""The viewer's page in a real browser: Debian's Chromium (``.ci/browser-setup`` installs it) driven by
Playwright pointed at that executable. Open a run, filter to failures, open an episode and see a tool
call, its result and the masked tokens; compare two runs; read a train run's curves; play two turns of a
puzzle (after a bad seed, whose 422 the page shows); open an exported file with no server. Skipped
where Chromium or Playwright is missing, except under CI (``CI`` set), where that is a failure."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest

from agents.view.app import Viewer, create_app, make_viewer

CHROMIUM = os.environ.get("TOOLGYM_CHROMIUM", "/usr/bin/chromium")
#: As root Chromium needs --no-sandbox; the rest keeps it off the network (this machine has none).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[browser]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (run .ci/browser-setup)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need their browser under CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not errors, errors


@contextlib.contextmanager
def serving(viewer: Viewer) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, in a thread, for the duration."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(viewer), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
        if viewer.playground is not None:
            viewer.playground.close_all()


def test_filter_to_failures_and_read_one(runs: dict[str, Path], view_cache: Path, page, tmp_path: Path):
    viewer = make_viewer([runs["eval"]], tokenizer=runs["train"] / "final")
    with serving(viewer) as url:
        page.goto(url)
        page.wait_for_selector("#summary-table")
        assert page.locator("#episodes tbody tr").count() == 9
        assert "Countdown-v0" in page.inner_text("#summary-table")
        page.select_option("#filters select[name=success]", "false")
        page.click("#filters button[type=submit]")
        page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('1–4 of 4')")
        outcomes = page.locator("#episodes tbody tr td:nth-child(7)").all_inner_texts()
        assert outcomes == ["not solved"] * 4
        assert "summary of the 4 episodes listed" in page.inner_text("#summary")
        page.locator("#episodes tbody tr").first.click()
        panel = page.locator(".episode-panel")
        panel.wait_for()
        call = panel.locator(".tool-call").first
        assert "check" in call.inner_text() and "1 + 1" in call.inner_text()
        assert "incorrect" in panel.locator(".tool-result").first.inner_text()
        assert panel.locator(".tok-e").count() > 0 and panel.locator(".tok-m").count() > 0
        masked = "".join(panel.locator(".tokens[data-turn='1'] .tok-e").all_inner_texts())
        assert "incorrect" in masked
        assert "1 + 1" in panel.locator(".answer").inner_text()
        assert panel.locator(".reference").inner_text().strip() not in ("", "1 + 1")
        page.screenshot(path=str(tmp_path / "episode.png"), full_page=True)


def test_compare_before_and_after_and_the_curves(runs: dict[str, Path], view_cache: Path, page):
    with serving(make_viewer([runs["train"]])) as url:
        page.goto(url)
        page.wait_for_selector("#episodes tbody tr")
        page.click("#tabs button[data-tab=compare]")
        page.select_option("#compare-form select[name=change]", "fixed")
        page.click("#compare-form button[type=submit]")
        page.wait_for_selector("#compare tbody tr")
        assert "fixed 3, broke 1, same 2" in page.inner_text("#compare-counts")
        assert page.locator("#compare tbody tr").count() == 3
        page.locator("#compare tbody tr").first.click()
        page.wait_for_selector("#side-by-side .episode-panel >> nth=1")
        sides = page.locator("#side-by-side .episode-panel").all_inner_texts()
        assert "not solved" in sides[0] and "solved" in sides[1].replace("not solved", "")
        page.click("#tabs button[data-tab=curves]")
        page.wait_for_selector(".chart polyline")
        charts = page.locator(".chart").evaluate_all("cs => cs.map(c => c.dataset.series)")
        assert charts[:4] == ["reward", "env_success", "kl", "frac_reward_zero_std"]


def test_play_two_turns_of_a_puzzle(view_cache: Path, page):
    env = gym.make("toolgym/Countdown-v0", protocol="json").unwrapped
    env.reset(seed=4)
    viewer = make_viewer(
        [], play_env={"env_id": "toolgym/Countdown-v0", "seed": 4, "kwargs": {"protocol": "json"}}
    )
    with serving(viewer) as url:
        page.goto(url)
        page.wait_for_selector("#play-form select[name=env_id] option", state="attached")
        assert page.input_value("#play-form select[name=env_id]") == "toolgym/Countdown-v0"
        seed = page.input_value("#play-form input[name=seed]")
        page.fill("#play-form input[name=seed]", "-1")  # the server's 422, shown naming the field
        page.click("#play-form button[type=submit]")
        page.wait_for_selector("#status.warn")
        assert page.inner_text("#status") == "seed: Input should be greater than or equal to 0"
        page.fill("#play-form input[name=seed]", seed)
        page.click("#play-form button[type=submit]")
        page.wait_for_selector("#play-turn:not([hidden])")
        assert env.task.prompt in page.inner_text("#play-log")
        page.fill("#play-turn textarea", "I think the answer is near.")
        page.click("#play-turn button[type=submit]")
        page.wait_for_selector(".play-observation")
        assert "no tool call or answer found" in page.inner_text(".play-observation")
        assert "format error" in page.inner_text(".play-reward")
        page.fill("#play-turn textarea", env.answer_turn(env.task.answer))
        page.click("#play-turn button[type=submit]")
        page.wait_for_selector(".play-end")
        assert "episode over: solved" in page.inner_text(".play-end")
        assert page.locator("#play-turn").is_hidden()


def test_the_exported_file_works_with_no_server(
    runs: dict[str, Path], view_cache: Path, page, tmp_path: Path
):
    from agents.view.export import write_html

    out = write_html(make_viewer([runs["eval"], runs["train"]]), tmp_path / "share.html", max_episodes=5)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_selector("#summary-table")
    assert page.locator("#episodes tbody tr").count() == 5  # the first 5 of 9 are in the file
    assert "9 episodes" in page.inner_text("#summary")  # the summary covers all of them
    page.locator("#episodes tbody tr").first.click()
    page.wait_for_selector(".episode-panel .tool-call")
    assert page.locator(".episode-panel .tok-e").count() > 0
    page.click("#tabs button[data-tab=curves]")
    page.wait_for_selector(".chart polyline")
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
