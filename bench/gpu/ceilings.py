"""Device-side ceilings for the engine's step on the GPU machine: the int8
products it runs (exactness against float64 and time), the TF32 route, a
row gather, and a 4 MiB device-to-host copy into pageable and page-locked
memory. Run there with `python3 bench/gpu/ceilings.py`; one line per figure
(bench/results/2026-12-02-gpu-matmul-ceilings.txt)."""
import time

import torch

torch.backends.cuda.matmul.allow_tf32 = True


def bench(f, n=50):
    for _ in range(3):
        f()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        f()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n * 1e3


for rows in (1024, 4096):
    for k in (1024, 2048):
        x = torch.randint(-127, 127, (rows, k), dtype=torch.int8, device="cuda")
        w = torch.randint(-127, 127, (4096, k), dtype=torch.int8, device="cuda")
        ti = bench(lambda: torch._int_mm(x, w.t()))
        ok = torch.equal(torch._int_mm(x, w.t()).long(), (x.double() @ w.double().t()).long())
        xf, wf = x.float(), w.float().t().contiguous()
        tf = bench(lambda: (xf @ wf).long())
        idx = torch.arange(rows, device="cuda")
        tg = bench(lambda: x.index_select(0, idx))
        print(f"rows {rows} K {k}: _int_mm {ti:.3f} ms exact={ok}; "
              f"tf32+to(long) {tf:.3f} ms; gather {tg:.3f} ms")

x = torch.randint(0, 60000, (4096, 257), dtype=torch.int32, device="cuda")
for pinned in (False, True):
    h = torch.empty((4096, 257), dtype=torch.int32, pin_memory=pinned)
    t = bench(lambda: h.copy_(x), 200)
    print("pinned" if pinned else "pageable", t, "ms per 4.2 MB D2H")
