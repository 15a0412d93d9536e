#!/usr/bin/env python3
"""Python baseline for `voc bench analysis`: MeCab with IPADIC (PyPI `mecab` + `ipadic`) tokenising
the same customer texts, single thread, best of N rounds. Prints chars/s and a JSON last line.

Usage: python3 scripts/bench_mecab.py [FILE] [--limit N] [--rounds R]
   (pip install mecab ipadic; FILE defaults to data/corpus/jmultiwoz-dialogues.jsonl.gz)
"""
import argparse
import gzip
import json
import time

import ipadic
import MeCab


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default="data/corpus/jmultiwoz-dialogues.jsonl.gz")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    opener = gzip.open if a.file.endswith(".gz") else open
    texts = []
    with opener(a.file, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            m = json.loads(line)
            turns = m.get("turns") or [{"speaker": "customer", "text": m.get("text") or ""}]
            texts.append("\n".join(t["text"] for t in turns if t.get("speaker") == "customer"))
            if a.limit and len(texts) >= a.limit:
                break
    chars = sum(len(t) for t in texts)
    tagger = MeCab.Tagger(ipadic.MECAB_ARGS)
    best = float("inf")
    tokens = 0
    for _ in range(a.rounds):
        start = time.perf_counter()
        for t in texts:
            node = tagger.parseToNode(t)
            while node:
                tokens += 1
                node = node.next
        best = min(best, time.perf_counter() - start)
    print(f"MeCab (IPADIC) via Python, 1 thread: {chars / best:.0f} chars/s over {len(texts)} interactions ({chars} chars)")
    print(json.dumps({"chars": chars, "mecab_python_chars_per_s": round(chars / best)}))


if __name__ == "__main__":
    main()
