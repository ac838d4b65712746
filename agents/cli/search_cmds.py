"""CLI: index build, index kb, retriever serve."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the toolgym app."""
    index_app = typer.Typer(help="Build retrieval indexes and generated corpora.", no_args_is_help=True)
    retriever_app = typer.Typer(help="Serve a retrieval index over HTTP.", no_args_is_help=True)
    app.add_typer(index_app, name="index")
    app.add_typer(retriever_app, name="retriever")

    @index_app.command("build")
    def build(
        paths: list[Path] = typer.Argument(..., help="CORPUS.jsonl OUT_DIR, or only OUT_DIR with --prebuilt."),
        prebuilt: str | None = typer.Option(None, help="A pyserini prebuilt index, e.g. wikipedia-dpr-100w (internet)."),
        threads: int = typer.Option(0, help="Indexing threads (0: up to 4, by cores)."),
        overwrite: bool = typer.Option(False, help="Replace an existing index in OUT_DIR."),
        dense: bool = typer.Option(False, help="Also build a dense (faiss) index in OUT_DIR/dense."),
    ) -> None:
        """Build a BM25 index from {"id", "contents"} or {"id", "title", "text"} JSONL lines."""
        from rich.console import Console

        console = Console()
        if prebuilt:
            if len(paths) != 1:
                raise typer.BadParameter("with --prebuilt give only OUT_DIR", param_hint="PATHS")
            from envs.search.index import fetch_prebuilt

            console.print(f"index: {fetch_prebuilt(prebuilt, paths[0])}")
            return
        if len(paths) != 2:
            raise typer.BadParameter("give CORPUS.jsonl and OUT_DIR", param_hint="PATHS")
        corpus, out_dir = paths
        from envs.search.index import build_index

        try:
            build_index(corpus, out_dir, threads=threads or None, overwrite=overwrite)
        except (FileNotFoundError, FileExistsError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        console.print(f"BM25 index: {out_dir}")
        if dense:
            from envs.search.dense import build_dense_index

            console.print(f"dense index: {build_dense_index(corpus, out_dir / 'dense')}")

    @index_app.command("kb")
    def kb(
        corpus: Path = typer.Argument(..., help="Where to write the generated corpus (JSONL)."),
        entities: int = typer.Option(400, help="Number of fictional entities."),
        distractors: int = typer.Option(1, help="Distractor passages per entity."),
        seed: int = typer.Option(0, help="Seed of the knowledge base."),
        questions: Path | None = typer.Option(None, help="Also write questions here (Search-R1 QA JSONL)."),
        n_questions: int = typer.Option(1000, help="How many questions to write."),
        hops: str = typer.Option("1,2,3,4", help="Hop counts to draw questions from, e.g. 2,3."),
    ) -> None:
        """Write a generated fictional knowledge base as a corpus (and its questions)."""
        import json

        from envs.search.kb import KBConfig, generate_kb

        try:
            config = KBConfig(seed=seed, n_entities=entities, distractors=distractors)
            hop_list = tuple(int(h) for h in hops.split(","))
            kbase = generate_kb(config)
            kbase.write_corpus(corpus)
            if questions is not None:
                qs = kbase.questions(n_questions, hop_list, seed=seed)
                with questions.open("w", encoding="utf-8") as f:
                    for i, q in enumerate(qs):
                        f.write(json.dumps({"id": f"q{i}", **q.to_json()}, ensure_ascii=False) + "\n")
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"{len(kbase)} passages -> {corpus}")

    @retriever_app.command("serve")
    def serve(
        index: Path = typer.Option(..., help="Index directory (from `toolgym index build`)."),
        host: str = typer.Option("127.0.0.1", help="Address to bind."),
        port: int = typer.Option(8000, help="Port to bind."),
        cache: int = typer.Option(0, help="LRU cache of this many (query, topk) results; 0 turns it off."),
        threads: int = typer.Option(1, help="Lucene search threads per query (helps large multi-segment indexes)."),
    ) -> None:
        """Serve Search-R1's POST /retrieve and GET /health over an index."""
        from envs.search.service import serve as run_service

        run_service(index, host=host, port=port, cache_size=cache, threads=threads)
