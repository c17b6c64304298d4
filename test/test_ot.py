"""ctcot.ot against geomloss (same definition) and POT (converged solver), and its edge cases."""
import pytest
import torch
from geomloss import SamplesLoss

from ctcot.ot import SinkhornOptions, append_positions, epsilon_schedule, sinkhorn_divergence, transport_plan

LENGTHS_X = [50, 31, 7, 1]
LENGTHS_Y = [12, 5, 9, 1]


def batch(dtype=torch.float64, scale=1.0, seed=0, D=16):
    gen = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(len(LENGTHS_X), max(LENGTHS_X), D, generator=gen, dtype=dtype)
    y = scale * torch.randn(len(LENGTHS_Y), max(LENGTHS_Y), D, generator=gen, dtype=dtype) + 0.2
    return x, torch.tensor(LENGTHS_X), y, torch.tensor(LENGTHS_Y)


def loss_and_grads(x, x_lengths, y, y_lengths, options=SinkhornOptions()):
    x, y = x.detach().requires_grad_(), y.detach().requires_grad_()
    loss = sinkhorn_divergence(x, x_lengths, y, y_lengths, options=options)
    grad_x, grad_y = torch.autograd.grad(loss.sum(), [x, y])
    return loss.detach(), grad_x, grad_y


def geomloss_reference(x, x_lengths, y, y_lengths, options=SinkhornOptions()):
    """geomloss on each unpadded utterance: lists of loss, grad_x (S_b, D), grad_y (T_b, D)."""
    loss_fn = SamplesLoss("sinkhorn", p=2, blur=options.blur, scaling=options.scaling, backend="tensorized")
    losses, grads_x, grads_y = [], [], []
    for b in range(x.size(0)):
        xb = x[b : b + 1, : x_lengths[b]].detach().requires_grad_()
        yb = y[b : b + 1, : y_lengths[b]].detach().requires_grad_()
        xp, yp = xb, yb
        if options.position_weight:
            xp = append_positions(xb, x_lengths[b : b + 1], options.position_weight)
            yp = append_positions(yb, y_lengths[b : b + 1], options.position_weight)
        loss = loss_fn(xp[0], yp[0])
        grad_x, grad_y = torch.autograd.grad(loss, [xb, yb])
        losses.append(loss.detach())
        grads_x.append(grad_x[0])
        grads_y.append(grad_y[0])
    return torch.stack(losses), grads_x, grads_y


def max_relative_grad_error(grads, reference, lengths):
    return max(((grads[b, :n] - ref).norm() / ref.norm()).item() for b, (n, ref) in enumerate(zip(lengths, reference)))


@pytest.mark.parametrize("position_weight", [1.0, 0.0])
@pytest.mark.parametrize("blur,scaling", [(0.05, 0.5), (0.5, 0.9)])
def test_matches_geomloss_per_utterance_float64(blur, scaling, position_weight):
    x, xl, y, yl = batch(torch.float64)
    options = SinkhornOptions(blur, scaling, position_weight)
    loss, grad_x, grad_y = loss_and_grads(x, xl, y, yl, options)
    ref_loss, ref_gx, ref_gy = geomloss_reference(x, xl, y, yl, options)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-10, atol=0)
    assert max_relative_grad_error(grad_x, ref_gx, LENGTHS_X) < 1e-9
    assert max_relative_grad_error(grad_y, ref_gy, LENGTHS_Y) < 1e-9
    # padded positions get no gradient
    for b, n in enumerate(LENGTHS_X[1:], start=1):
        assert grad_x[b, n:].abs().max() == 0


