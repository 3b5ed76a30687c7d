"""The lmz byte-level LSTM: float/fake-quant training paths and the model file.

spec/MODEL.md is the definition. This module holds
  * Net: the trainable model with two forward paths,
      forward_fast: cuDNN LSTM with fake-quantised int8 weights (straight-
        through estimators); activations in float. Fast; used for most steps.
      forward_qat: a step-by-step cell that rounds every quantity exactly where
        the integer forward (MODEL.md) rounds it, with straight-through
        gradients. Slow; used to fine-tune and to measure the quantised loss.
  * export_model: float weights -> integer tensors -> .lmzm bytes.
The integer forward that defines the numbers lives in intref.py (independent
of this file: it reads only the model file).
"""
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# Version-1 constants (MODEL.md, "Fixed constants").
START_SYMBOL = 256
GATE_LUT_SIZE = 4096  # gate pre-activation index range [-2048, 2047], units 2^-8
GATE_LUT_HALF = 2048
EXP_LUT_SIZE = 4096
CELL_CLAMP = 1 << 21  # |c| <= 64.0 in Q15
RESCALE_SHIFT = 24
MAGIC = b"LMZMODEL"
VERSION = 1
ARCH_LSTM = 1


def ste_round(x):
    return x + (torch.round(x) - x).detach()


class Net(nn.Module):
    def __init__(self, embed, hidden, layers):
        super().__init__()
        self.E, self.H, self.L = embed, hidden, layers
        k = 1.0 / math.sqrt(hidden)
        self.emb = nn.Parameter(torch.empty(257, embed).uniform_(-0.5, 0.5))
        self.W = nn.ParameterList()
        self.b = nn.ParameterList()
        for l in range(layers):
            inp = embed if l == 0 else hidden
            self.W.append(nn.Parameter(torch.empty(4 * hidden, inp + hidden).uniform_(-k, k)))
            b = torch.zeros(4 * hidden)
            b[hidden:2 * hidden] = 1.0  # forget gate open at start
            self.b.append(nn.Parameter(b))
        self.Wo = nn.Parameter(torch.empty(256, hidden).uniform_(-k, k))
        self.bo = nn.Parameter(torch.zeros(256))

    # --- fake quantisation (identical scales to export_model) ---
    @staticmethod
    def row_scale(W):
        return W.detach().abs().amax(1, keepdim=True).clamp_min(1e-8) / 127.0

    def fq_weight(self, W):
        s = self.row_scale(W)
        return W + (torch.round(W / s) * s - W).detach()

    def fq_emb(self):
        return ste_round(self.emb.clamp(-1, 1) * 127) / 127

    def zero_state(self, batch, device):
        z = torch.zeros(self.L, batch, self.H, device=device)
        return (z, z.clone())

    def forward_fast(self, inp, state, dropout=0.0):
        """inp [B,T] long in 0..256 -> logits [B,T,256] (nats), new state."""
        x = self.fq_emb()[inp]
        weights = []
        for l in range(self.L):
            Wf = self.fq_weight(self.W[l])
            I = self.E if l == 0 else self.H
            weights += [Wf[:, :I].contiguous(), Wf[:, I:].contiguous(), self.b[l],
                        torch.zeros_like(self.b[l])]
        out, h, c = torch._VF.lstm(x, state, weights, True, self.L, dropout, self.training, False, True)
        logits = out @ self.fq_weight(self.Wo).t() + self.bo
        return logits, (h, c)

    def forward_qat(self, inp, state):
        """Same signature as forward_fast; rounds like the integer forward."""
        x = self.fq_emb()[inp]
        Ws = [self.fq_weight(W) for W in self.W]
        Wo = self.fq_weight(self.Wo)
        h = [state[0][l] for l in range(self.L)]
        c = [state[1][l] for l in range(self.L)]
        H = self.H
        outs = []
        for t in range(inp.shape[1]):
            v = x[:, t]
            for l in range(self.L):
                z = torch.cat([v, h[l]], 1) @ Ws[l].t() + self.b[l]
                z = ste_round(z * 256).clamp(-GATE_LUT_HALF, GATE_LUT_HALF - 1) / 256
                zi, zf, zg, zo = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
                i = ste_round(torch.sigmoid(zi) * 32768) / 32768
                f = ste_round(torch.sigmoid(zf) * 32768) / 32768
                g = ste_round(torch.tanh(zg) * 32768) / 32768
                o = ste_round(torch.sigmoid(zo) * 32768) / 32768
                cn = (ste_round((f * c[l] + i * g) * 32768) / 32768).clamp(-64, 64)
                ci = ste_round(cn * 256).clamp(-GATE_LUT_HALF, GATE_LUT_HALF - 1) / 256
                tc = ste_round(torch.tanh(ci) * 32768) / 32768
                hn = ste_round(o * tc * 127) / 127
                h[l], c[l] = hn, cn
                v = hn
            outs.append(v)
        out = torch.stack(outs, 1)
        logits = ste_round((out @ Wo.t() + self.bo) * 256) / 256
        return logits, (torch.stack(h), torch.stack(c))


