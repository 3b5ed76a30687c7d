"""The integer forward of spec/MODEL.md, read from a .lmzm file alone.

Independent of the trainer: it parses the file and computes with int64
tensors (matrix products in float64, exact since every partial sum is an
integer far below 2^53). It defines the numbers the C++ engine must give.

  python3 intref.py refvec MODEL.lmzm OUT.txt     reference vectors
  python3 intref.py eval MODEL.lmzm FILE...       bits/byte, 16 KiB windows
"""
import math
import struct
import sys

import torch

WINDOW = 16384


class IntModel:
    def __init__(self, data, device="cpu"):
        import xxhash
        self.dev = device
        if data[:8] != b"LMZMODEL":
            raise ValueError("bad magic")
        h = xxhash.xxh3_128(data[:-16]).intdigest()
        hi, lo = struct.unpack("<QQ", data[-16:])
        if (hi << 64 | lo) != h:
            raise ValueError("hash mismatch")
        self.hash_hex = "%016x%016x" % (hi, lo)
        pos = 8
        ver, arch, nlen = struct.unpack_from("<III", data, pos); pos += 12
        assert ver == 1 and arch == 1
        self.name = data[pos:pos + nlen].decode(); pos += nlen
        E, H, L, S, G, X, C = struct.unpack_from("<7I", data, pos); pos += 28
        self.E, self.H, self.L, self.S, self.C = E, H, L, S, C
        assert G == 4096 and X == 4096

        def take(n, dtype):
            nonlocal pos
            esz = 1 if dtype == torch.int8 else 4
            t = torch.frombuffer(bytearray(data[pos:pos + n * esz]), dtype=dtype).clone()
            pos += n * esz
            return t.to(torch.int64).to(device)

        self.emb = take(257 * E, torch.int8).view(257, E)
        self.layers = []
        for l in range(L):
            K = (E if l == 0 else H) + H
            W = take(4 * H * K, torch.int8).view(4 * H, K)
            M = take(4 * H, torch.int32)
            B = take(4 * H, torch.int32)
            self.layers.append((W.double(), M, B))
        self.Wo = take(256 * H, torch.int8).view(256, H).double()
        self.Mo = take(256, torch.int32)
        self.Bo = take(256, torch.int32)
        self.sig = take(4096, torch.int32)
        self.tanh = take(4096, torch.int32)
        self.exp = take(4096, torch.int32)
        assert pos == len(data) - 16

    def rescale(self, acc, M, B):
        return torch.div(acc * M + (1 << (self.S - 1)), 1 << self.S, rounding_mode="floor") + B

    def zero_state(self, n):
        z = lambda: torch.zeros(n, self.H, dtype=torch.int64, device=self.dev)
        return [z() for _ in range(self.L)], [z() for _ in range(self.L)]

    def step(self, sym, state):
        """sym [n] int64 in 0..256; state (h list, c list) -> new state."""
        hs, cs = state
        H = self.H
        v = self.emb[sym]
        nh, nc = [], []
        for l, (W, M, B) in enumerate(self.layers):
            x = torch.cat([v, hs[l]], 1).double()
            acc = (x @ W.t()).round().to(torch.int64)
            z = self.rescale(acc, M, B).clamp(-2048, 2047) + 2048
            i = self.sig[z[:, :H]]
            f = self.sig[z[:, H:2 * H]]
            g = self.tanh[z[:, 2 * H:3 * H]]
            o = self.sig[z[:, 3 * H:]]
            c = torch.div(f * cs[l] + i * g + (1 << 14), 1 << 15, rounding_mode="floor")
            c = c.clamp(-self.C, self.C)
            ti = torch.div(c + 64, 128, rounding_mode="floor").clamp(-2048, 2047) + 2048
            t = self.tanh[ti]
            h = torch.div(o * t * 127 + (1 << 29), 1 << 30, rounding_mode="floor")
            nh.append(h)
            nc.append(c)
            v = h
        return nh, nc

    def freqs(self, state):
        """-> int64 [n,256] frequencies, each >= 1, rows summing to 65536."""
        h = state[0][-1]
        acc = (h.double() @ self.Wo.t()).round().to(torch.int64)
        lg = self.rescale(acc, self.Mo, self.Bo)
        mx = lg.max(1, keepdim=True).values
        d = (mx - lg).clamp(max=4095)
        p = self.exp[d]
        s = p.sum(1, keepdim=True)
        fr = 1 + torch.div(p * 65280, s, rounding_mode="floor")
        r = 65536 - fr.sum(1)
        ar = torch.arange(256, device=self.dev).expand_as(lg)
        am = torch.where(lg == mx, ar, torch.full_like(ar, 256)).min(1).values
        fr[torch.arange(fr.shape[0], device=self.dev), am] += r
        return fr


