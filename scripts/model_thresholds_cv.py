#!/usr/bin/env python3
"""Choose the `[model]` thresholds of the default rules by four-fold cross-validation.

Line i of every `dev` and `tune` set of data/eval/sets.toml goes to fold i mod 4; a model is
fitted on three folds (`voc model train --alpha A`) and each threshold is swept on the fourth,
one at a time around the current values, so every voice is scored by a model that has not seen
it. Prints the figures pooled over the four folds (their mean; the folds are of equal size to
one voice), then each setting's change against the current thresholds. Used for
`ja-contact-center@2026-12-02.1` (data/eval/README.md). Fitting takes about 10 minutes per fold
on one core; `--jobs 2` fits two at once.

    python3 scripts/model_thresholds_cv.py --work /tmp/cv [--alpha 0.25] [--jobs 2]
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOC = os.path.join(ROOT, "target/release/voc")
RULES = os.path.join(ROOT, "config/rules/ja-contact-center.toml")
KEYS = ["topics_micro_f1", "voice_type_accuracy", "complaint_recall",
        "complaint_type_accuracy", "sentiment_macro_f1", "complaints_without_topic"]
GRID = {"complaint": [0.4, 0.5, 0.6, 0.7, 0.8], "veto": [0.05, 0.1, 0.2, 0.3],
        "topic": [0.2, 0.25, 0.3, 0.35, 0.4, 0.5], "another_topic": [0.4, 0.45, 0.5, 0.6, 0.7, 0.8],
        "positive": [0.4, 0.5, 0.6, 0.7], "voice": [0.3, 0.4, 0.5, 0.6],
        "complaint_type": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9], "sentiment": [0.5, 0.6, 0.7, 0.8, 0.9]}
FOLDS = 4


def current_thresholds():
    with open(os.path.join(ROOT, "config/rules/ja-contact-center/tuning.toml"), "rb") as f:
        model = tomllib.load(f)["model"]
    return {k: model[k] for k in GRID}


def make_folds(work):
    with open(os.path.join(ROOT, "data/eval/sets.toml"), "rb") as f:
        sets = [s for s in tomllib.load(f)["set"] if s["role"] in ("dev", "tune")]
    # dev first, then the tune sets by file name: the order the folds of .12-02.1 were dealt in
    sets.sort(key=lambda s: (s["role"] != "dev", s["file"]))
    train = [open(f"{work}/train{k}.jsonl", "w") for k in range(FOLDS)]
    test = [open(f"{work}/test{k}.jsonl", "w") for k in range(FOLDS)]
    for s in sets:
        with open(os.path.join(ROOT, "data/eval", s["file"])) as f:
            for i, line in enumerate(f):
                if not line.strip():
                    continue
                test[i % FOLDS].write(line)
                for j in range(FOLDS):
                    if j != i % FOLDS:
                        train[j].write(line)
    for f in train + test:
        f.close()


def fit(work, k, alpha):
    out = f"{work}/m{k}-a{alpha}.json.gz"
    if not os.path.exists(out):
        subprocess.run([VOC, "model", "train", f"{work}/train{k}.jsonl", "--alpha", str(alpha),
                        "--out", out, "--name", f"cv{k}"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


def pooled(work, alpha, thresholds):
    figures = []
    for k in range(FOLDS):
        rules = f"{work}/rules{k}.toml"
        with open(rules, "w") as f:
            f.write(f'version = "cv@{k}"\nextends = "{RULES}"\n[model]\n')
            f.write(f'file = "m{k}-a{alpha}.json.gz"\n')
            for name, value in thresholds.items():
                f.write(f"{name} = {value}\n")
        out = subprocess.run([VOC, "eval", "--json", f"{work}/test{k}.jsonl"], cwd=ROOT,
                             env=dict(os.environ, VOC_RULES=rules), capture_output=True,
                             text=True, check=True)
        figures.append(json.loads(out.stdout))
    return {key: sum(f[key] for f in figures) / FOLDS for key in KEYS}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="directory for the folds and models")
    ap.add_argument("--alpha", default="0.25")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    make_folds(args.work)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda k: fit(args.work, k, args.alpha), range(FOLDS)))
    now = current_thresholds()
    base = pooled(args.work, args.alpha, now)
    print("current", " ".join(f"{k}={base[k]:.4f}" for k in KEYS), flush=True)
    for name, values in GRID.items():
        for v in values:
            if v == now[name]:
                continue
            m = pooled(args.work, args.alpha, {**now, name: v})
            print(f"{name}={v}", " ".join(f"{k}{m[k] - base[k]:+.4f}" for k in KEYS), flush=True)


if __name__ == "__main__":
    main()
