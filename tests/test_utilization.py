"""`utilization` means the same on every spec and paradigm: the layer's MACs / (the MAC units it runs on x its
cycles), at most 1 -- also for depthwise and grouped convolutions, which keep units idle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmodel import available_specs, estimate
from accelmodel.estimate import configure
from accelmodel.workloads import LayerGraph, conv2d


def _mac_units(paradigm: str, config, row) -> float:
    """The MAC units a layer's cycles are counted on: the Eyeriss PE array, the generic engine's peak MACs per
    cycle, the FPGA layer engine's Tn x Tm lanes."""
    if paradigm == "eyeriss_rs":
        return config.pes
    if paradigm == "generic":
        return config.peak_macs_per_cycle
    return row["layerwise_tn"] * row["layerwise_tm"]


@st.composite
def layers(draw):
    c = draw(st.sampled_from([4, 8, 16, 24, 32]))
    kind = draw(st.sampled_from(["dense", "depthwise", "grouped"]))
    groups = {"dense": 1, "depthwise": c, "grouped": draw(st.sampled_from([2, 4]))}[kind]
    k = c if kind == "depthwise" else groups * draw(st.sampled_from([2, 4, 6, 8]))
    kernel = draw(st.sampled_from([1, 3, 5]))
    hw = draw(st.sampled_from([4, 7, 8, 16]))
    stride = draw(st.sampled_from([1, 2]))
    return conv2d("x", (1, c, hw, hw), k, kernel, stride, kernel // 2, groups=groups)


@settings(max_examples=30, deadline=None)
@given(layer=layers(), spec=st.sampled_from(sorted(available_specs())))
def test_utilization_is_macs_over_unit_cycles(layer, spec):
    graph = LayerGraph("one", layer.in_shape)
    graph.add(layer)
    arch, _, config = configure(spec)
    row = estimate(graph, spec).layers.iloc[0]
    units = _mac_units(arch.paradigm, config, row)
    assert 0 < row["utilization"] <= 1 + 1e-12
    assert row["utilization"] == pytest.approx(layer.macs / (units * row["cycles"]), rel=1e-9)