def cdf_rows(fr):
    z = torch.zeros(fr.shape[0], 1, dtype=torch.int64, device=fr.device)
    return torch.cat([z, fr.cumsum(1)], 1)


def refvec(model_path, out_path):
    import xxhash
    m = IntModel(open(model_path, "rb").read())
    cases = [
        b"",
        b"Hello, world!\n",
        bytes((i * 167 + 13) % 256 for i in range(64)),
        (b"The quick brown fox jumps over the lazy dog. It was the best of times, "
         b"it was the worst of times; lmz codes every window on its own.\n"
         b"    def f(x):\n        return x + 1\n"),
    ]
    lines = ["lmz-refvec 1", "model %s %s" % (m.name, m.hash_hex)]
    for ci, case in enumerate(cases):
        lines.append("case %d %d %s" % (ci, len(case), case.hex() if case else "-"))
        state = m.step(torch.tensor([256]), m.zero_state(1))
        for pos in range(len(case) + 1):
            cdf = cdf_rows(m.freqs(state))[0]
            raw = struct.pack("<257I", *[int(v) for v in cdf])
            lines.append("h %d %d %016x" % (ci, pos, xxhash.xxh3_64(raw).intdigest()))
            if pos == 0 or pos == len(case):
                lines.append("cdf %d %d %s" % (ci, pos, " ".join(str(int(v)) for v in cdf)))
            if pos < len(case):
                state = m.step(torch.tensor([case[pos]]), state)
    open(out_path, "w").write("\n".join(lines) + "\n")


def eval_bits(m, datas, window=WINDOW, max_windows=2048):
    """Bits to code each of `datas` (list of bytes) in independent windows."""
    wins, owner = [], []
    for k, data in enumerate(datas):
        for i in range(0, len(data), window):
            wins.append(data[i:i + window])
            owner.append(k)
    totals = [0.0] * len(datas)
    for g in range(0, len(wins), max_windows):
        grp = wins[g:g + max_windows]
        n = len(grp)
        T = max(len(w) for w in grp)
        buf = torch.zeros(n, T, dtype=torch.int64)
        for k, w in enumerate(grp):
            buf[k, :len(w)] = torch.frombuffer(bytearray(w), dtype=torch.uint8).long()
        buf = buf.to(m.dev)
        lens = torch.tensor([len(w) for w in grp], device=m.dev)
        state = m.step(torch.full((n,), 256, device=m.dev), m.zero_state(n))
        bits = torch.zeros(n, dtype=torch.float64, device=m.dev)
        for t in range(T):
            fr = m.freqs(state)
            y = buf[:, t]
            f = fr.gather(1, y[:, None])[:, 0].double()
            bits += torch.where(t < lens, 16.0 - torch.log2(f), torch.zeros_like(f))
            state = m.step(y, state)
        for k, b in enumerate(bits.tolist()):
            totals[owner[g + k]] += b
    return totals


if __name__ == "__main__":
    if sys.argv[1] == "refvec":
        refvec(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "eval":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
        m = IntModel(open(sys.argv[2], "rb").read(), dev)
        ds = [open(p, "rb").read() for p in sys.argv[3:]]
        bs = eval_bits(m, ds)
        for p, d, b in zip(sys.argv[3:], ds, bs):
            print("%s %d bytes %.0f bits %.4f bpb" % (p, len(d), b, b / len(d)))
        n = sum(len(d) for d in ds)
        print("total %d bytes %.0f bits %.0f bytes coded %.4f bpb" % (n, sum(bs), sum(bs) / 8, sum(bs) / n))
