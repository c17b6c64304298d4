"""ctcot.compression against a per-utterance pure-Python loop, its gradients, edge cases and padding."""
import math

import pytest
import torch

from ctcot import InputError
from ctcot.compression import MODES, ctc_compress, greedy_labels

D, V, BLANK = 4, 6, 0


def reference(states_b, length, log_probs_b, mode, blank=BLANK):
    """One utterance, frame by frame: (list of (D,) vectors, empty)."""
    lp = log_probs_b.tolist()
    runs = []  # [label, [frames]]
    for t in range(int(length)):
        label = max(range(len(lp[t])), key=lambda v: lp[t][v])
        if runs and runs[-1][0] == label:
            runs[-1][1].append(t)
        else:
            runs.append([label, [t]])
    kept = [r for r in runs if not (mode == "mean" and r[0] == blank)]
    if not kept:
        return [sum(states_b[t] for t in range(int(length))) / int(length)], True
    vectors = []
    for label, frames in kept:
        w = [math.exp(lp[t][label]) if mode == "weighted" else 1.0 for t in frames]
        vectors.append(sum(wt * states_b[t] for wt, t in zip(w, frames)) / sum(w))
    return vectors, False


def markov_log_probs(gen, B, T, stay=0.5, p_blank=0.4, peak=6.0):
    """(B, T, V) float64 log-posteriors whose argmax follows a chain with many blanks and repeats."""
    labels = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        for t in range(T):
            u = torch.rand((), generator=gen).item()
            if t and u < stay:
                labels[b, t] = labels[b, t - 1]
            elif torch.rand((), generator=gen).item() < p_blank:
                labels[b, t] = BLANK
            else:
                labels[b, t] = int(torch.randint(1, V, (), generator=gen))
    logits = torch.randn(B, T, V, generator=gen, dtype=torch.float64)
    logits += peak * torch.nn.functional.one_hot(labels, V)
    return logits.log_softmax(-1)


def random_batch(seed, lengths=(30, 1, 17, 8, 23)):
    gen = torch.Generator().manual_seed(seed)
    B, T = len(lengths), max(lengths)
    states = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    return states, torch.tensor(lengths), markov_log_probs(gen, B, T)


def assert_matches_reference(out, states, lengths, log_probs, mode):
    assert out.states.shape[0] == states.shape[0]
    assert out.states.shape[1] == int(out.lengths.max())
    for b in range(states.size(0)):
        vectors, empty = reference(states[b], lengths[b], log_probs[b], mode)
        n = len(vectors)
        assert int(out.lengths[b]) == n and bool(out.empty[b]) == empty
        torch.testing.assert_close(out.states[b, :n], torch.stack(vectors), atol=1e-6, rtol=0)
        assert torch.equal(out.states[b, n:], torch.zeros_like(out.states[b, n:]))


