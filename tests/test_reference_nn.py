"""nn and optim of the reference engine against torch (skipped when torch is absent)."""

from __future__ import annotations

import numpy as np
import pytest

import gradspec.impls.reference as T

torch = pytest.importorskip("torch")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x0 = rng.normal(1.7, 1, (100, 2)) + 1
    x1 = rng.normal(-1.7, 1, (100, 2)) + 1
    x = np.concatenate([x0, x1]).astype(np.float32)
    y = np.concatenate([np.zeros(100), np.ones(100)]).astype(np.float32)
    return x, y


class LR(T.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = T.nn.Linear(2, 1)
        self.sigmoid = T.nn.Sigmoid()

    def forward(self, x: T.Tensor) -> T.Tensor:
        return self.sigmoid(self.features(x))


def test_module_registers_parameters_with_torch_shapes() -> None:
    net = LR()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["features.weight", "features.bias"]
    assert net.features.weight.shape == (1, 2) and net.features.bias.shape == (1,)
    assert all(p.is_leaf and p.requires_grad for p in net.parameters())
    seq = T.nn.Sequential(T.nn.Linear(2, 1), T.nn.Sigmoid())
    assert isinstance(seq[0], T.nn.Linear) and len(list(seq.parameters())) == 2
    bound = 1 / np.sqrt(2)
    assert np.all(np.abs(net.features.weight.detach().numpy()) <= bound)


@pytest.mark.parametrize(
    "opts",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01},
        {},
    ],
)
def test_logistic_regression_training_matches_torch(opts: dict[str, float]) -> None:
    x, y = _data()
    w0 = np.array([[0.3, -0.2]], dtype=np.float32)
    b0 = np.array([0.1], dtype=np.float32)
    trajectories = []
    for ns in (T, torch):
        net = ns.nn.Sequential(ns.nn.Linear(2, 1), ns.nn.Sigmoid())
        with ns.no_grad():
            net[0].weight.copy_(ns.tensor(w0))
            net[0].bias.copy_(ns.tensor(b0))
        loss_fn = ns.nn.BCELoss()
        opt = ns.optim.SGD(net.parameters(), lr=0.01, **opts)
        tx, ty = ns.tensor(x), ns.tensor(y)
        losses = []
        for _ in range(50):
            loss = loss_fn(net(tx).squeeze(), ty)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        trajectories.append(
            (losses, net[0].weight.detach().numpy().copy(), net[0].bias.detach().numpy().copy())
        )
    (l_ref, w_ref, b_ref), (l_t, w_t, b_t) = trajectories
    np.testing.assert_allclose(l_ref, l_t, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w_ref, w_t, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b_ref, b_t, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss_name", ["MSELoss", "CrossEntropyLoss", "BCELoss"])
def test_losses_and_gradients_match_torch(loss_name: str) -> None:
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 3)).astype(np.float32)
    if loss_name == "CrossEntropyLoss":
        target = rng.integers(0, 3, 6)
    else:
        target = rng.uniform(0, 1, (6, 3)).astype(np.float32)
    results = []
    for ns in (T, torch):
        x = ns.tensor(logits, requires_grad=True)
        inp = ns.sigmoid(x) if loss_name == "BCELoss" else x
        loss = getattr(ns.nn, loss_name)()(inp, ns.tensor(target))
        loss.backward()
        results.append((loss.item(), x.grad.numpy().copy()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-4, atol=1e-6)
    assert (
        T.nn.BCELoss()(
            T.sigmoid(T.tensor(logits, requires_grad=True)), T.tensor(np.full((6, 3), 0.5, np.float32))
        ).grad_fn.name()
        == "BinaryCrossEntropyBackward0"
    )


def test_zero_grad_sets_none_by_default() -> None:
    net = T.nn.Linear(2, 1)
    opt = T.optim.SGD(net.parameters(), lr=0.1)
    net(T.ones(3, 2)).sum().backward()
    assert net.weight.grad is not None
    opt.zero_grad()
    assert net.weight.grad is None
    net(T.ones(3, 2)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert net.weight.grad.tolist() == [[0.0, 0.0]]


def test_sgd_step_under_graph_bumps_version() -> None:
    net = T.nn.Linear(1, 1)
    opt = T.optim.SGD(net.parameters(), lr=0.1)
    out = net(T.ones(1, 1)) * net.weight  # saves the weight
    net(T.ones(1, 1)).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_engine_record() -> None:
    from gradspec.impls.reference import engine

    e = engine()
    assert e.name == "reference" and e.device == "cpu" and e.namespace is T


def test_module_to_converts_parameters_like_torch() -> None:
    """Module.to(float64) converts every parameter in place (it once returned self unchanged)."""
    import gradspec.impls.reference as R

    model = R.nn.Sequential(R.nn.Linear(2, 3), R.nn.Linear(3, 1))
    before = [p for p in model.parameters()]
    assert model.to(R.float64) is model
    assert [p.dtype for p in model.parameters()] == [R.float64] * 4
    assert [p for p in model.parameters()] == before  # the same Parameter objects, as in torch
    out = model(R.tensor([[1.0, 2.0]], dtype=R.float64))
    assert out.dtype == R.float64
    model.to("cpu")
    assert model[0].weight.dtype == R.float64
    with pytest.raises(RuntimeError, match="no device 'cuda'"):
        model.to("cuda")
