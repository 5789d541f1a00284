"""Randomness goes through explicit seeds only: k8slearn never touches Python's or NumPy's global state,
and the same seed gives the same answer."""

from __future__ import annotations

import random

import numpy as np
import pytest

import k8slearn as k8s
from k8slearn.trace import rng

CALLS = {
    "send": lambda c, seed: k8s.send(c, "web", seed=seed),
    "send nodePort": lambda c, seed: k8s.send(c, "web", address="nodePort", seed=seed),
    "send pod-targeting": lambda c, seed: k8s.send(c, "web", lb="pod-targeting", seed=seed),
    "send from a pod": lambda c, seed: k8s.send(c, "web", client="web-1", seed=seed),
    "send cilium": lambda c, seed: k8s.send(c, "web", dataplane="cilium-snat", seed=seed),
    "sample": lambda c, seed: k8s.sample(c, "web", 500, seed=seed),
    "sample pods": lambda c, seed: k8s.sample(c, "web", 500, seed=seed, clients="pods"),
    "traffic": lambda c, seed: k8s.traffic(c, "web"),
    "metrics": lambda c, seed: k8s.metrics(c, "web", lb="equal"),
}


def _global_states():
    return random.getstate(), np.random.get_state()


def _same_state(a, b) -> bool:
    (py_a, np_a), (py_b, np_b) = a, b
    return py_a == py_b and np_a[0] == np_b[0] and np.array_equal(np_a[1], np_b[1]) and np_a[2:] == np_b[2:]


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("seed", [0, 7, None, "generator"])
def test_global_random_state_is_untouched(name, seed):
    c = k8s.examples.uneven()
    random.seed(12345)
    np.random.seed(54321)
    before = _global_states()
    CALLS[name](c, np.random.default_rng(3) if seed == "generator" else seed)
    assert _same_state(before, _global_states())
    # The next global draws are what they would have been without k8slearn.
    assert random.random() == random.Random(12345).random()
    assert np.random.random() == np.random.RandomState(54321).random_sample()


@pytest.mark.parametrize("name", [n for n in CALLS if n.startswith(("send", "sample"))])
def test_same_seed_same_result(name):
    c = k8s.examples.uneven()
    a, b = CALLS[name](c, 11), CALLS[name](c, 11)
    if name.startswith("send"):
        assert a == b
        assert a.to_frame().equals(b.to_frame())
    else:
        assert a.equals(b) and a.attrs == b.attrs


def test_seeds_change_the_sample():
    c = k8s.examples.uneven()
    frames = [k8s.sample(c, "web", 300, seed=s) for s in range(5)]
    assert len({tuple(f["share"]) for f in frames}) > 1


def test_same_seed_same_result_on_a_copy_and_after_unrelated_reads():
    c = k8s.examples.uneven()
    a = k8s.send(c, "web", seed=5)
    k8s.traffic(c, "web")
    c.endpoints("web")
    assert k8s.send(c.copy(), "web", seed=5).to_frame().equals(a.to_frame())


def test_a_generator_is_used_not_copied():
    c = k8s.examples.uneven()
    gen = np.random.default_rng(9)
    first = k8s.sample(c, "web", 200, seed=gen)
    second = k8s.sample(c, "web", 200, seed=gen)  # the generator moved on
    replay = np.random.default_rng(9)
    assert k8s.sample(c, "web", 200, seed=replay).equals(first)
    assert k8s.sample(c, "web", 200, seed=replay).equals(second)


def test_rng_helper():
    assert isinstance(rng(1), np.random.Generator)
    g = np.random.default_rng(1)
    assert rng(g) is g
    assert rng(4).integers(1 << 30) == rng(4).integers(1 << 30)
