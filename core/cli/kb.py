"""`ladder kb ...`: create knowledge bases, add files, list, search, delete documents, re-index.

Each command is one call into `core.retrieval`; errors are `RetrievalError`
messages. `--json` prints one JSON document (search results best first, each
with `id`, `document` (the chunk text), `source` (its file), `score`).
"""

from __future__ import annotations

import argparse
import sys

from core.cli.args import workspace as _ws
from core.cli.output import emit


def register(sub) -> None:
    k = sub.add_parser("kb", help="knowledge bases for retrieved context: create, add, search")
    ksub = k.add_subparsers(dest="kb_command", required=True)

    p = ksub.add_parser("create", help="create an empty knowledge base")
    p.add_argument("name", help="e.g. help-center")
    _chunk_args(p, required=False)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_create)

    p = ksub.add_parser("add", help="add files (txt, md, csv, pdf, html); unchanged chunks are "
                        "skipped")
    p.add_argument("name")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _chunk_args(p, required=False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)

    p = ksub.add_parser("list", help="knowledge bases, or the documents of one")
    p.add_argument("name", nargs="?", help="list this knowledge base's documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = ksub.add_parser("search", help="the chunks most similar to a query, best first")
    p.add_argument("name")
    p.add_argument("query")
    p.add_argument("-k", type=_int_at_least(1), default=5, help="how many results (default 5)")
    p.add_argument("--threshold", type=float, help="drop results below this cosine similarity")
    p.add_argument("--hybrid", action="store_true", help="fuse BM25 keyword and vector ranks")
    p.add_argument("--mmr", action="store_true", help="diversify results (MMR)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = ksub.add_parser("delete-doc", help="remove a document and its chunks")
    p.add_argument("name")
    p.add_argument("document", help="the document's file name, as `ladder kb list NAME` shows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_delete_doc)

    p = ksub.add_parser("reindex", help="re-chunk and re-embed every document with new settings")
    p.add_argument("name")
    _chunk_args(p, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reindex)

    p = ksub.add_parser("recall", help="recall@k of the index against exact search; with "
                        "--data, hit@k and MRR against each question's gold passage")
    p.add_argument("name")
    p.add_argument("--sample", type=_int_at_least(1), default=200)
    p.add_argument("-k", type=_int_at_least(1), default=5)
    p.add_argument("--data", metavar="DATASET", help="a dataset whose context column holds the "
                   "passage each row was asked about: did the search find it?")
    p.add_argument("--split", default="test", choices=["train", "validation", "test", "all"])
    p.add_argument("--limit", type=_int_at_least(1), metavar="N",
                   help="a seeded sample of N rows of the split")
    p.add_argument("--run", type=_int_at_least(1), metavar="ID", help="an evaluation run on "
                   "the dataset: its answer scores split by gold passage retrieved or not")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recall)

    p = ksub.add_parser("ef-search", help="set HNSW ef_search (higher: better recall, slower)")
    p.add_argument("name")
    p.add_argument("value", type=_int_at_least(1))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ef_search)

    p = ksub.add_parser("drop", help="delete a whole knowledge base")
    p.add_argument("name")
    p.set_defaults(func=cmd_drop)


def _chunk_args(p, required: bool) -> None:
    p.add_argument("--chunk-size", type=_int_at_least(1), required=required, metavar="N",
                   help="tokens per chunk (8-254; default: the knowledge base's, 128)")
    p.add_argument("--overlap", type=_int_at_least(0), metavar="M",
                   help="tokens shared by neighbouring chunks; smaller than --chunk-size")
    p.add_argument("--mode", choices=["paragraphs", "tokens"],
                   help="paragraphs: by heading and paragraph (default); tokens: a sliding window")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"'{text}' must be at least {low}")
        return v
    return parse



