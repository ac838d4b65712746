"""``toolgym view --html FILE``: the page as one self-contained HTML file, its script, style and data
inline (the first ``max_episodes`` episodes of each run, the summary over all of them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from agents.view.app import Viewer, asset, clean
from agents.view.episode import episode_view
from agents.view.query import rows
from agents.view.runs import curves


def _script_json(data: Any) -> str:
    """JSON that cannot close the ``<script>`` element it sits in."""
    text = json.dumps(clean(data), ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def export_data(viewer: Viewer, max_episodes: int) -> dict[str, Any]:
    """What the page needs, embedded: rows and episodes of the first ``max_episodes`` of each source."""
    import numpy as np

    config = viewer.config()
    config.update(mode="static", play=False, play_env=None)
    sources: dict[str, Any] = {}
    notes = []
    for source in viewer.sources:
        _, index = viewer.source(source.id)
        index.wait()
        n = len(index)
        positions = np.arange(min(n, max_episodes))
        texts, _ = viewer.texts(source)
        sources[source.id] = {
            "rows": rows(index, positions),
            "summary": {**(index.summary() or {}), "filtered": False},
            "episodes": {
                str(p): {
                    **episode_view(index.read(p), texts),
                    "id": p,
                    "source": source.id,
                    "line": int(index.columns()["line"][p]),
                }
                for p in positions.tolist()
            },
            "bad_lines": {
                "count": index.bad_count,
                "lines": [{"line": b.line, "error": b.error} for b in index.bad_lines],
            },
        }
        if n > max_episodes:
            notes.append(f"{source.label}: the first {max_episodes:,} of {n:,} episodes")
    config["sources"] = [{**s, **viewer.indexes[s["id"]].status()} for s in config["sources"]]
    config["note"] = "exported file" + (
        " with " + "; ".join(notes) + " (summaries over all)" if notes else ""
    )
    files = {
        run.id: {
            name: "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
            for name, path in run.files.items()
        }
        for run in viewer.runs
    }
    return {
        "config": config,
        "sources": sources,
        "curves": {run.id: curves(run.history) for run in viewer.runs if run.history is not None},
        "files": files,
    }


def write_html(viewer: Viewer, out: str | Path, max_episodes: int = 1000) -> Path:
    """Write the page with everything inline to ``out``."""
    html = asset("index.html")
    data = _script_json(export_data(viewer, max_episodes))
    html = html.replace(
        '<link rel="stylesheet" href="static/style.css">', f"<style>\n{asset('style.css')}</style>"
    )
    html = html.replace(
        '<script src="static/app.js"></script>',
        f'<script id="toolgym-data" type="application/json">{data}</script>\n<script>\n{asset("app.js")}</script>',
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
