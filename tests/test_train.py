import torch
from torch import nn

from pacbits.core import Codec, decompress, reparam
from pacbits.evaluate import error_rate
from pacbits.plugins.dns import DNSPruner
from pacbits.plugins.fixed import FixedCoder
from pacbits.plugins.kmeans import KMeansQuantizer
from pacbits.train import batches, train


def blobs(n=800, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    x = 4 * torch.eye(16)[:4][y] + torch.randn(n, 16, generator=g)
    return x, y


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))


def test_batches_cover_each_example_once_per_epoch_and_are_seeded():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    epoch = list(batches(x, y, 4, seed=1))
    assert [len(b) for b, _ in epoch] == [4, 4, 2]
    assert sorted(torch.cat([b for _, b in epoch]).tolist()) == list(range(10))
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(epoch, batches(x, y, 4, seed=1)))


def test_train_learns_runs_callbacks_in_order_and_is_deterministic():
    x, y = blobs()
    seen, states = [], []
    for _ in range(2):
        model = net()
        out = train(model, batches(x, y, 64), torch.optim.Adam(model.parameters(), 1e-2), 60,
                    callbacks=[seen.append], progress=False)
        states.append(model.state_dict())
    assert seen == list(range(60)) * 2
    assert out["accuracy"] > 0.9 and out["density"] is None and out["seconds"] > 0
    assert error_rate(model, x, y) < 0.05
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_dns_then_kmeans_codes_exactly_the_evaluated_network():
    x, y = blobs()
    model = net()
    train(model, batches(x, y, 64), torch.optim.Adam(model.parameters(), 1e-2), 60, progress=False)
    pruner = DNSPruner(density=0.1, hysteresis=0.05, begin=0, end=60, prob=[[0, 1.0], [60, 0.1], [80, 0.0]])
    pruner.attach(model)
    out = train(model, batches(x, y, 64, seed=1), torch.optim.Adam(model.parameters(), 3e-3), 120,
                callbacks=[lambda t: pruner.update(model, t)], progress=False)
    assert 0.08 < out["density"] < 0.12 and error_rate(model, x, y) < 0.05
    centers = KMeansQuantizer(bits=2, dtype="float16", targets="floating").attach(model)
    train(model, batches(x, y, 64, seed=2), torch.optim.Adam(centers, 1e-3), 20, progress=False)
    assert error_rate(model, x, y) < 0.05
    state = reparam.bake(model)
    back = decompress(Codec(FixedCoder(), targets="floating").compress(state).data)
    plain = net(1)
    plain.load_state_dict(back)
    assert torch.equal(plain(x), model(x))
    assert all(len(torch.unique(w[w != 0])) <= 3 for w in back.values())
