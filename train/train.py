"""Trains one lmz model (spec/MODEL.md) on the training corpora, then exports it.

Usage (see README.md):
  python3 train.py --name small --embed 256 --hidden 256 --layers 2 \
      --corpora DIR --minutes 8 --out OUTDIR [--resume CKPT] [--qat-frac 0.15]

Windows of 16 KiB start from the model's initial state, exactly as the codec
uses them; each window is run in chunks (truncated backprop) carrying the
state. The last 5% of every training file is held back for validation; the
best validation checkpoint (measured on the quantised QAT path once QAT has
started) is the one exported. The heldout/ split is never read here.
"""
import argparse
import glob
import lzma
import math
import os
import time

import torch
import torch.nn.functional as F

from lmz_model import Net, export_bytes, init_from_model_file

WINDOW = 16384


def load_corpora(d):
    train, val = [], []
    for p in sorted(glob.glob(os.path.join(d, "*.xz"))):
        raw = lzma.open(p).read()
        cut = int(len(raw) * 0.95)
        train.append(torch.frombuffer(bytearray(raw[:cut]), dtype=torch.uint8))
        val.append(torch.frombuffer(bytearray(raw[cut:]), dtype=torch.uint8))
    return train, val


def sample_windows(parts, weights, n, gen):
    idx = torch.multinomial(weights, n, replacement=True, generator=gen)
    rows = []
    for k in idx.tolist():
        t = parts[k]
        s = int(torch.randint(0, len(t) - WINDOW + 1, (1,), generator=gen))
        rows.append(t[s:s + WINDOW])
    return torch.stack(rows).long()


def val_windows(val, per_file_max=2):
    rows = []
    for t in val:
        for s in range(0, len(t) - WINDOW + 1, WINDOW)[:per_file_max]:
            rows.append(t[s:s + WINDOW])
    return torch.stack(rows).long()


def run_windows(net, wins, chunk, qat, dev, train_step=None):
    """Runs whole windows; returns mean bits per byte (and trains if asked)."""
    B = wins.shape[0]
    inp = torch.cat([torch.full((B, 1), 256, dtype=torch.long), wins[:, :-1]], 1).to(dev)
    tgt = wins.to(dev)
    state = net.zero_state(B, dev)
    tot, cnt = 0.0, 0
    fwd = net.forward_qat if qat else net.forward_fast
    for s in range(0, WINDOW, chunk):
        x, y = inp[:, s:s + chunk], tgt[:, s:s + chunk]
        if train_step is None:
            with torch.no_grad():
                logits, state = fwd(x, state)
        else:
            logits, state = fwd(x, state)
        loss = F.cross_entropy(logits.reshape(-1, 256).float(), y.reshape(-1))
        if train_step is not None:
            if not train_step(loss):
                return None
            state = (state[0].detach(), state[1].detach())
        tot += float(loss) * y.numel()
        cnt += y.numel()
    return tot / cnt / math.log(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--embed", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--corpora", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--qat-frac", type=float, default=0.15)
    ap.add_argument("--qat-batch", type=int, default=64)
    ap.add_argument("--qat-chunk", type=int, default=64)
    ap.add_argument("--resume", default="")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    t0 = time.time()
    budget = a.minutes * 60
    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    train, val = load_corpora(a.corpora)
    weights = torch.tensor([float(len(t)) for t in train])
    vw = val_windows(val)
    print(f"[{a.name}] {sum(len(t) for t in train)} train bytes, {vw.numel()} val bytes, "
          f"load {time.time() - t0:.1f}s", flush=True)

    net = Net(a.embed, a.hidden, a.layers).to(dev)
    if a.resume and os.path.exists(a.resume):
        if a.resume.endswith(".lmzm"):
            init_from_model_file(net, open(a.resume, "rb").read())
        else:
            sd = torch.load(a.resume, map_location=dev)
            net.load_state_dict({k: v.float() for k, v in sd.items()})
        print(f"[{a.name}] resumed from {a.resume}", flush=True)
    nparams = sum(p.numel() for p in net.parameters())
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.99))
    qat_start = budget * (1 - a.qat_frac)
    best = (float("inf"), None)
    step = 0
    bytes_seen = 0
    last_val = time.time()
    qat = False

    def lr_at(el):
        warm = min(1.0, (step + 1) / 200)
        return a.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, el / budget))))

    def train_step(loss):
        nonlocal step, bytes_seen
        el = time.time() - t0
        if el > budget or (not qat and el > qat_start):
            return False
        for g in opt.param_groups:
            g["lr"] = lr_at(el) * (0.3 if qat else 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        bytes_seen += (a.qat_batch * a.qat_chunk) if qat else (a.batch * a.chunk)
        return True

    def validate(use_qat):
        nonlocal best
        net.eval()
        v = run_windows(net, vw, 512 if not use_qat else 256, use_qat, dev)
        net.train()
        tag = "qat" if use_qat else "fast"
        print(f"[{a.name}] t={time.time() - t0:.0f}s step={step} seen={bytes_seen / 1e6:.1f}MB "
              f"val_{tag}={v:.4f} bpb", flush=True)
        if use_qat == qat and v < best[0]:
            best = (v, {k: t.detach().clone() for k, t in net.state_dict().items()})
        return v

    net.train()
    while time.time() - t0 < budget:
        if not qat and time.time() - t0 > qat_start:
            validate(False)
            qat = True
            best = (float("inf"), None)
            validate(True)
        if qat:
            wins = sample_windows(train, weights, a.qat_batch, gen)
            run_windows(net, wins, a.qat_chunk, True, dev, train_step)
        else:
            wins = sample_windows(train, weights, a.batch, gen)
            run_windows(net, wins, a.chunk, False, dev, train_step)
        if time.time() - last_val > 60 and not qat:
            validate(False)
            last_val = time.time()
    v = validate(qat)
    if best[1] is not None:
        net.load_state_dict(best[1])
    os.makedirs(a.out, exist_ok=True)
    data = export_bytes(net, a.name)
    with open(os.path.join(a.out, f"{a.name}.lmzm"), "wb") as f:
        f.write(data)
    print(f"[{a.name}] done: params={nparams} best_val={best[0]:.4f} bpb steps={step} "
          f"seen={bytes_seen / 1e6:.1f}MB file={len(data)} bytes time={time.time() - t0:.0f}s",
          flush=True)


if __name__ == "__main__":
    main()