# ---------------------------------------------------------------- export

def _round_half_up(x):
    return math.floor(x + 0.5)


def build_luts():
    sig = [_round_half_up(32768.0 / (1.0 + math.exp(-(j - GATE_LUT_HALF) / 256.0)))
           for j in range(GATE_LUT_SIZE)]
    tanh = [_round_half_up(32768.0 * math.tanh((j - GATE_LUT_HALF) / 256.0))
            for j in range(GATE_LUT_SIZE)]
    exp = [_round_half_up(65536.0 * math.exp(-d / 256.0)) for d in range(EXP_LUT_SIZE)]
    return sig, tanh, exp


def _quant_rows(W, b):
    """W float [R,K], b float [R] -> (int8 rows, M int32, B int32) per MODEL.md."""
    W = W.detach().double().cpu()
    s = W.abs().amax(1).clamp_min(1e-8) / 127.0
    q = torch.round(W / s[:, None]).clamp(-127, 127).to(torch.int8)
    M = torch.round(s * 256.0 / 127.0 * (1 << RESCALE_SHIFT))
    if (M >= 2 ** 31).any():
        raise ValueError("weight scale too large for an int32 multiplier")
    B = torch.round(b.detach().double().cpu() * 256.0)
    if (B.abs() >= 2 ** 31).any():
        raise ValueError("bias too large")
    return q, M.to(torch.int32), B.to(torch.int32)


def export_bytes(net, name):
    """Returns the canonical .lmzm bytes (hash trailer included)."""
    import xxhash
    nb = name.encode("ascii")
    assert 1 <= len(nb) <= 64
    out = bytearray()
    out += MAGIC
    out += struct.pack("<II", VERSION, ARCH_LSTM)
    out += struct.pack("<I", len(nb)) + nb
    out += struct.pack("<IIIIIII", net.E, net.H, net.L, RESCALE_SHIFT, GATE_LUT_SIZE,
                       EXP_LUT_SIZE, CELL_CLAMP)
    emb = torch.round(net.emb.detach().clamp(-1, 1).double().cpu() * 127).to(torch.int8)
    out += emb.numpy().tobytes()
    for l in range(net.L):
        q, M, B = _quant_rows(net.W[l], net.b[l])
        out += q.numpy().tobytes() + M.numpy().astype("<i4").tobytes() + B.numpy().astype("<i4").tobytes()
    q, M, B = _quant_rows(net.Wo, net.bo)
    out += q.numpy().tobytes() + M.numpy().astype("<i4").tobytes() + B.numpy().astype("<i4").tobytes()
    sig, tanh, exp = build_luts()
    for t in (sig, tanh, exp):
        out += struct.pack("<%di" % len(t), *t)
    h = xxhash.xxh3_128(bytes(out)).intdigest()
    out += struct.pack("<QQ", h >> 64, h & ((1 << 64) - 1))
    return bytes(out)


def init_from_model_file(net, data):
    """Sets net's weights to the dequantised integer weights of a .lmzm file
    (resuming training from a shipped model; optimizer state starts fresh)."""
    from intref import IntModel
    m = IntModel(data)
    assert (m.E, m.H, m.L) == (net.E, net.H, net.L), "architecture differs"
    k = 127.0 * 2.0 ** -(RESCALE_SHIFT + 8)  # s = M * 127 / (256 * 2^S)
    with torch.no_grad():
        dev = net.emb.device
        net.emb.copy_((m.emb.double() / 127).float().to(dev))
        for l, (W, M, B) in enumerate(m.layers):
            net.W[l].copy_((W * (M.double() * k)[:, None]).float().to(dev))
            net.b[l].copy_((B.double() / 256).float().to(dev))
        net.Wo.copy_((m.Wo * (m.Mo.double() * k)[:, None]).float().to(dev))
        net.bo.copy_((m.Bo.double() / 256).float().to(dev))