def _settings(args, base):
    """Chunk settings from the flags, defaulting to `base` (the knowledge base's)."""
    from core.retrieval import ChunkSettings

    if args.chunk_size is None and args.overlap is None and args.mode is None:
        return base
    size = args.chunk_size if args.chunk_size is not None else base.size
    overlap = args.overlap if args.overlap is not None else min(base.overlap, size // 8)
    return ChunkSettings(args.mode or base.mode, size, overlap)


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    return lambda msg, frac: print(f"\r[ladder] {msg:<70}", end="", file=sys.stderr, flush=True)


def cmd_create(args) -> int:
    from core import retrieval

    kb = retrieval.create_kb(_ws(), args.name, _settings(args, retrieval.ChunkSettings()))
    emit(kb.record(), args.json, f"Created knowledge base '{kb.name}' ({kb.chunk.label()}). "
         f"Add files with `ladder kb add {kb.name} FILE...`.")
    return 0


def cmd_add(args) -> int:
    from core import retrieval

    kb = retrieval.open_kb(_ws(), args.name)
    results = retrieval.add_files(kb, args.paths, _settings(args, kb.chunk),
                                  _progress(args.json))
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    lines = [f"{r.document}: {r.status}, {r.chunks} chunks ({r.added} new, {r.skipped} already "
             f"stored, {r.removed} removed)" for r in results]
    emit({"knowledge_base": kb.name, "documents": [r.record() for r in results]}, args.json,
         "\n".join(lines))
    return 0


def cmd_list(args) -> int:
    from core import retrieval

    ws = _ws()
    if args.name:
        kb = retrieval.open_kb(ws, args.name)
        docs = retrieval.list_documents(kb)
        lines = [f"Knowledge base '{kb.name}' ({kb.chunk.label()}, ef_search {kb.ef_search}):"]
        lines += [f"  {d['name']:<40} {d['kind']:<5} {d['chunks']:>6} chunks" for d in docs]
        if not docs:
            lines.append(f"  no documents yet; add some with `ladder kb add {kb.name} FILE`.")
        emit({**kb.record(), "documents": docs}, args.json, "\n".join(lines))
        return 0
    kbs = retrieval.list_kbs(ws)
    lines = [f"{'name':<24} {'documents':>9} {'chunks':>8}  chunking"]
    lines += [f"{k['name']:<24} {k['documents']:>9} {k['chunks']:>8}  {k['chunk_mode']}, "
              f"{k['chunk_size']} tokens, overlap {k['overlap']}" for k in kbs]
    if not kbs:
        lines = ["No knowledge bases yet. Create one with `ladder kb create NAME`."]
    emit({"knowledge_bases": kbs}, args.json, "\n".join(lines))
    return 0


def cmd_search(args) -> int:
    from core import retrieval

    kb = retrieval.open_kb(_ws(), args.name)
    hits = retrieval.search(kb, args.query, args.k, threshold=args.threshold,
                            hybrid=args.hybrid, mmr_diversity=args.mmr)
    lines = [f"{h.rank}. {h.score:.3f}  {h.where}\n   {_short(h.document)}" for h in hits]
    if not hits:
        lines = ["No chunk passed the threshold; lower --threshold."]
    emit({"knowledge_base": kb.name, "query": args.query, "results": [h.record() for h in hits]},
         args.json, "\n".join(lines))
    return 0


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def cmd_delete_doc(args) -> int:
    from core import retrieval

    kb = retrieval.open_kb(_ws(), args.name)
    removed = retrieval.delete_document(kb, args.document)
    emit({"knowledge_base": kb.name, "document": args.document, "removed_chunks": removed},
         args.json, f"Deleted {args.document} from '{kb.name}' ({removed} chunks).")
    return 0


def cmd_reindex(args) -> int:
    from core import retrieval

    kb = retrieval.open_kb(_ws(), args.name)
    kb = retrieval.reindex(kb, _settings(args, kb.chunk), _progress(args.json))
    docs = retrieval.list_documents(kb)
    emit({**kb.record(), "documents": len(docs), "chunks": sum(d["chunks"] for d in docs)},
         args.json, f"Re-indexed '{kb.name}' ({kb.chunk.label()}): {len(docs)} documents, "
         f"{sum(d['chunks'] for d in docs)} chunks.")
    return 0


def cmd_recall(args) -> int:
    from core import retrieval

    if args.data is None and (args.run or args.limit):
        from core.cli.output import CliError

        raise CliError("--run and --limit measure a question set; add --data DATASET.")
    if args.data is not None:
        from core.evals.gold import advice, gold_recall

        rec = gold_recall(_ws(), args.name, args.data, args.split, args.k, args.limit, args.run)
        emit(rec, args.json, advice(rec))
        return 0
    rep = retrieval.recall_check(retrieval.open_kb(_ws(), args.name), args.sample, args.k)
    emit(rep, args.json, f"recall@{rep['k']} = {rep['recall']:.3f} on {rep['sample']} queries "
         f"over {rep['chunks']} chunks (ef_search {rep['ef_search']}): {rep['advice']}")
    return 0


def cmd_ef_search(args) -> int:
    from core import retrieval

    kb = retrieval.set_ef_search(retrieval.open_kb(_ws(), args.name), args.value)
    emit(kb.record(), args.json, f"ef_search of '{kb.name}' is now {kb.ef_search}.")
    return 0


def cmd_drop(args) -> int:
    from core import retrieval

    retrieval.drop_kb(_ws(), args.name)
    print(f"Deleted knowledge base '{args.name}'.")
    return 0