def randn(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def one_hot_log_probs(labels, peak=8.0):
    """(B, T) labels -> (B, T, V) float64 log-posteriors with those argmaxes."""
    labels = torch.as_tensor(labels)
    return (peak * torch.nn.functional.one_hot(labels, V).double()).log_softmax(-1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_batched_equals_reference(mode, seed):
    states, lengths, log_probs = random_batch(seed)
    out = ctc_compress(states, lengths, log_probs, mode)
    assert_matches_reference(out, states, lengths, log_probs, mode)
    # The chain does produce merges and (in "mean") dropped blanks, else the test would be trivial.
    assert int(out.lengths.sum()) < int(lengths.sum())


@pytest.mark.parametrize("mode", MODES)
def test_gradients_match_reference(mode):
    states, lengths, log_probs = random_batch(7)
    states.requires_grad_()
    log_probs.requires_grad_()
    out = ctc_compress(states, lengths, log_probs, mode)
    weight = randn(*out.states.shape, seed=8)
    grad, grad_lp = torch.autograd.grad((out.states * weight).sum(), [states, log_probs], allow_unused=True)
    assert grad_lp is None or torch.count_nonzero(grad_lp) == 0
    ref_loss = sum((torch.stack(reference(states[b], lengths[b], log_probs[b], mode)[0])
                    * weight[b, : int(out.lengths[b])]).sum() for b in range(states.size(0)))
    (ref_grad,) = torch.autograd.grad(ref_loss, [states])
    torch.testing.assert_close(grad, ref_grad, atol=1e-10, rtol=0)
    assert torch.count_nonzero(grad[1, 1:]) == 0  # padding of the length-1 utterance
    assert torch.count_nonzero(grad[0]) > 0


@pytest.mark.parametrize("mode", MODES)
def test_all_blank(mode):
    states = randn(2, 5, D)
    lengths = torch.tensor([5, 3])
    out = ctc_compress(states, lengths, one_hot_log_probs(torch.zeros(2, 5, dtype=torch.long)), mode)
    assert out.lengths.tolist() == [1, 1]
    assert out.empty.tolist() == [mode == "mean"] * 2
    # Every frame has the same posteriors, so the "weighted" mean is the plain mean too.
    torch.testing.assert_close(out.states[:, 0], torch.stack([states[0].mean(0), states[1, :3].mean(0)]))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label", [BLANK, 3])
def test_one_frame(mode, label):
    states = randn(1, 1, D)
    out = ctc_compress(states, torch.tensor([1]), one_hot_log_probs([[label]]), mode)
    assert out.lengths.tolist() == [1]
    assert out.empty.tolist() == [mode == "mean" and label == BLANK]
    torch.testing.assert_close(out.states, states)


@pytest.mark.parametrize("mode", MODES)
def test_every_frame_new_label(mode):
    states = randn(3, 7, D)
    lengths = torch.tensor([7, 4, 2])
    labels = torch.tensor([[1, 2, 3, 4, 5, 1, 2]] * 3)
    out = ctc_compress(states, lengths, one_hot_log_probs(labels), mode)
    assert out.lengths.tolist() == lengths.tolist() and not out.empty.any()
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(out.states[b, :n], states[b, :n], atol=1e-12, rtol=0)
        assert torch.count_nonzero(out.states[b, n:]) == 0


@pytest.mark.parametrize("mode", MODES)
def test_repeat_across_blank(mode):
    states = randn(1, 4, D)
    out = ctc_compress(states, torch.tensor([4]), one_hot_log_probs([[2, 2, BLANK, 2]]), mode)
    expected = [states[0, :2].mean(0), states[0, 3]]
    if mode != "mean":
        expected.insert(1, states[0, 2])
    assert out.lengths.tolist() == [len(expected)]
    torch.testing.assert_close(out.states[0], torch.stack(expected), atol=1e-12, rtol=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad_label", [1, 4])
def test_padding_labels_ignored(mode, pad_label):
    """Padded frames whose argmax is not blank neither extend the last run nor add one."""
    states = randn(1, 6, D)
    out = ctc_compress(states, torch.tensor([2]), one_hot_log_probs([[1, 1] + [pad_label] * 4]), mode)
    assert out.lengths.tolist() == [1] and out.states.shape == (1, 1, D)
    torch.testing.assert_close(out.states[0, 0], states[0, :2].mean(0), atol=1e-12, rtol=0)


def test_greedy_labels_blank_on_padding():
    log_probs = one_hot_log_probs([[3, 1, 4], [2, 5, 5]])
    assert greedy_labels(log_probs, torch.tensor([3, 1]), blank=2).tolist() == [[3, 1, 4], [2, 2, 2]]


def test_errors():
    states, lengths, log_probs = random_batch(0)
    with pytest.raises(InputError, match="unknown CTC compression"):
        ctc_compress(states, lengths, log_probs, "max")
    with pytest.raises(InputError):
        ctc_compress(states, lengths, log_probs[:, :-1])  # frames differ
    with pytest.raises(InputError):
        ctc_compress(states, lengths, log_probs[:-1])  # batch sizes differ


@pytest.mark.parametrize("mode", MODES)
def test_independent_of_batch_and_padding(mode):
    states, lengths, log_probs = random_batch(5)
    gen = torch.Generator().manual_seed(6)
    for b, n in enumerate(lengths.tolist()):
        alone = ctc_compress(states[b : b + 1, :n], lengths[b : b + 1], log_probs[b : b + 1, :n], mode)
        # Same utterance in a batch padded with garbage (huge states, confident non-blank posteriors).
        s, lp = states.clone(), log_probs.clone()
        s[b, n:] = 1e6 * torch.randn(s[b, n:].shape, generator=gen, dtype=torch.float64)
        lp[b, n:] = one_hot_log_probs(torch.randint(1, V, lp[b, n:, 0].shape, generator=gen), peak=20.0)
        batched = ctc_compress(s, lengths, lp, mode)
        m = int(alone.lengths[0])
        assert int(batched.lengths[b]) == m and bool(batched.empty[b]) == bool(alone.empty[0])
        torch.testing.assert_close(batched.states[b, :m], alone.states[0], atol=1e-12, rtol=0)
        assert torch.count_nonzero(batched.states[b, m:]) == 0
