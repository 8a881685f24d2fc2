"""Exploration sweep for subspace codecs: d, levels, learning rate, row scale (docs/subspace.md, trade-off).

Trains w of θ = θ₀ + P·w on lenet5-small (sparse P, k nonzeros a row, torch's RNG: a
stand-in for the bit-exact regeneration of ``pacbits reproduce subspace``), quantizes to
each L of ``--levels`` with straight-through fine-tuning, and prints the train/test error
and an *estimated* Occam bound: bits = d·H(level frequencies) + 32·L + L·log2 d + 200
(the real stream is measured by ``reproduce subspace``). Results go to
``benchmarks/results/subspace_*.json``. Example:
``python benchmarks/subspace_explore.py --threads 1 --d 2000 --steps 3000 --lr 0.01 --qat 400 --levels 5,9,15``
"""
import sys, time, math, json, argparse
import numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[1]))
from pacbits.data.mnist import load_mnist, _read_idx_dir, _check
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument('--d', type=int, default=1000)
p.add_argument('--k', type=int, default=8)
p.add_argument('--steps', type=int, default=3000)
p.add_argument('--lr', type=float, default=0.01)
p.add_argument('--bs', type=int, default=128)
p.add_argument('--scaled', type=int, default=1)
p.add_argument('--data', default='mnist')
p.add_argument('--threads', type=int, default=2)
p.add_argument('--levels', default='5,7,9,11,15')
p.add_argument('--qat', type=int, default=600)
p.add_argument('--model', default='lenet5s')
p.add_argument('--tag', default='')
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
if a.data == 'mnist':
    ds = load_mnist(progress=False); X, Y, TX, TY = ds.train_x, ds.train_y, ds.test_x, ds.test_y
else:
    arr = _read_idx_dir(Path('/usr/share/datasets/fashion-mnist'))
    X = torch.from_numpy(arr['train_x']).float().div(255).unsqueeze(1); Y = torch.from_numpy(arr['train_y'].astype(np.int64))
    TX = torch.from_numpy(arr['test_x']).float().div(255).unsqueeze(1); TY = torch.from_numpy(arr['test_y'].astype(np.int64))

if a.model == 'lenet5s':
    shapes = [('c1w', (6, 1, 5, 5), 25), ('c1b', (6,), 25), ('c2w', (16, 6, 5, 5), 150), ('c2b', (16,), 150),
              ('f1w', (120, 400), 400), ('f1b', (120,), 400), ('f2w', (84, 120), 120), ('f2b', (84,), 120),
              ('f3w', (10, 84), 84), ('f3b', (10,), 84)]
sizes = [int(np.prod(s)) for _, s, _ in shapes]
D = sum(sizes)
g = torch.Generator().manual_seed(1)
theta0 = torch.cat([(torch.rand(n, generator=g) * 2 - 1) / math.sqrt(fi) for (_, s, fi), n in zip(shapes, sizes)])
rowscale = torch.cat([torch.full((n,), 1 / math.sqrt(fi)) for (_, s, fi), n in zip(shapes, sizes)])
cols = torch.randint(0, a.d, (D, a.k), generator=g)
signs = (torch.randint(0, 2, (D, a.k), generator=g) * 2 - 1).float()
if a.scaled:
    # normalise so the mean row scale is 1 over params
    signs = signs * (rowscale / rowscale.pow(2).mean().sqrt()).unsqueeze(1)
signs = signs * math.sqrt(a.d / (D * a.k))

def theta_of(w):
    return theta0 + (signs * w[cols]).sum(1)

def forward(theta, x):
    parts = dict(zip([n for n, _, _ in shapes], [t.view(s) for t, (_, s, _) in zip(theta.split(sizes), shapes)]))
    x = F.max_pool2d(F.relu(F.conv2d(x, parts['c1w'], parts['c1b'], padding=2)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, parts['c2w'], parts['c2b'])), 2)
    x = F.relu(F.linear(x.flatten(1), parts['f1w'], parts['f1b']))
    x = F.relu(F.linear(x, parts['f2w'], parts['f2b']))
    return F.linear(x, parts['f3w'], parts['f3b'])

