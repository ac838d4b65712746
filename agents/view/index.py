"""A columnar index of a trajectories JSONL file: where each episode's line starts and the figures the
episode table shows, filters and sorts on, built once per file (in a background thread, so the first
rows are there at once) and kept in a cache keyed by the file's size and modification time.

Lines are decoded by msgspec into a struct of only the fields the table needs: the rest of a line
(messages, token ids, logprobs) is checked to be JSON but never built into Python objects, about three
times faster than parsing the whole line. A malformed line (not JSON, cut short, not a trajectory) is
reported with its line number and skipped. The index holds no episode text: an episode is read from
its byte offset when it is opened.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.metrics import normalize_answer

#: Bumped when the cached columns change meaning.
INDEX_VERSION = 1
#: ``seed`` of an episode that had none.
SEED_NONE = int(np.iinfo(np.int64).min)
#: Lines parsed between two points where the rows so far become visible to queries (the first rows
#: sooner, for the first page).
CHUNK_LINES = 2000
FIRST_CHUNK_LINES = 100
#: The read buffer: lines of trajectories with token ids are longer than the default 8 KiB, and reading
#: them through it costs several times the reading.
READ_BUFFER = 1 << 20
#: Malformed lines kept with their messages (all are counted).
MAX_BAD_LINES = 1000
#: Cached indexes kept; the least recently written go first.
MAX_CACHED = 64

COLUMNS: dict[str, Any] = {
    "offset": np.int64,  # byte offset of the line
    "length": np.int64,  # bytes in the line
    "line": np.int64,  # 1-based line number
    "env": np.int32,  # code into envs
    "task": np.int32,  # code into tasks
    "seed": np.int64,  # SEED_NONE for none
    "sample": np.int64,
    "reward": np.float64,
    "success": np.int8,  # 1 solved, 0 not, -1 unknown (no verdict)
    "error": np.bool_,  # an infrastructure error: unscored
    "format_errors": np.int32,  # turns with a format error
    "turns": np.int32,
    "tool_calls": np.int32,
    "truncated": np.bool_,
    "terminated": np.bool_,
    "answer": np.int32,  # code into answers (normalized for majority voting), -1 for none
    "tokens": np.bool_,  # whether the episode has token ids (and so a token-level mask)
}


class Strings:
    """Interned strings: each distinct value gets the next code."""

    def __init__(self, values: list[str] | None = None):
        self.values: list[str] = list(values or [])
        self._codes = {v: i for i, v in enumerate(self.values)}

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code


@dataclass(frozen=True)
class BadLine:
    """A line that is not a trajectory, and why."""

    line: int
    error: str


def _number(value: Any, key: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} is not a number")
    return float(value)


_INT64 = 2**63


def _sample(value: Any) -> int:
    sample = _number(value, "sample", 0)
    if not -_INT64 < sample < _INT64:
        raise ValueError("sample is out of range")
    return int(sample)


def _truthy(raw: Any) -> bool:
    """Whether the JSON value of ``raw`` (a ``msgspec.Raw``, empty when the field was missing) is truthy
    in Python: a non-empty array, object or string, a non-zero number, true."""
    text = bytes(raw).strip()
    if text[:1] in (b"[", b"{"):
        return text[1:].lstrip()[:1] not in (b"]", b"}")
    if text[:1] == b'"':
        return text != b'""'
    if not text:
        return False
    import msgspec

    return bool(msgspec.json.decode(text))


@functools.cache
def record_decoder() -> Callable[[bytes], Any]:
    """``decode(line)``: the fields of a trajectory line that the index reads, as a struct (a field
    missing from the line has its default); ``msgspec.DecodeError`` for a line that is not JSON or
    whose ``turns`` is not a list of objects. Every other field is skipped unbuilt; token ids are kept
    as raw JSON, only to tell whether there are any."""
    import msgspec

    raw = msgspec.Raw()
    turn = msgspec.defstruct(
        "Turn", [("tool_calls", Any, 0), ("format_error", Any, None), ("completion_ids", msgspec.Raw, raw)]
    )
    fields: list[tuple[str, Any, Any]] = [
        (name, Any, "" if name == "task_id" else None)
        for name in ("env_id", "task_id", "seed", "sample", "reward", "is_success", "error", "answer",
                     "truncated", "terminated")
    ]  # fmt: skip
    fields += [("prompt_ids", msgspec.Raw, raw), ("turns", list[turn] | None, None)]
    record = msgspec.defstruct("Record", fields)
    return msgspec.json.Decoder(record).decode


def parse_row(rec: Any, envs: Strings, tasks: Strings, answers: Strings) -> tuple:
    """The index columns (after offset, length and line) of one record decoded by ``record_decoder``;
    ``ValueError`` when it is not a trajectory."""
    env_id = rec.env_id
    if not isinstance(env_id, str):
        raise ValueError("env_id is missing or not a string")
    turns = rec.turns or []
    seed = rec.seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not _INT64 > seed > SEED_NONE
    ):
        raise ValueError("seed is not a 64-bit integer")
    success = rec.is_success
    answer = rec.answer
    tool_calls = 0
    for t in turns:
        calls = t.tool_calls
        if isinstance(calls, bool) or not isinstance(calls, int):
            raise ValueError("a turn's tool_calls is not an integer")
        tool_calls += calls
    return (
        envs.code(env_id),
        tasks.code(str(rec.task_id)),
        SEED_NONE if seed is None else seed,
        _sample(rec.sample),
        _number(rec.reward, "reward", 0.0),
        -1 if success is None else int(bool(success)),
        rec.error is not None,
        sum(1 for t in turns if t.format_error),
        len(turns),
        tool_calls,
        bool(rec.truncated),
        bool(rec.terminated),
        -1 if answer is None else answers.code(normalize_answer(str(answer))),
        _truthy(rec.prompt_ids) or any(_truthy(t.completion_ids) for t in turns),
    )


def _not_json(exc: Exception) -> ValueError:
    """msgspec's error for a line, in the index's words."""
    text = str(exc)
    if text.startswith("Expected `object`, got ") and " - at " not in text:
        return ValueError(f"a trajectory is a JSON object, got {text.split('got ', 1)[1].strip('`')}")
    if "$.turns" in text:
        return ValueError(f"turns is not a list of objects ({text})")
    return ValueError(text)


def _describe(exc: BaseException, last: bool) -> str:
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
    if last:
        text += " (the last line has no newline: cut short?)"
    return text[:300]


def _metrics_hash() -> str:
    """A digest of ``agents.metrics``: a cached summary is recomputed when the eval's figures change."""
    import agents.metrics

    return hashlib.sha256(Path(agents.metrics.__file__).read_bytes()).hexdigest()[:12]


