r"""Exact, batched, debiased Sinkhorn divergence between padded sequences.

For each utterance :math:`b` of a batch, with speech states :math:`x_1..x_S` and text
states :math:`y_1..y_T` (only the first ``x_lengths[b]`` / ``y_lengths[b]`` are real),
this module computes

.. math::
    S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
        - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha)
        - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta),
    \qquad
    \mathrm{OT}_\varepsilon(\alpha, \beta) = \min_{\pi \in \Pi(\alpha, \beta)}
        \sum_{ij} \pi_{ij} C(x_i, y_j) + \varepsilon\, \mathrm{KL}(\pi \,\|\, \alpha \otimes \beta),

with :math:`\alpha = \frac1S \sum_i \delta_{x_i}`, :math:`\beta = \frac1T \sum_j \delta_{y_j}`,
:math:`C(x, y) = \frac12 \|x - y\|^2` and :math:`\varepsilon = \mathrm{blur}^2`. Before the
solve, a position coordinate :math:`w\, i / (S - 1)` (resp. :math:`w\, j / (T - 1)`) is appended
to every vector (lengths :math:`\le 1` count as 2), as in Le et al. (ICML 2023).

Solver. The dual potentials are computed by geomloss's symmetric, log-domain Sinkhorn loop
with :math:`\varepsilon`-scaling (Feydy, "Geometric data analysis, beyond convolutions", 2020,
Alg. 3.5), written once in :func:`_sinkhorn_loop` as geomloss's ``sinkhorn_loop``:
:math:`\varepsilon` decreases geometrically from :math:`\mathrm{diameter}^2` to
:math:`\mathrm{blur}^2` by a factor :math:`\mathrm{scaling}^2` per iteration, one averaged
update per value. The schedule is computed per utterance from the diameter of its own real
points, so a batched result equals the result of the same utterance alone, whatever the
padding: padded positions get exactly zero mass (log-weight :math:`-\infty`), never a floor.

Gradient. The loop runs without autograd. A last, full Sinkhorn step gives the potentials
:math:`f, g` and the normalised plans; by the envelope theorem the gradient of
:math:`S_\varepsilon` at convergence is

.. math::
    \nabla_{x_i} S_\varepsilon = \alpha_i \Big( \sum_k R_{ik}\, x_k - \sum_j P_{ij}\, y_j \Big),
    \qquad
    \nabla_{y_j} S_\varepsilon = \beta_j \Big( \sum_l U_{jl}\, y_l - \sum_i Q_{ji}\, x_i \Big),

where :math:`P, Q, R, U` are the row-normalised plans of the problems
:math:`\alpha \to \beta`, :math:`\beta \to \alpha`, :math:`\alpha \to \alpha` and
:math:`\beta \to \beta`. This is exactly what geomloss's autograd computes through its last
extrapolation step; here it is computed in the forward pass (two batched matmuls per side),
so backward only rescales it and nothing of size :math:`S \times T` is kept for autograd.

Plan. :func:`transport_plan` runs the same loop for :math:`\mathrm{OT}_\varepsilon(\alpha, \beta)`
alone (no debiasing terms) and returns its entropic plan :math:`\pi_{ij} = \alpha_i P_{ij}` (for
inspection, e.g. the alignment of speech frames to source tokens; not differentiable).

Options. ``blur``, ``scaling`` and the position weight :math:`w` are a :class:`SinkhornOptions`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch

from ctcot import InputError

__all__ = ["SinkhornOptions", "sinkhorn_divergence", "transport_plan", "append_positions", "epsilon_schedule"]

_LOG2_E = 1.0 / math.log(2.0)


@dataclass(frozen=True)
class SinkhornOptions:
    """Options of :func:`sinkhorn_divergence` and :func:`transport_plan`: the one home of their defaults.

    Attributes:
        blur: Entropic blur; eps = blur ** 2. Must be positive.
        scaling: eps-scaling ratio of successive blurs, in (0, 1).
        position_weight: Scale of the appended position coordinate, >= 0; 0 turns it off.
    """

    blur: float = 0.05
    scaling: float = 0.5
    position_weight: float = 1.0

    def __post_init__(self):
        if not self.blur > 0:
            raise InputError(f"blur must be positive, got {self.blur}")
        if not 0 < self.scaling < 1:
            raise InputError(f"scaling must lie in (0, 1), got {self.scaling}")
        if self.position_weight < 0:
            raise InputError(f"position_weight must be >= 0, got {self.position_weight}")


def epsilon_schedule(diameter: float, blur: float, scaling: float) -> List[float]:
    r"""Temperatures of the :math:`\varepsilon`-scaling loop, as geomloss's (p = 2).

    Starts at :math:`\mathrm{diameter}^2`, divides by :math:`\mathrm{scaling}^2` per step and
    ends at :math:`\mathrm{blur}^2`. A diameter below ``blur`` is raised to ``blur`` (geomloss
    would divide by the squared diameter, or fail when it is 0).

    Args:
        diameter: Upper bound on the distance between any two points.
        blur: Target blur; the final temperature is ``blur ** 2``.
        scaling: Ratio between successive blur values, in (0, 1).

    Returns:
        The list of temperatures; its length is the number of Sinkhorn iterations.
    """
    diameter = max(diameter, blur)
    exponents = np.arange(2 * np.log(diameter), 2 * np.log(blur), 2 * np.log(scaling))
    return [diameter**2] + [float(np.exp(e)) for e in exponents] + [blur**2]


def append_positions(xs: torch.Tensor, lengths: torch.Tensor, weight: float) -> torch.Tensor:
    """Append the relative-position coordinate ``weight * i / (length - 1)`` to each vector.

    Args:
        xs: (B, N, D) padded sequences.
        lengths: (B,) numbers of real positions (lengths <= 1 count as 2).
        weight: Scale of the coordinate.

    Returns:
        (B, N, D + 1) tensor; the coordinate of padded positions is meaningless.
    """
    steps = torch.arange(xs.size(1), device=xs.device, dtype=xs.dtype)
    denom = (lengths.clamp(min=2) - 1).to(xs.dtype)
    positions = weight * steps.unsqueeze(0) / denom.unsqueeze(1)  # (B, N)
    return torch.cat([xs, positions.unsqueeze(-1)], dim=-1)


def _half_sq_dist(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """(B, N, D), (B, M, D) -> (B, N, M) cost matrix 0.5 * ||x_i - y_j||^2."""
    sq_x = 0.5 * (xs * xs).sum(-1)
    sq_y = 0.5 * (ys * ys).sum(-1)
    return torch.baddbmm(sq_x.unsqueeze(2) + sq_y.unsqueeze(1), xs, ys.transpose(1, 2), alpha=-1.0)


def _softmin(
    k: torch.Tensor, cost: torch.Tensor, h: torch.Tensor, with_plan: bool = False
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Soft C-transform in base 2: f_i = -(1/k) log2 sum_j 2^(h_j - k C_ij).

    With k = log2(e) / eps and h_j = log2(b_j) + k g_j this is geomloss's
    f_i = -eps log sum_j b_j exp((g_j - C_ij) / eps); exp2 is several times faster than exp
    on CPUs (and avoids exp's slow path on denormals).

    Args:
        k: (B,) inverse temperatures log2(e) / eps.
        cost: (B, N, M) cost matrices.
        h: (B, M) base-2 log-weights plus scaled potentials.
        with_plan: also return the row-normalised plan 2^(h_j - k C_ij - lse_i), (B, N, M).

    Returns:
        f (B, N), and the plan (or None).
    """
    args = torch.addcmul(h.unsqueeze(1), cost, -k.view(-1, 1, 1))
    row_max = args.amax(dim=2, keepdim=True)
    terms = args.sub_(row_max).exp2_()  # in place: no second (B, N, M) buffer
    total = terms.sum(dim=2, keepdim=True)
    f = -(row_max + torch.log2(total)).squeeze(2) / k.unsqueeze(1)
    return f, (terms.div_(total) if with_plan else None)


