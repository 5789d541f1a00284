"""The public API under random operations and arbitrary Python values (hypothesis; a few seconds).

The operations and their rules live in tests/api_fuzz.py: Cluster methods, ``send``/``traffic``/
``metrics``/``sample``/``by_node``/``decide``, manifests, ``proxies`` and ``proxychain``, with arguments
drawn from valid values, near misses and arbitrary Python values. Stated precisely:

* only k8slearn's own exceptions escape (:class:`~k8slearn.errors.K8sLearnError`);
* a rejected change leaves the cluster exactly as it was (same objects, same ``version``), and a call
  that only reads never changes it;
* every rejection's message is bounded (a few thousand characters at most, however big the bad
  value), carries a hint, and names what it is about (the field, parameter or object);
* every accepted change leaves a consistent cluster whose services the API server would accept.

benchmarks/fuzz_api.py runs the same operations for much longer (>= 50,000, seeded) and prints the
figures. ``KNOWN_GAPS`` lists arguments checked in trace.py and traffic.py, which this change leaves
alone: they fail today (strict xfail), so whoever fixes them sees the marker to remove.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8slearn as k8s
from k8slearn.errors import K8sLearnError

import api_fuzz as F


class HypothesisDraw(F.Draw):
    """Choices made by hypothesis (as indices, so a failure report never prints a huge value)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def choice(self, options):
        options = list(options)
        return options[self.data.draw(st.integers(0, len(options) - 1))]

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))


SHORT = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@SHORT
@given(data=st.data())
def test_random_sequences_raise_only_package_errors(data):
    d = HypothesisDraw(data)
    tally = F.Tally()
    c = F.fresh(d)
    for _ in range(data.draw(st.integers(1, 30))):
        c = F.step(c, d, tally)
    assert tally.foreign == 0, tally.examples


@pytest.mark.parametrize("op", F.OPS, ids=[op.name for op in F.OPS])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_each_operation_raises_only_package_errors(op, data):
    d = HypothesisDraw(data)
    tally = F.Tally()
    F.step(F.fresh(d), d, tally, op=op)
    assert tally.foreign == 0, tally.examples


def test_the_fuzz_can_fail():
    """The rules in api_fuzz.step catch what they are meant to catch (so the fuzz is not vacuous)."""
    c = k8s.examples.uneven()
    d = F.RandomDraw(0)

    def half_applied(cluster, draw):
        cluster.move_pod("web-1", "node-c")
        raise k8s.InvalidChange("refused after all", hint="a hint")

    def foreign(cluster, draw):
        raise KeyError("web")

    def silent(cluster, draw):
        raise k8s.InvalidChange("web: refused")

    with pytest.raises(F.Broken, match="changed the cluster"):
        F.step(c, d, F.Tally(), op=F.Op("half", half_applied, ("refused",), True))
    tally = F.Tally()
    F.step(k8s.examples.uneven(), d, tally, op=F.Op("foreign", foreign, ("web",)))
    assert tally.foreign == 1 and tally.signatures == {"foreign: KeyError": 1}
    with pytest.raises(F.Broken, match="no hint"):
        F.step(k8s.examples.uneven(), d, F.Tally(), op=F.Op("silent", silent, ("web",)))


# ------------------------------------------------------------------------------ known gaps
def _cluster():
    return k8s.examples.uneven()


#: Arguments that trace.py and traffic.py check themselves (not changed here; see the report on
#: issue 14): a foreign exception, or a message that writes out a huge value.
KNOWN_GAPS = {
    "send seed is text": lambda: k8s.send(_cluster(), "web", seed="x"),
    "send seed is negative": lambda: k8s.send(_cluster(), "web", seed=-1),
    "sample seed is a float": lambda: k8s.sample(_cluster(), "web", 10, seed=1.5),
    "sample n is huge": lambda: k8s.sample(_cluster(), "web", 2**64, seed=0),
    "traffic address is an array": lambda: k8s.traffic(_cluster(), "web", address=np.array([])),
    "sample n is a nested list (the message writes it out)": lambda: k8s.sample(_cluster(), "web", F._nested(16), seed=0),
}


@pytest.mark.xfail(strict=True, reason="checked in trace.py / traffic.py, which issue 14's branch leaves alone")
@pytest.mark.parametrize("case", list(KNOWN_GAPS))
def test_known_gaps_in_trace_and_traffic(case):
    try:
        KNOWN_GAPS[case]()
    except K8sLearnError as err:
        assert len(str(err)) <= F.MAX_MESSAGE, f"a message of {len(str(err)):,} characters"
        return
    except Exception as err:  # noqa: BLE001 - any other exception is the failure being looked for
        pytest.fail(f"{type(err).__name__}: {err}")
    pytest.fail("accepted")