def err(theta, x, y):
    with torch.no_grad():
        return float(sum((forward(theta, x[i:i+5000]).argmax(1) != y[i:i+5000]).sum() for i in range(0, len(x), 5000))) / len(x)

w = torch.zeros(a.d, requires_grad=True)
opt = torch.optim.Adam([w], lr=a.lr)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.1)
t0 = time.time()
perm = torch.randperm(len(X), generator=g)
pos = 0
for step in range(a.steps):
    if pos + a.bs > len(X):
        perm = torch.randperm(len(X), generator=g); pos = 0
    idx = perm[pos:pos + a.bs]; pos += a.bs
    loss = F.cross_entropy(forward(theta_of(w), X[idx]), Y[idx])
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    if step % 500 == 0:
        print(f'step {step} loss {loss.item():.4f} {time.time()-t0:.0f}s', flush=True)
tr = err(theta_of(w.detach()), X, Y); te = err(theta_of(w.detach()), TX, TY)
print(f'RESULT float d={a.d} k={a.k} train {tr:.4f} test {te:.4f} time {time.time()-t0:.0f}s |w| std {w.std().item():.4f}', flush=True)

def klinv(q, c):
    lo, hi = q, 1.0
    for _ in range(60):
        m = (lo + hi) / 2
        kl = (q * math.log(q / m) if q > 0 else 0) + ((1 - q) * math.log((1 - q) / (1 - m)) if m < 1 else float('inf'))
        if kl > c: hi = m
        else: lo = m
    return hi

n = len(X)
wf = w.detach().clone()
res = []
for L in [int(s) for s in a.levels.split(',')]:
    # kmeans init on quantiles
    c = torch.quantile(wf, torch.linspace(0, 1, L + 2)[1:-1])
    for _ in range(30):
        asg = (wf[:, None] - c[None]).abs().argmin(1)
        c = torch.stack([wf[asg == j].mean() if (asg == j).any() else c[j] for j in range(L)])
    wq = wf.clone().requires_grad_(True); cq = c.clone().requires_grad_(True)
    opt2 = torch.optim.Adam([wq, cq], lr=a.lr * 0.1)
    for step in range(a.qat):
        if pos + a.bs > len(X):
            perm = torch.randperm(len(X), generator=g); pos = 0
        idx = perm[pos:pos + a.bs]; pos += a.bs
        asg = (wq.detach()[:, None] - cq.detach()[None]).abs().argmin(1)
        q = cq[asg]
        wst = wq + (q - wq).detach() + (q - q.detach())  # STE to w, grad to centers
        loss = F.cross_entropy(forward(theta_of(wst), X[idx]), Y[idx])
        opt2.zero_grad(); loss.backward(); opt2.step()
    asg = (wq.detach()[:, None] - cq.detach()[None]).abs().argmin(1)
    q = cq.detach()[asg]
    tr = err(theta_of(q), X, Y); te = err(theta_of(q), TX, TY)
    cnt = torch.bincount(asg, minlength=L).double(); pr = cnt[cnt > 0] / a.d
    H = float(-(pr * pr.log2()).sum()) * a.d
    bits = H + 32 * L + L * math.log2(a.d) + 200  # centers + counts + header
    c_kl = (bits * math.log(2) + math.log(2 * math.sqrt(n) / 0.05)) / n
    b = klinv(tr, c_kl)
    print(f'RESULT q L={L} d={a.d} train {tr:.4f} test {te:.4f} bits {bits:.0f} bound {b:.4f}', flush=True)
    res.append(dict(L=L, train=tr, test=te, bits=bits, bound=b))
Path('benchmarks/results').mkdir(parents=True, exist_ok=True)
json.dump(dict(args=vars(a), res=res), open(f'benchmarks/results/subspace_{a.data}_{a.d}_{a.k}_{a.scaled}_{a.lr}_{a.steps}{a.tag}.json', 'w'))
