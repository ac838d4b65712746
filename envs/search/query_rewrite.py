"""``toolgym/QueryRewrite-v0`` (DeepRetrieval style): write the search query for an information need.

The agent's final answer is a query; the reward is recall@k of the gold passages when that query
is run against the corpus. The ``search`` tool lets it try queries first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from envs.core import Task, Verdict, check_range
from envs.search.base import SearchConfig, SearchEnv
from envs.search.qa_data import QAExample


@dataclass
class QueryRewriteConfig(SearchConfig):
    """``recall_k``: how many passages the final query retrieves for the recall; ``max_hops``
    defaults to 1 (one gold passage)."""

    max_hops: int = 1
    recall_k: int = 5

    def validate(self) -> None:
        super().validate()
        check_range("recall_k", self.recall_k, 1, 100)


class QueryRewriteEnv(SearchEnv):
    """Reward = recall@k of the gold passages for the query the agent submits as its answer."""

    config_cls = QueryRewriteConfig
    config: QueryRewriteConfig
    episode_defaults: ClassVar[dict[str, Any]] = {"max_turns": 3}
    task_prefix: ClassVar[str] = "need"

    def answer_shape(self) -> str:
        return "the search query itself, a few keywords"

    def instructions(self) -> str:
        return (
            "You write search queries. Given an information need, write one query that makes a BM25 "
            "search engine return the passages that satisfy it among its top "
            f"{self.config.recall_k} results. Keywords work better than questions: use names and "
            "distinctive words. You may try queries with the search tool first. Your final answer is "
            f"the query itself: {self.protocol.how_to_answer(self.answer_shape())}."
        )

    def make_task(self, task_id: str, example: QAExample) -> Task:
        if not example.gold_ids:
            raise ValueError(f"task {task_id}: QueryRewrite needs gold passage ids (supporting_ids)")
        prompt = (
            f'Information need: find the passages needed to answer "{example.question}"\n'
            "Write the search query."
        )
        metadata = {"gold_ids": list(example.gold_ids), "question": example.question, **example.metadata}
        return Task(id=task_id, prompt=prompt, answer=self._reference_query(example), metadata=metadata)

    def _reference_query(self, example: QAExample) -> str:
        """A query that retrieves every gold passage: their titles, else their whole texts."""
        if self.config.data_path is not None:
            return example.question
        passages = [self.kb.entity_passage(self.kb.entities[g]) for g in example.gold_ids]
        titles = " ".join(p["contents"].partition("\n")[0].strip('"') for p in passages)
        return titles

    def demonstration(self) -> list[str]:
        """The reference query (the gold passages' titles) tried with ``search``, then submitted."""
        if self.episode.max_turns < 2:
            return super().demonstration()
        search = self.call_turn("search", query=self.task.answer)
        return [search, *self._closing_turns(self.episode.max_turns - 1)]

    def recall(self, task: Task, query: str) -> float:
        """The share of the task's gold passages among the top ``recall_k`` for ``query``."""
        hits = {p.id for p in self.retriever.search(query, self.config.recall_k)}
        gold = task.metadata["gold_ids"]
        return sum(g in hits for g in gold) / len(gold)

    def verify(self, task: Task, answer: str) -> Verdict:
        query = " ".join(answer.split())
        if not query:
            return Verdict.wrong("the query is empty", recall=0.0)
        recall = self.recall(task, query)
        parts = {"correct": float(recall == 1.0), "recall": recall}
        feedback = (
            "every gold passage retrieved"
            if recall == 1.0
            else f"recall@{self.config.recall_k} is {recall:.2f}"
        )
        return Verdict(recall, recall == 1.0, parts, feedback)