def test_matches_geomloss_float32_within_rounding():
    """fp32: value to 1e-5 relative; gradients as close to the fp64 truth as geomloss's own fp32."""
    x64, xl, y64, yl = batch(torch.float64, D=64)
    loss, grad_x, grad_y = loss_and_grads(x64.float(), xl, y64.float(), yl)
    ref_loss, ref_gx, ref_gy = geomloss_reference(x64, xl, y64, yl)
    torch.testing.assert_close(loss.double(), ref_loss, rtol=1e-5, atol=0)
    _, geo32_gx, geo32_gy = geomloss_reference(x64.float(), xl, y64.float(), yl)
    geo32_error = max(max_relative_grad_error(torch.nn.utils.rnn.pad_sequence(geo32_gx, batch_first=True).double(),
                                              ref_gx, LENGTHS_X),
                      max_relative_grad_error(torch.nn.utils.rnn.pad_sequence(geo32_gy, batch_first=True).double(),
                                              ref_gy, LENGTHS_Y))
    our_error = max(max_relative_grad_error(grad_x.double(), ref_gx, LENGTHS_X),
                    max_relative_grad_error(grad_y.double(), ref_gy, LENGTHS_Y))
    assert our_error < 2e-3
    assert our_error <= 1.5 * geo32_error


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_result_does_not_depend_on_padding(dtype, rtol):
    """An utterance gives the same loss and gradient alone and padded inside a larger batch
    (to rounding: fp32 matmuls round differently for other shapes)."""
    x, xl, y, yl = batch(dtype)
    loss, grad_x, grad_y = loss_and_grads(x, xl, y, yl)
    for b in range(x.size(0)):
        n, m = LENGTHS_X[b], LENGTHS_Y[b]
        alone = loss_and_grads(x[b : b + 1, :n], xl[b : b + 1], y[b : b + 1, :m], yl[b : b + 1])
        torch.testing.assert_close(loss[b : b + 1], alone[0], rtol=rtol, atol=0)
        assert (grad_x[b : b + 1, :n] - alone[1]).norm() <= 100 * rtol * alone[1].norm()
        assert (grad_y[b : b + 1, :m] - alone[2]).norm() <= 100 * rtol * alone[2].norm()


def test_padding_content_is_ignored():
    x, xl, y, yl = batch(torch.float32)
    loss = sinkhorn_divergence(x, xl, y, yl)
    x_garbage, y_garbage = x.clone(), y.clone()
    for b in range(x.size(0)):
        x_garbage[b, xl[b]:] = float("nan")
        y_garbage[b, yl[b]:] = 1e6
    torch.testing.assert_close(sinkhorn_divergence(x_garbage, xl, y_garbage, yl), loss, rtol=0, atol=0)


def test_utterances_with_different_schedules():
    """Utterances of very different diameters run schedules of different lengths in one batch."""
    x, xl, y, yl = batch(torch.float64)
    x[0], y[0] = 100 * x[0], 100 * y[0]
    x[2], y[2] = 0.01 * x[2], 0.01 * y[2]
    options = SinkhornOptions()
    assert len({len(epsilon_schedule(d, options.blur, options.scaling)) for d in (0.3, 30.0, 3000.0)}) == 3
    loss, grad_x, _ = loss_and_grads(x, xl, y, yl)
    ref_loss, ref_gx, _ = geomloss_reference(x, xl, y, yl)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-10, atol=1e-12)
    assert max_relative_grad_error(grad_x, ref_gx, LENGTHS_X) < 1e-8


def test_matches_pot_when_converged():
    """With a large blur and slow annealing the loop converges: POT's exact solves agree."""
    ot = pytest.importorskip("ot")
    x, xl, y, yl = batch(torch.float64, D=4)
    blur = 1.0
    loss = sinkhorn_divergence(x, xl, y, yl, options=SinkhornOptions(blur=blur, scaling=0.98, position_weight=0.0))
    for b in range(x.size(0)):
        xb, yb = x[b, : xl[b]].numpy(), y[b, : yl[b]].numpy()

        def entropic_ot(u, v):  # POT's cost is ||u - v||^2 = 2 C: reg = 2 eps, value / 2
            return ot.solve_sample(u, v, reg=2 * blur**2, reg_type="kl", metric="sqeuclidean",
                                   max_iter=100000, tol=1e-12).value / 2

        expected = entropic_ot(xb, yb) - 0.5 * entropic_ot(xb, xb) - 0.5 * entropic_ot(yb, yb)
        assert loss[b].item() == pytest.approx(float(expected), rel=1e-4, abs=1e-8)


