import pytest
from hypothesis import given, settings, strategies as st

from accelmodel.workloads import nasbench201, nasbench201_arch_strings
from accelmodel.workloads.nasbench201 import OPS, arch_string, parse_arch, read_index_file

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_all_15625_strings_unique_and_roundtrip():
    archs = nasbench201_arch_strings()
    assert len(archs) == 15625 == len(set(archs))
    for a in archs[:: 97]:
        assert arch_string(parse_arch(a)) == a


def test_macro_architecture_shapes():
    g = nasbench201(ARCH, "cifar10")
    assert g["stem"].out_shape == (1, 16, 32, 32)
    assert g["reduce1.conv_a"].out_shape == (1, 32, 16, 16)
    assert g["reduce2.add"].out_shape == (1, 64, 8, 8)
    assert g["classifier"].out_shape == (1, 10, 1, 1)
    assert nasbench201(ARCH, "ImageNet16-120")["classifier"].out_shape == (1, 120, 1, 1)
    assert nasbench201(ARCH, "ImageNet16-120")["s2c4.e10.nor_conv_3x3"].in_shape == (1, 64, 4, 4)


def test_known_mac_count_all_3x3():
    # Every edge a 3x3 conv: 6 convs per cell; per stage 5 cells at C channels on an S x S plane.
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    g = nasbench201(arch, "cifar10")
    cells = sum(5 * 6 * (c * c * 9 * s * s) for c, s in ((16, 32), (32, 16), (64, 8)))
    stem = 3 * 16 * 9 * 32 * 32
    red = (16 * 32 * 9 * 16 * 16 + 32 * 32 * 9 * 16 * 16 + 16 * 32 * 16 * 16) + (
        32 * 64 * 9 * 8 * 8 + 64 * 64 * 9 * 8 * 8 + 32 * 64 * 8 * 8)
    assert g.macs == cells + stem + red + 64 * 10
    # NAS-Bench-201 (Dong & Yang 2020) gives 220.11 MFLOPs (multiply-adds) for its largest CIFAR-10 network.
    assert abs(g.macs / 1e6 - 220.11) / 220.11 < 0.001


def test_batch_scales_macs():
    assert nasbench201(ARCH, batch=4).macs == 4 * nasbench201(ARCH).macs


def test_zero_and_skip_are_explicit_layers():
    arch = "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|"
    g = nasbench201(arch)
    types = {l.type for l in g.layers}
    assert {"zero", "identity", "add"} <= types


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(OPS), min_size=6, max_size=6), st.sampled_from(["cifar10", "cifar100", "ImageNet16-120"]))
def test_random_valid_archs_build(ops, dataset):
    g = nasbench201(ops, dataset)
    assert len(g.layers) > 10
    assert g.meta["arch_str"] == arch_string(ops)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, len(ARCH) - 1), st.characters(codec="ascii"))
def test_random_corruptions_raise(pos, ch):
    bad = ARCH[:pos] + ch + ARCH[pos + 1:]
    if bad == ARCH:
        return
    try:
        ops = parse_arch(bad)
    except ValueError as e:
        assert str(e)
        return
    # A corruption that still parses must name valid ops only (e.g. not possible except identity edits).
    assert all(o in OPS for o in ops)


@pytest.mark.parametrize("bad, needle", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3"),
    ("|conv~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "'conv'"),
    ("|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "op~0"),
    (["nor_conv_3x3"] * 5, "6"),
])
def test_bad_arch_messages(bad, needle):
    with pytest.raises(ValueError, match=needle):
        parse_arch(bad)


@pytest.mark.parametrize("kw, needle", [({"dataset": "imagenet"}, "ImageNet16-120"), ({"batch": 0}, "batch")])
def test_bad_dataset_and_batch(kw, needle):
    with pytest.raises(ValueError, match=needle):
        nasbench201(ARCH, **kw)


def test_index_file_csv(tmp_path):
    p = tmp_path / "idx.csv"
    p.write_text("index,arch_str\n0," + ARCH + "\n7," + ARCH.replace("skip_connect~2", "none~2") + "\n")
    idx = read_index_file(p)
    assert idx[0] == ARCH and 7 in idx
    p.write_text("idx,arch\n0,x\n")
    with pytest.raises(ValueError, match="arch_str"):
        read_index_file(p)


def test_index_file_hwnasbench_pickle(tmp_path):
    import pickle
    other = ARCH.replace("skip_connect~2", "none~2")
    configs = [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": a, "num_classes": 10} for a in (ARCH, other)]
    p = tmp_path / "hw.pickle"
    p.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"config": configs, "eyeriss_latency": [1.0, 2.0]}}}))
    assert read_index_file(p) == {0: ARCH, 1: other}
    p.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"eyeriss_latency": [1.0]}}}))
    with pytest.raises(ValueError, match="config"):
        read_index_file(p)


def test_index_file_without_indices_is_refused(tmp_path):
    import pickle
    p = tmp_path / "keyed_by_arch.pickle"
    p.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"config": {ARCH: {"arch_str": ARCH}}}}}))
    with pytest.raises(ValueError, match="not by NAS-Bench-201 index"):
        read_index_file(p)
