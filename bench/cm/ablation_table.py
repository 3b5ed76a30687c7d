#!/usr/bin/env python3
"""Turns the TSVs written by run_ablation.sh into the markdown ablation table."""
import glob
import os
import sys


def main():
    out, model = sys.argv[1], sys.argv[2]
    base = {}
    for line in open(os.path.join(out, "baselines.tsv")):
        name, raw, xz, zs = line.split("\t")
        base[name] = (int(raw), int(xz), int(zs))
    runs = {}  # (config, window) -> {file: (coded, ns)}
    for path in glob.glob(os.path.join(out, "*-*.tsv")):
        config, window = os.path.basename(path)[:-4].rsplit("-", 1)
        rows = {}
        for line in open(path):
            if line.startswith("#") or line.startswith("TOTAL"):
                continue
            f, raw, coded, bpb, ns = line.rstrip("\n").split("\t")
            rows[os.path.basename(f)] = (int(coded), float(ns))
        runs[(config, int(window))] = rows
    configs = [c for c in ["prior", "cm", "match", "nomatch", "noprior", "full"]
               if any(k[0] == c for k in runs)]
    windows = sorted({k[1] for k in runs})
    names = sorted(base)
    logs = [n for n in names if n.startswith("log-")]
    prose = [n for n in names if not n.startswith("log-")]
    label = {"prior": f"prior alone ({model})", "cm": "context models", "match": "match model",
             "nomatch": "all but match", "noprior": "all but prior", "full": "full mix (stage 1)"}

    def bpb(coded, raw):
        return 8.0 * coded / raw

    groups = [("", n) for n in names] + [("total", "logs"), ("total", "prose+docs"), ("total", "all")]
    for w in windows:
        print(f"\n#### Windows of {w // 1024} KiB: bits per byte (range-coded, round trip checked), prior `{model}`\n")
        print("| file | bytes | xz -9e | zstd -19 --long | " + " | ".join(label[c] for c in configs) + " |")
        print("|---" * (4 + len(configs)) + "|")
        for kind, n in groups:
            members = {"logs": logs, "prose+docs": prose, "all": names}.get(n, [n]) if kind else [n]
            raw = sum(base[m][0] for m in members)
            xz = sum(base[m][1] for m in members)
            zs = sum(base[m][2] for m in members)
            cells = []
            for c in configs:
                r = runs.get((c, w))
                if r is None or any(m not in r for m in members):
                    cells.append("-")
                    continue
                cells.append(f"{bpb(sum(r[m][0] for m in members), raw):.3f}")
            title = f"**{n}**" if kind else n
            print(f"| {title} | {raw} | {bpb(xz, raw):.3f} | {bpb(zs, raw):.3f} | " + " | ".join(cells) + " |")
    print("\nFull mix relative to xz -9e on the whole file (size ratio; < 1 is smaller than xz):\n")
    print("| file | " + " | ".join(f"{w // 1024}K" for w in windows) + " |")
    print("|---" * (1 + len(windows)) + "|")
    for kind, n in groups:
        members = {"logs": logs, "prose+docs": prose, "all": names}.get(n, [n]) if kind else [n]
        xz = sum(base[m][1] for m in members)
        cells = []
        for w in windows:
            r = runs.get(("full", w))
            if r is None or any(m not in r for m in members):
                cells.append("-")
                continue
            cells.append(f"{sum(r[m][0] for m in members) / xz:.3f}")
        title = f"**{n}**" if kind else n
        print(f"| {title} | " + " | ".join(cells) + " |")
    print("\nStage CPU cost, ns per byte (encode side, predictor excluded, one core):\n")
    print("| config | " + " | ".join(f"{w // 1024}K" for w in windows) + " |")
    print("|---" * (1 + len(windows)) + "|")
    for c in configs:
        cells = []
        for w in windows:
            r = runs.get((c, w))
            if r is None:
                cells.append("-")
                continue
            raw = sum(base[m][0] for m in r)
            ns = sum(r[m][1] * base[m][0] for m in r) / raw
            cells.append(f"{ns:.0f}")
        print(f"| {label[c]} | " + " | ".join(cells) + " |")


main()