def test_gradcheck_when_converged():
    """At convergence the envelope gradient is the true gradient (finite differences)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 5, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    y = torch.randn(2, 4, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    xl, yl = torch.tensor([5, 3]), torch.tensor([4, 2])

    def fn(x, y):
        return sinkhorn_divergence(x, xl, y, yl, options=SinkhornOptions(blur=2.0, scaling=0.999))

    # Slow annealing (~900 iterations) converges to ~2e-5; a wrong formula would be off by ~0.1.
    assert torch.autograd.gradcheck(fn, (x, y), eps=1e-6, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize(
    "case",
    ["length_one", "identical", "norm_1e3", "blur_0.01"],
)
def test_degenerate_inputs_stay_finite(case):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 20, 8, generator=gen)
    y = torch.randn(3, 6, 8, generator=gen)
    xl, yl = torch.tensor([20, 9, 1]), torch.tensor([6, 1, 1])
    options = SinkhornOptions()
    if case == "length_one":
        xl, yl = torch.tensor([1, 1, 1]), torch.tensor([1, 1, 1])
    elif case == "identical":
        y = x[:, :6].clone()
        xl = yl = torch.tensor([6, 3, 1])
    elif case == "norm_1e3":
        x = 1e3 * x / x.norm(dim=-1, keepdim=True)
        y = 1e3 * y / y.norm(dim=-1, keepdim=True)
    else:
        options = SinkhornOptions(blur=0.01)
    loss, grad_x, grad_y = loss_and_grads(x, xl, y, yl, options)
    assert torch.isfinite(loss).all() and torch.isfinite(grad_x).all() and torch.isfinite(grad_y).all()
    if case == "identical":
        assert loss.abs().max() < 1e-4  # S(a, a) = 0
        assert grad_x.abs().max() < 1e-3
    if case == "length_one":  # one point each: S = C(x, y) exactly
        expected = 0.5 * (x[:, 0] - y[:, 0]).pow(2).sum(-1)
        torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)


def test_float32_under_autocast_and_low_precision_inputs():
    x, xl, y, yl = batch(torch.float32)
    x16, y16 = x.bfloat16().requires_grad_(), y.bfloat16().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = sinkhorn_divergence(x16, xl, y16, yl)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, sinkhorn_divergence(x16.float(), xl, y16.float(), yl))
    loss.sum().backward()
    assert x16.grad.dtype == torch.bfloat16 and torch.isfinite(x16.grad.float()).all()


def test_no_autograd_state_when_not_needed():
    x, xl, y, yl = batch(torch.float32)
    with torch.no_grad():
        loss = sinkhorn_divergence(x.requires_grad_(), xl, y, yl)
    assert loss.grad_fn is None
    torch.testing.assert_close(loss, sinkhorn_divergence(x.detach(), xl, y, yl))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(x_lengths=torch.tensor([0, 1, 1, 1])), "x_lengths must lie in"),
        (dict(y_lengths=torch.tensor([13, 1, 1, 1])), "y_lengths must lie in"),
        (dict(x_lengths=torch.tensor([1.0, 1, 1, 1])), "integer tensor"),
        (dict(y=torch.zeros(4, 12, 15)), "expected x"),
    ],
)
def test_invalid_arguments_are_named(kwargs, message):
    x, xl, y, yl = batch(torch.float32)
    arguments = dict(x=x, x_lengths=xl, y=y, y_lengths=yl)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        sinkhorn_divergence(**arguments)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(blur=0.0), r"blur must be positive, got 0\.0"),
        (dict(blur=float("nan")), "blur must be positive, got nan"),
        (dict(scaling=1.0), r"scaling must lie in \(0, 1\), got 1\.0"),
        (dict(scaling=0.0), r"scaling must lie in \(0, 1\), got 0\.0"),
        (dict(position_weight=-1.0), r"position_weight must be >= 0, got -1\.0"),
    ],
)
def test_invalid_options_raise_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SinkhornOptions(**kwargs)


def test_options_are_frozen_with_the_documented_defaults():
    options = SinkhornOptions()
    assert (options.blur, options.scaling, options.position_weight) == (0.05, 0.5, 1.0)
    with pytest.raises(AttributeError):
        options.blur = 0.1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x, xl, y, yl = batch(torch.float32, D=64)
    cpu = loss_and_grads(x, xl, y, yl)
    gpu = loss_and_grads(x.cuda(), xl.cuda(), y.cuda(), yl.cuda())
    torch.testing.assert_close(gpu[0].cpu(), cpu[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gpu[1].cpu(), cpu[1], rtol=1e-3, atol=1e-5)


def test_non_finite_states_are_named():
    """NaN states once died in epsilon_schedule ('arange: cannot compute length'), naming nothing."""
    x, y = torch.randn(3, 10, 4), torch.randn(3, 5, 4)
    lengths_x, lengths_y = torch.tensor([10, 7, 4]), torch.tensor([5, 5, 2])
    x[1:, 8:] = float("nan")  # padding of items 1 and 2: ignored
    sinkhorn_divergence(x, lengths_x, y, lengths_y)
    x[1, 3] = float("nan")
    y[2, 0, 1] = float("inf")
    with pytest.raises(ValueError, match=r"NaN or infinite values in x of batch item\(s\) \[1\]"):
        sinkhorn_divergence(x, lengths_x, y, lengths_y)
    with pytest.raises(ValueError, match=r"in y of batch item\(s\) \[2\]"):
        transport_plan(torch.randn(3, 10, 4), lengths_x, y, lengths_y)