def cache_dir() -> Path:
    """Where indexes are kept: ``$TOOLGYM_CACHE/view``, default ``~/.cache/toolgym/view``."""
    return Path(os.environ.get("TOOLGYM_CACHE") or Path.home() / ".cache" / "toolgym") / "view"


class EpisodeIndex:
    """The index of one JSONL file. ``open`` returns at once; ``columns()`` has the rows indexed so far
    (all of them once ``done``)."""

    def __init__(self, path: str | Path, cache: Path | None = None):
        self.path = Path(path).resolve()
        st = self.path.stat()
        self.size = st.st_size
        self.key = f"v{INDEX_VERSION}:{st.st_size}:{st.st_mtime_ns}:{_metrics_hash()}"
        self.cache_file = (cache or cache_dir()) / (
            hashlib.sha256(str(self.path).encode()).hexdigest()[:24] + ".npz"
        )
        self.envs, self.tasks, self.answers = Strings(), Strings(), Strings()
        self.bad_lines: list[BadLine] = []
        self.bad_count = 0
        self.bytes_done = 0
        self.done = False
        self.failure: str | None = None
        self.from_cache = False
        self.summary_all: dict[str, Any] | None = None
        self._summarized = threading.Event()
        self._chunks: list[dict[str, np.ndarray]] = []
        self._cols: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._started = False
        self.generation = 0  # bumped whenever more rows become visible

    # -- building ----------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, cache: Path | None = None, background: bool = True, start: bool = True
    ) -> EpisodeIndex:
        """The index of ``path``: from the cache when the file is unchanged, else built (in a thread
        when ``background``, started now or, with ``start=False``, at ``start()``: a server starts it
        once it is up, so that indexing does not share the CPU with its start-up).
        ``FileNotFoundError`` / ``IsADirectoryError`` for a bad path."""
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder, not a trajectories file")
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        index = cls(path, cache)
        if index._load_cache():
            return index
        if not background:
            index._started = True
            index.build()
        elif start:
            index.start()
        return index

    def start(self) -> None:
        """Build the index in a background thread, unless it is built or being built."""
        with self._lock:
            if self._started or self.done:
                return
            self._started = True
        threading.Thread(target=self.build, name=f"index {self.path.name}", daemon=True).start()

    def build(self) -> None:
        """Read the file line by line; publish rows every ``CHUNK_LINES`` lines; save the cache."""
        rows: list[tuple] = []
        chunk = FIRST_CHUNK_LINES
        try:
            import msgspec

            decode = record_decoder()
            with self.path.open("rb", buffering=READ_BUFFER) as f:
                offset = 0
                for lineno, line in enumerate(f, 1):
                    n = len(line)
                    if not line.isspace():
                        try:
                            try:
                                rec = decode(line)
                            except msgspec.DecodeError as exc:
                                raise _not_json(exc) from None
                            row = parse_row(rec, self.envs, self.tasks, self.answers)
                        except (ValueError, TypeError, RecursionError) as exc:
                            self._bad(lineno, _describe(exc, not line.endswith(b"\n")))
                        else:
                            rows.append((offset, n, lineno, *row))
                    offset += n
                    if len(rows) >= chunk:
                        self._publish(rows, offset)
                        rows, chunk = [], CHUNK_LINES
                self._publish(rows, offset)
        except Exception as exc:  # an unreadable file, or a bug: said on the page, never a hang
            self.failure = f"indexing {self.path} stopped: {type(exc).__name__}: {exc}"
        with self._lock:
            self._cols = self._concat()
            self._chunks = [self._cols]
            self.done = True
            self.generation += 1
        self._finished.set()
        from agents.view.summary import summarize_index

        try:
            self.summary_all = summarize_index(self)
        finally:
            self._summarized.set()
        if self.failure is None:
            self._save_cache()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the index is complete; whether it is."""
        return self._finished.wait(timeout)

    def summary(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The summary over every episode (computed once, after indexing, and cached with the index)."""
        self._summarized.wait(timeout)
        return self.summary_all

    def _bad(self, lineno: int, error: str) -> None:
        self.bad_count += 1
        if len(self.bad_lines) < MAX_BAD_LINES:
            self.bad_lines.append(BadLine(lineno, error))

    def _publish(self, rows: list[tuple], offset: int) -> None:
        cols = {
            name: np.array([r[i] for r in rows], dtype=dtype) if rows else np.zeros(0, dtype=dtype)
            for i, (name, dtype) in enumerate(COLUMNS.items())
        }
        with self._lock:
            self._chunks.append(cols)
            self._cols = None
            self.bytes_done = offset
            self.generation += 1

    def _concat(self) -> dict[str, np.ndarray]:
        if not self._chunks:
            return {name: np.zeros(0, dtype=dtype) for name, dtype in COLUMNS.items()}
        if len(self._chunks) == 1:
            return self._chunks[0]
        return {name: np.concatenate([c[name] for c in self._chunks]) for name in COLUMNS}

    def columns(self) -> dict[str, np.ndarray]:
        """Every column over the rows indexed so far (file order)."""
        with self._lock:
            if self._cols is None:
                self._cols = self._concat()
            return self._cols

    def __len__(self) -> int:
        return len(self.columns()["offset"])

    # -- the cache ---------------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "envs": self.envs.values,
            "tasks": self.tasks.values,
            "answers": self.answers.values,
            "bad_lines": [[b.line, b.error] for b in self.bad_lines],
            "bad_count": self.bad_count,
            "summary": self.summary_all,
        }

    def _save_cache(self) -> None:
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npz")
            meta = np.frombuffer(json.dumps(self._meta()).encode(), dtype=np.uint8)
            np.savez(tmp, _meta=meta, **self.columns())
            os.replace(tmp, self.cache_file)
            cached = sorted(self.cache_file.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime)
            for old in cached[:-MAX_CACHED]:
                old.unlink(missing_ok=True)
        except OSError:  # a read-only or full cache folder: the index is simply rebuilt next time
            pass

    def _load_cache(self) -> bool:
        try:
            with np.load(self.cache_file, allow_pickle=False) as data:
                meta = json.loads(data["_meta"].tobytes())
                if meta.get("key") != self.key or set(data.files) != {"_meta", *COLUMNS}:
                    return False
                cols = {name: data[name].astype(dtype, copy=False) for name, dtype in COLUMNS.items()}
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return False
        self.envs, self.tasks = Strings(meta["envs"]), Strings(meta["tasks"])
        self.answers = Strings(meta["answers"])
        self.bad_lines = [BadLine(int(n), str(e)) for n, e in meta["bad_lines"]]
        self.bad_count = int(meta["bad_count"])
        self.summary_all = meta["summary"]
        self._summarized.set()
        self._chunks, self._cols = [cols], cols
        self.bytes_done, self.done, self.from_cache = self.size, True, True
        self.generation = 1
        self._finished.set()
        return True

    # -- episodes ----------------------------------------------------------------------------------

    def read(self, pos: int) -> dict[str, Any]:
        """The record at row ``pos`` (file order), read from its offset."""
        cols = self.columns()
        if not 0 <= pos < len(cols["offset"]):
            raise IndexError(f"no episode {pos}: the file has {len(cols['offset'])}")
        with self.path.open("rb") as f:
            f.seek(int(cols["offset"][pos]))
            line = f.read(int(cols["length"][pos]))
        import msgspec

        try:
            rec = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            raise ValueError(f"line {int(cols['line'][pos])} changed since it was indexed: {exc}") from exc
        if not isinstance(rec, dict):
            raise ValueError(f"line {int(cols['line'][pos])} changed since it was indexed")
        return rec

    def status(self) -> dict[str, Any]:
        """How far indexing got, for the page's progress line."""
        return {
            "episodes": len(self),
            "done": self.done,
            "bytes": self.size,
            "bytes_done": self.bytes_done,
            "bad_lines": self.bad_count,
            "from_cache": self.from_cache,
            "failure": self.failure,
            "envs": sorted(self.envs.values),
        }