def _batched_schedule(
    diameters: List[float], blur: float, scaling: float, device: torch.device, dtype: torch.dtype
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-utterance temperature schedules, aligned at their last step.

    Returns:
        eps: (K, B) temperature of utterance b at step k (its first value before it starts).
        active: (K, B) whether utterance b updates at step k.
    """
    schedules = [epsilon_schedule(d, blur, scaling) for d in diameters]
    num_steps = max(len(s) for s in schedules)
    eps = np.empty((num_steps, len(schedules)))
    active = np.zeros((num_steps, len(schedules)), dtype=bool)
    for b, sched in enumerate(schedules):
        start = num_steps - len(sched)
        eps[:start, b] = sched[0]
        eps[start:, b] = sched
        active[start:, b] = True
    return torch.from_numpy(eps).to(device, dtype), torch.from_numpy(active).to(device)


def _raise_nonfinite(xs: torch.Tensor, ys: torch.Tensor) -> None:
    """Name the side and batch items of ``xs`` (B, S, D) and ``ys`` (B, T, D), padding zeroed, that hold
    NaN or infinite values."""
    for name, states in (("x", xs), ("y", ys)):
        finite = torch.isfinite(states).flatten(1).all(dim=1)  # (B,)
        if not bool(finite.all()):
            raise InputError(f"NaN or infinite values in {name} of batch item(s) "
                             f"{(~finite).nonzero().flatten().tolist()}: the OT loss needs finite states (check "
                             "those utterances' features, which st.sh's stage 4 checks, or the training's stability)")
    raise InputError("the OT loss met points too far apart for its dtype (an infinite diameter)")


def _setup(
    xs: torch.Tensor, x_mask: torch.Tensor, ys: torch.Tensor, y_mask: torch.Tensor, options: SinkhornOptions
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centred points, per-utterance temperature schedules and base-2 log-weights of the solvers.

    Args:
        xs: (B, S, D) points of the first measures; ys: (B, T, D) of the second.
        x_mask: (B, S) bool, real positions; y_mask: (B, T) likewise.

    Returns:
        xs (B, S, D) and ys (B, T, D) centred (padding zero); eps and active (K, B) as
        :func:`_batched_schedule`'s; a_log (B, S) and b_log (B, T), -inf on padding.
    """
    points = xs, ys  # before centring, which spreads one side's NaN to the other
    x_lengths, y_lengths = x_mask.sum(1), y_mask.sum(1)
    # Centre each utterance: OT is translation-invariant, and the half-squared-distance
    # matrices lose fp32 precision when the points are far from the origin.
    centre = (xs.sum(1) + ys.sum(1)) / (x_lengths + y_lengths).unsqueeze(1).to(xs.dtype)
    xs = (xs - centre.unsqueeze(1)) * x_mask.unsqueeze(2)
    ys = (ys - centre.unsqueeze(1)) * y_mask.unsqueeze(2)

    # Diameter of each utterance's real points (geomloss's max_diameter).
    inf = torch.finfo(xs.dtype).max
    maxs = torch.maximum(xs.masked_fill(~x_mask.unsqueeze(2), -inf).amax(1),
                         ys.masked_fill(~y_mask.unsqueeze(2), -inf).amax(1))
    mins = torch.minimum(xs.masked_fill(~x_mask.unsqueeze(2), inf).amin(1),
                         ys.masked_fill(~y_mask.unsqueeze(2), inf).amin(1))
    diameters = (maxs - mins).norm(dim=1).tolist()
    if not all(math.isfinite(d) for d in diameters):  # checked here, where the diameters reach the CPU anyway
        _raise_nonfinite(*points)
    eps_steps, active_steps = _batched_schedule(diameters, options.blur, options.scaling, xs.device, xs.dtype)

    # Uniform masses on real positions, exactly zero (log -inf) on padding; base-2 logs.
    a_log = torch.where(x_mask, -torch.log2(x_lengths.to(xs.dtype)).unsqueeze(1), -math.inf)
    b_log = torch.where(y_mask, -torch.log2(y_lengths.to(xs.dtype)).unsqueeze(1), -math.inf)
    return xs, ys, eps_steps, active_steps, a_log, b_log


def _sinkhorn_loop(
    c_xy: torch.Tensor, c_yx: torch.Tensor, a_log: torch.Tensor, b_log: torch.Tensor,
    eps_steps: torch.Tensor, active_steps: torch.Tensor,
    c_xx: Optional[torch.Tensor] = None, c_yy: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """The eps-scaling loop of symmetric ("averaged") updates, Feydy (2020) Fig. 3.24.b; geomloss's
    ``sinkhorn_loop``, debiased when ``c_xx`` and ``c_yy`` are given.

    Args:
        c_xy: (B, S, T) costs; c_yx: (B, T, S) its transpose.
        a_log: (B, S) base-2 log-weights of the first measures; b_log: (B, T) of the second.
        eps_steps, active_steps: (K, B) schedules of :func:`_batched_schedule`.
        c_xx: (B, S, S) and c_yy: (B, T, T) costs of the debiasing problems, or None.

    Returns:
        k (B,), the last inverse temperature log2(e) / eps; the potentials f_ba (B, S) and g_ab (B, T),
        then f_aa (B, S) and g_bb (B, T) when debiased.
    """
    # (cost, log-weights, partner): each potential is the soft C-transform of its partner's.
    problems = [(c_xy, b_log, 1), (c_yx, a_log, 0)]
    if c_xx is not None:
        problems += [(c_xx, a_log, 2), (c_yy, b_log, 3)]

    # Initial potentials at each utterance's first temperature.
    k = _LOG2_E / eps_steps[0]
    potentials = [_softmin(k, cost, h)[0] for cost, h, _ in problems]
    for eps, active in zip(eps_steps, active_steps):
        k = _LOG2_E / eps
        kk = k.unsqueeze(1)
        updates = [_softmin(k, cost, h + kk * potentials[partner])[0] for cost, h, partner in problems]
        keep = ~active.unsqueeze(1)  # utterances whose schedule has not started yet
        potentials = [torch.where(keep, p, 0.5 * (p + u)) for p, u in zip(potentials, updates)]
    return k, potentials


def _sinkhorn_debiased(
    xs: torch.Tensor, x_mask: torch.Tensor, ys: torch.Tensor, y_mask: torch.Tensor,
    options: SinkhornOptions, need_grad: bool,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The solver on prepared inputs (positions appended, padding zeroed, no autograd).

    Args:
        xs: (B, S, D) points of the first measures; ys: (B, T, D) of the second.
        x_mask: (B, S) bool, real positions; y_mask: (B, T) likewise.

    Returns:
        loss (B,), and the gradients (B, S, D) and (B, T, D) of each loss[b] (zeros on padding;
        empty tensors when ``need_grad`` is false).
    """
    xs, ys, eps_steps, active_steps, a_log, b_log = _setup(xs, x_mask, ys, y_mask, options)

    c_xy = _half_sq_dist(xs, ys)  # (B, S, T)
    c_yx = c_xy.transpose(1, 2).contiguous()  # (B, T, S)
    c_xx = _half_sq_dist(xs, xs)  # (B, S, S)
    c_yy = _half_sq_dist(ys, ys)  # (B, T, T)
    k, (f_ba, g_ab, f_aa, g_bb) = _sinkhorn_loop(c_xy, c_yx, a_log, b_log, eps_steps, active_steps, c_xx, c_yy)

    # Last, full (Jacobi) step at eps = blur^2: the potentials whose gradient is exact.
    kk = k.unsqueeze(1)
    h_b, h_a, h_aa, h_bb = b_log + kk * g_ab, a_log + kk * f_ba, a_log + kk * f_aa, b_log + kk * g_bb
    f_ba, plan_xy = _softmin(k, c_xy, h_b, need_grad)
    g_ab, plan_yx = _softmin(k, c_yx, h_a, need_grad)
    f_aa, plan_xx = _softmin(k, c_xx, h_aa, need_grad)
    g_bb, plan_yy = _softmin(k, c_yy, h_bb, need_grad)

    a = a_log.exp2()
    b = b_log.exp2()
    loss = (a * (f_ba - f_aa)).sum(1) + (b * (g_ab - g_bb)).sum(1)
    if not need_grad:
        empty = xs.new_empty(0)
        return loss, empty, empty
    grad_x = a.unsqueeze(2) * (torch.bmm(plan_xx, xs) - torch.bmm(plan_xy, ys))
    grad_y = b.unsqueeze(2) * (torch.bmm(plan_yy, ys) - torch.bmm(plan_yx, xs))
    return loss, grad_x, grad_y


def _sinkhorn_plan(
    xs: torch.Tensor, x_mask: torch.Tensor, ys: torch.Tensor, y_mask: torch.Tensor, options: SinkhornOptions
) -> torch.Tensor:
    """The plan of OT_eps(alpha, beta) on prepared inputs: :func:`_sinkhorn_loop` without the debiasing
    problems (they never enter the (f_ba, g_ab) pair), then pi = a_i P_ij.

    Args:
        xs: (B, S, D) points of the first measures; ys: (B, T, D) of the second.
        x_mask: (B, S) bool, real positions; y_mask: (B, T) likewise.

    Returns:
        (B, S, T) plan, zero on padded rows and columns.
    """
    xs, ys, eps_steps, active_steps, a_log, b_log = _setup(xs, x_mask, ys, y_mask, options)
    c_xy = _half_sq_dist(xs, ys)  # (B, S, T)
    c_yx = c_xy.transpose(1, 2).contiguous()  # (B, T, S)
    k, (_, g_ab) = _sinkhorn_loop(c_xy, c_yx, a_log, b_log, eps_steps, active_steps)

    # The last half-step: f is the exact soft C-transform of g, so the rows of P sum to 1 and
    # pi_ij = a_i b_j exp((f_i + g_j - C_ij) / eps) = a_i P_ij has the first marginal exactly.
    plan = _softmin(k, c_xy, b_log + k.unsqueeze(1) * g_ab, with_plan=True)[1]
    return plan * a_log.exp2().unsqueeze(2)


class _SinkhornDivergence(torch.autograd.Function):
    """Autograd wrapper: the gradient is computed with the loss and rescaled in backward."""

    @staticmethod
    def forward(ctx, xs, x_mask, ys, y_mask, options):
        ctx.set_materialize_grads(False)
        loss, grad_x, grad_y = _sinkhorn_debiased(xs, x_mask, ys, y_mask, options, need_grad=True)
        ctx.save_for_backward(grad_x, grad_y)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        grad_x, grad_y = ctx.saved_tensors
        if grad_loss is None:
            return None, None, None, None, None
        scale = grad_loss.view(-1, 1, 1)
        return grad_x * scale, None, grad_y * scale, None, None


def _check_arguments(x: torch.Tensor, x_lengths: torch.Tensor, y: torch.Tensor, y_lengths: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the tensor argument of the public functions that is wrong
    (:class:`SinkhornOptions` checks the options)."""
    if x.dim() != 3 or y.dim() != 3 or x.size(0) != y.size(0) or x.size(2) != y.size(2):
        raise InputError(f"expected x (B, S, D) and y (B, T, D), got {tuple(x.shape)} and {tuple(y.shape)}")
    for name, lengths, size in (("x_lengths", x_lengths, x.size(1)), ("y_lengths", y_lengths, y.size(1))):
        if lengths.shape != (x.size(0),) or lengths.is_floating_point():
            raise InputError(f"{name} must be an integer tensor of shape ({x.size(0)},), got {lengths}")
        if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > size):
            raise InputError(f"{name} must lie in [1, {size}], got {lengths.tolist()}")


def _prepare(
    x: torch.Tensor, x_lengths: torch.Tensor, y: torch.Tensor, y_lengths: torch.Tensor, position_weight: float
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The solvers' inputs: computation dtype, positions appended, padding zeroed.

    Returns:
        xs (B, S, D'), x_mask (B, S) bool, ys (B, T, D'), y_mask (B, T) bool, with D' = D + 1
        when ``position_weight`` > 0, else D.
    """
    dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)
    x_lengths, y_lengths = x_lengths.to(x.device), y_lengths.to(x.device)
    x_mask = torch.arange(x.size(1), device=x.device) < x_lengths.unsqueeze(1)
    y_mask = torch.arange(y.size(1), device=x.device) < y_lengths.unsqueeze(1)
    xs, ys = x.to(dtype), y.to(dtype)
    if position_weight > 0:
        xs = append_positions(xs, x_lengths, position_weight)
        ys = append_positions(ys, y_lengths, position_weight)
    # Padding may hold anything (even NaN): zero it so every cost entry is finite.
    xs = xs.masked_fill(~x_mask.unsqueeze(2), 0.0)
    ys = ys.masked_fill(~y_mask.unsqueeze(2), 0.0)
    return xs, x_mask, ys, y_mask


def sinkhorn_divergence(
    x: torch.Tensor,
    x_lengths: torch.Tensor,
    y: torch.Tensor,
    y_lengths: torch.Tensor,
    *,
    options: SinkhornOptions = SinkhornOptions(),
) -> torch.Tensor:
    r"""Debiased Sinkhorn divergence between each pair of padded sequences.

    Equals geomloss ``SamplesLoss("sinkhorn", p=2, blur=options.blur, scaling=options.scaling)`` applied
    to each unpadded utterance (with the position coordinate appended), without its batched
    mode's error of giving padded positions mass. Computed in fp32 (fp64 inputs stay fp64),
    also under autocast; differentiable in ``x`` and ``y``.

    Args:
        x: (B, S, D) first sequences, e.g. speech-encoder states.
        x_lengths: (B,) integer lengths of ``x``, each in [1, S].
        y: (B, T, D) second sequences, e.g. text-encoder states.
        y_lengths: (B,) integer lengths of ``y``, each in [1, T].
        options: blur, eps-scaling ratio and position weight.

    Returns:
        (B,) tensor of divergences, in the computation dtype.
    """
    _check_arguments(x, x_lengths, y, y_lengths)
    with torch.autocast(device_type=x.device.type, enabled=False):
        xs, x_mask, ys, y_mask = _prepare(x, x_lengths, y, y_lengths, options.position_weight)
        if torch.is_grad_enabled() and (xs.requires_grad or ys.requires_grad):
            return _SinkhornDivergence.apply(xs, x_mask, ys, y_mask, options)
        with torch.no_grad():
            return _sinkhorn_debiased(xs, x_mask, ys, y_mask, options, need_grad=False)[0]


def transport_plan(
    x: torch.Tensor,
    x_lengths: torch.Tensor,
    y: torch.Tensor,
    y_lengths: torch.Tensor,
    *,
    options: SinkhornOptions = SinkhornOptions(),
) -> torch.Tensor:
    r"""Entropic transport plan :math:`\pi` of :math:`\mathrm{OT}_\varepsilon(\alpha, \beta)` per utterance.

    The plan of the :math:`\alpha \to \beta` term of :func:`sinkhorn_divergence` (same options,
    same solver and schedule, position coordinate included):
    :math:`\pi_{ij} = \alpha_i P_{ij}`, :math:`P` the row-normalised plan of the last
    Sinkhorn half-step. Its rows sum to :math:`1/S` exactly; its columns sum to :math:`1/T`
    up to the solver's convergence (with the default ``blur`` and ``scaling`` the loop ends
    after one iteration at the final temperature, so the column sums are approximate). For
    speech frames and source tokens, a monotonic band would be an alignment (the position
    coordinate favours one). Not differentiable; computed in fp32 (fp64 inputs stay fp64).

    Args:
        x: (B, S, D) first sequences, e.g. speech-encoder states.
        x_lengths: (B,) integer lengths of ``x``, each in [1, S].
        y: (B, T, D) second sequences, e.g. text-encoder states.
        y_lengths: (B,) integer lengths of ``y``, each in [1, T].
        options: blur, eps-scaling ratio and position weight.

    Returns:
        (B, S, T) plans, exactly zero on padded rows and columns.
    """
    _check_arguments(x, x_lengths, y, y_lengths)
    with torch.autocast(device_type=x.device.type, enabled=False), torch.no_grad():
        xs, x_mask, ys, y_mask = _prepare(x, x_lengths, y, y_lengths, options.position_weight)
        return _sinkhorn_plan(xs, x_mask, ys, y_mask, options)
