"""The retriever interface over HTTP: a client of ``toolgym retriever serve`` or of Search-R1's server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retrieval.api import Passage, QueryError, RetrieverError, check_request


def _detail(resp: Any) -> str:
    try:
        return str(resp.json()["detail"])[:500]
    except Exception:
        return resp.text[:500]


class RetrieverClient:
    """The retriever interface over HTTP, against ``toolgym retriever serve`` or Search-R1's server.

    ``url`` is the service's base URL (a trailing ``/retrieve`` is accepted). A service that cannot be
    reached, times out or fails raises ``RetrieverError``, never an empty result; a request the service
    rejects (4xx) raises ``ValueError`` with its message.
    """

    def __init__(self, url: str, timeout: float = 30.0):
        import httpx

        self.url = url.rstrip("/").removesuffix("/retrieve")
        self._httpx = httpx
        self._client = httpx.Client(timeout=timeout)

    def search(self, query: str, topk: int = 3) -> list[Passage]:
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]:
        check_request(queries, topk)
        payload = {"queries": list(queries), "topk": topk, "return_scores": True}
        try:
            resp = self._client.post(f"{self.url}/retrieve", json=payload)
        except self._httpx.HTTPError as exc:
            raise RetrieverError(f"retriever at {self.url} unreachable: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 400:  # the service refused a query (see check_request)
            raise QueryError(f"retriever rejected the query: {_detail(resp)}")
        if 400 <= resp.status_code < 500:
            raise ValueError(f"retriever rejected the request ({resp.status_code}): {resp.text[:500]}")
        if resp.status_code != 200:
            raise RetrieverError(f"retriever at {self.url} failed ({resp.status_code}): {resp.text[:500]}")
        try:
            result = resp.json()["result"]
            ranked = [[_parse_hit(h) for h in hits] for hits in result]
        except (ValueError, KeyError, TypeError) as exc:
            raise RetrieverError(
                f"retriever at {self.url} sent a malformed response: {resp.text[:200]!r}"
            ) from exc
        if len(ranked) != len(queries):
            raise RetrieverError(f"retriever at {self.url} answered {len(ranked)} of {len(queries)} queries")
        return ranked

    def health(self) -> dict[str, Any]:
        """The service's ``GET /health``; raises ``RetrieverError`` when it is down."""
        try:
            resp = self._client.get(f"{self.url}/health")
            resp.raise_for_status()
            return resp.json()
        except self._httpx.HTTPError as exc:
            raise RetrieverError(f"retriever at {self.url} is not healthy: {exc}") from exc

    def close(self) -> None:
        self._client.close()


def _parse_hit(hit: dict[str, Any]) -> Passage:
    """One hit of Search-R1's JSON: ``{"document": {"id", "contents"}, "score"}``."""
    doc = hit["document"]
    return Passage(str(doc["id"]), str(doc["contents"]), float(hit["score"]))
