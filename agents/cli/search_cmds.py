"""CLI: ``index build``, ``index kb`` (a generated corpus) and ``retriever serve``."""

import json
from pathlib import Path
from typing import Annotated

import typer

from agents.cli.output import console


def build_command(
    paths: Annotated[
        list[Path], typer.Argument(help="CORPUS.jsonl OUT_DIR, or only OUT_DIR with --prebuilt.")
    ],
    prebuilt: Annotated[
        str | None, typer.Option(help="A pyserini prebuilt index, e.g. wikipedia-dpr-100w (needs internet).")
    ] = None,
    threads: Annotated[int, typer.Option(min=0, help="Indexing threads (0: up to 4, by cores).")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing index in OUT_DIR.")] = False,
    dense: Annotated[bool, typer.Option(help="Also build a dense (faiss) index in OUT_DIR/dense.")] = False,
) -> None:
    """Build a BM25 index from {"id", "contents"} or {"id", "title", "text"} JSONL lines."""
    from retrieval.index import build_index, fetch_prebuilt

    try:
        if prebuilt:
            if len(paths) != 1:
                raise ValueError("with --prebuilt give only OUT_DIR")
            console().print(f"index: {fetch_prebuilt(prebuilt, paths[0])}")
            return
        if len(paths) != 2:
            raise ValueError("give CORPUS.jsonl and OUT_DIR")
        corpus, out_dir = paths
        build_index(corpus, out_dir, threads=threads or None, overwrite=overwrite)
        console().print(f"BM25 index: {out_dir}")
        if dense:
            from retrieval.dense import build_dense_index

            console().print(f"dense index: {build_dense_index(corpus, out_dir / 'dense')}")
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        console().print(f"[red]error:[/red] {exc}", markup=True)
        raise typer.Exit(2) from None


def kb_command(
    corpus: Annotated[Path, typer.Argument(help="Where to write the generated corpus (JSONL).")],
    entities: Annotated[int, typer.Option(help="Number of fictional entities.")] = 400,
    distractors: Annotated[int, typer.Option(help="Distractor passages per entity.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the knowledge base.")] = 0,
    questions: Annotated[
        Path | None, typer.Option(help="Also write questions here (Search-R1 QA JSONL).")
    ] = None,
    n_questions: Annotated[int, typer.Option(min=1, help="How many questions to write.")] = 1000,
    hops: Annotated[str, typer.Option(help="Hop counts to draw questions from, e.g. 2,3.")] = "1,2,3,4",
) -> None:
    """Write a generated fictional knowledge base as a corpus (and its questions with gold passages)."""
    from envs.search.kb import KBConfig, generate_kb

    try:
        hop_list = tuple(int(h) for h in hops.split(","))
        kbase = generate_kb(KBConfig(seed=seed, n_entities=entities, distractors=distractors))
        qs = kbase.questions(n_questions, hop_list, seed=seed) if questions is not None else []
    except ValueError as exc:
        console().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    kbase.write_corpus(corpus)
    if questions is not None:
        with questions.open("w", encoding="utf-8") as f:
            for i, q in enumerate(qs):
                f.write(json.dumps({"id": f"q{i}", **q.to_json()}, ensure_ascii=False) + "\n")
    console().print(
        f"{len(kbase)} passages -> {corpus}" + (f", {len(qs)} questions -> {questions}" if qs else "")
    )


def serve_command(
    index: Annotated[Path, typer.Option(help="Index directory (from `toolgym index build`).")],
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    cache: Annotated[
        int, typer.Option(min=0, help="LRU cache of this many (query, topk) results; 0: off.")
    ] = 0,
    threads: Annotated[
        int, typer.Option(min=0, help="Java threads a batch of queries is spread over (0: one per core).")
    ] = 0,
    max_batch: Annotated[
        int,
        typer.Option(
            min=1,
            help="Most queries one request may hold (searched 1024 at a time); more get 400.",
        ),
    ] = 16_384,
) -> None:
    """Serve Search-R1's POST /retrieve and GET /health over an index."""
    from retrieval.service import serve

    try:
        serve(index, host=host, port=port, cache_size=cache, threads=threads or None, max_batch=max_batch)
    except FileNotFoundError as exc:
        console().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add ``index build``, ``index kb`` and ``retriever serve``."""
    index_app = typer.Typer(
        help="Build retrieval indexes and generated corpora.", no_args_is_help=True, rich_markup_mode=None
    )
    retriever_app = typer.Typer(
        help="Serve a retrieval index over HTTP.", no_args_is_help=True, rich_markup_mode=None
    )
    index_app.command("build")(build_command)
    index_app.command("kb")(kb_command)
    retriever_app.command("serve")(serve_command)
    app.add_typer(index_app, name="index")
    app.add_typer(retriever_app, name="retriever")
