"""What the search envs share: questions (generated or from a QA file), the retriever and the ``search`` tool.

Questions come from the generated fictional knowledge base (offline, seeded, 1 to 4 hops) unless
``data_path`` names a Search-R1 QA file, which then needs ``index_dir`` or ``retriever_url`` for its
corpus. The retriever is opened on first search, in the process that searches (safe after a fork);
with ``retriever_url`` (or env ``TOOLGYM_RETRIEVER_URL``) it is the HTTP service and an outage ends
the episode as an infrastructure error, never as a reward of 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from envs.core import Config, InfraError, Task, ToolArgumentError, ToolEnv, check_range, tool
from envs.search.kb import KBConfig, KnowledgeBase, default_index_dir, generate_kb
from envs.search.qa_data import QAExample, load_qa
from retrieval import RETRIEVER_URL_ENV, Passage, QueryError, Retriever, RetrieverError, get_retriever

_MAX_SEED = 2**63 - 1


@dataclass
class SearchConfig(Config):
    """Questions, corpus and retrieval of a search env.

    ``min_hops``/``max_hops`` and ``kb_distractors`` set the difficulty of generated questions;
    ``kb_seed``/``kb_entities`` pick the knowledge base (its index is built on first use).
    """

    topk: int = 3
    min_hops: int = 1
    max_hops: int = 2
    kb_seed: int = 0
    kb_entities: int = 400
    kb_distractors: int = 1
    data_path: str | None = None
    index_dir: str | None = None
    retriever_url: str | None = None

    def validate(self) -> None:
        check_range("topk", self.topk, 1, 20)
        check_range("min_hops", self.min_hops, 1, 4)
        check_range("max_hops", self.max_hops, self.min_hops, 4)
        if self.data_path is None:
            self.kb_config()  # validates kb_seed, kb_entities, kb_distractors
        elif self.index_dir is None and self.retriever_url is None:
            raise ValueError("data_path: a QA file needs its corpus: give index_dir or retriever_url too")

    def kb_config(self) -> KBConfig:
        return KBConfig(seed=self.kb_seed, n_entities=self.kb_entities, distractors=self.kb_distractors)


@lru_cache(maxsize=8)
def _kb(seed: int, n_entities: int, distractors: int) -> KnowledgeBase:
    return generate_kb(KBConfig(seed=seed, n_entities=n_entities, distractors=distractors))


@lru_cache(maxsize=8)
def _qa_file(path: str) -> tuple[QAExample, ...]:
    return tuple(load_qa(path))


def format_passages(passages: list[Passage]) -> str:
    """Passages as Search-R1 shows them: ``Doc i(Title: first line) rest``, one per line."""
    if not passages:
        return "No passages found."
    lines = []
    for i, p in enumerate(passages, 1):
        title, _, text = p.contents.partition("\n")
        lines.append(f"Doc {i}(Title: {title.strip()}) {text.strip()}")
    return "\n".join(lines)


class SearchEnv(ToolEnv):
    """Base of the search envs: task selection, the retriever and the ``search`` tool.

    Retrieved passages come back inside ``<information>`` (XML) or as ``tool`` messages (JSON), so an
    agent loop can mask them out of the loss; ``info["retrieved"]`` lists the passage ids of each turn.
    """

    config_cls = SearchConfig
    config: SearchConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 5}
    mask_tag: ClassVar[str] = "information"
    task_prefix: ClassVar[str] = "kb"
    step_may_block: ClassVar[bool] = True  # the search tool may wait on a retrieval service

    def __init__(self, render_mode: str | None = None, **kwargs: Any):
        super().__init__(render_mode=render_mode, **kwargs)
        self._retriever: Retriever | None = None
        self._retrieved: list[str] = []

    # ---- tasks -------------------------------------------------------------------------------
    @property
    def kb(self) -> KnowledgeBase:
        c = self.config
        return _kb(c.kb_seed, c.kb_entities, c.kb_distractors)

    def examples(self) -> tuple[QAExample, ...] | None:
        """The QA file's examples, or None for generated questions."""
        return None if self.config.data_path is None else _qa_file(self.config.data_path)

    def task_ids(self) -> list[str] | None:
        examples = self.examples()
        return None if examples is None else [f"qa/{i}" for i in range(len(examples))]

    def _make_task(self, rng: np.random.Generator) -> Task:
        return self._load_task(f"{self.task_prefix}/{int(rng.integers(_MAX_SEED))}")

    def _load_task(self, task_id: str) -> Task:
        kind, _, num = task_id.partition("/")
        examples = self.examples()
        if examples is not None and kind == "qa" and num.isdigit() and int(num) < len(examples):
            return self.make_task(task_id, examples[int(num)])
        if examples is None and kind == self.task_prefix and num.isdigit():
            rng = np.random.default_rng(int(num))
            hops = int(rng.integers(self.config.min_hops, self.config.max_hops + 1))
            q = self.kb.sample_question(rng, hops)
            example = QAExample(task_id, q.question, (q.answer,), q.supporting_ids, {"hops": q.hops})
            return self.make_task(task_id, example)
        form = "qa/<index>" if examples is not None else f"{self.task_prefix}/<seed>"
        raise KeyError(f"task ids of {type(self).__name__} look like {form!r}, got {task_id!r}")

    def make_task(self, task_id: str, example: QAExample) -> Task:
        """The task of one example (subclasses write the prompt and the reference answer)."""
        raise NotImplementedError

    # ---- retrieval ---------------------------------------------------------------------------
    @property
    def retriever(self) -> Retriever:
        """The retriever, opened on first use (after any fork)."""
        if self._retriever is None:
            c = self.config
            url = c.retriever_url or os.environ.get(RETRIEVER_URL_ENV) or None
            index_dir = c.index_dir
            if url is None and index_dir is None and c.data_path is None:
                index_dir = str(default_index_dir(c.kb_config()))  # the knowledge base's own index
            self._retriever = get_retriever(url, index_dir)
        return self._retriever

    @tool(result_tag="information")
    def search(self, query: str) -> str:
        """Search the corpus; returns the top passages for the query, best first.

        Args:
            query: What to look for, in a few words (names, relations, attributes).
        """
        if not query.strip():
            raise ToolArgumentError("the search query is empty: search for a few words")
        try:
            passages = self.retriever.search(query, self.config.topk)
        except QueryError as e:  # a query the index refuses as written is the model's mistake
            raise ToolArgumentError(f"search refused the query: {e}") from None
        except RetrieverError as e:  # the retriever failing is never the model's mistake
            raise InfraError(str(e)) from e
        self._retrieved.extend(p.id for p in passages)
        return format_passages(passages)

    def tools(self) -> list:
        return [self.search]

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self._retrieved = []
        obs, reward, terminated, truncated, info = super().step(action)
        info["retrieved"] = list(self._retrieved)
        return obs, reward, terminated, truncated, info
