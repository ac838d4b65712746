"""``toolgym index kb``, ``index build`` and ``retriever serve`` argument handling."""

import json

from typer.testing import CliRunner

from agents.cli import app
from retrieval import LuceneRetriever

runner = CliRunner()


def test_kb_then_build_then_search(tmp_path, toolgym_cache):
    corpus, questions = tmp_path / "c.jsonl", tmp_path / "q.jsonl"
    result = runner.invoke(app, ["index", "kb", str(corpus), "--entities", "60", "--questions", str(questions),
                                 "--n-questions", "5", "--hops", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in questions.read_text().splitlines()]
    assert len(rows) == 5 and all(r["hops"] == 2 and len(r["supporting_ids"]) == 2 for r in rows)
    result = runner.invoke(app, ["index", "build", str(corpus), str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    hits = LuceneRetriever(tmp_path / "idx").search(rows[0]["question"], 5)
    assert rows[0]["supporting_ids"][0] in [h.id for h in hits]
    again = runner.invoke(app, ["index", "build", str(corpus), str(tmp_path / "idx")])
    assert again.exit_code == 2 and "overwrite" in again.output


def test_build_argument_errors(tmp_path):
    result = runner.invoke(app, ["index", "build", str(tmp_path / "only-one")])
    assert result.exit_code == 2 and "CORPUS.jsonl and OUT_DIR" in result.output
    result = runner.invoke(app, ["index", "build", str(tmp_path / "none.jsonl"), str(tmp_path / "idx")])
    assert result.exit_code == 2 and "not found" in result.output
    result = runner.invoke(app, ["index", "kb", str(tmp_path / "c.jsonl"), "--entities", "3"])
    assert result.exit_code == 2 and "n_entities" in result.output


def test_serve_needs_an_existing_index(tmp_path):
    result = runner.invoke(app, ["retriever", "serve", "--index", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not found" in result.output
