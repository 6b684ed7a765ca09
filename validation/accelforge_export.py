"""Export our arch specs, layers and mappings to AccelForge (the Timeloop/Accelergy group's model).

Three pieces, each plain data (dicts that `yaml.safe_dump` writes and AccelForge's `Spec.from_yaml` reads):

- `workload(layer)`: one einsum. Ranks (lower case = rank variables): ``n`` batch, ``g`` groups, ``m`` output
  channels per group, ``c`` input channels per group, ``p``/``q`` output rows/cols, ``r``/``s`` filter
  rows/cols. The input is indexed ``H: p*U + r``, ``W: q*U + s`` (U the stride); H and W are the padded
  extent the layer touches, ``(P-1)U + R``, since padding is a border of zeros both models read as data.
  A fully connected layer is the 1x1 convolution of a 1x1 plane; a depthwise one has g = C, m = c = 1.
- `eyeriss_arch(config)` / `generic_arch(config)`: the memory hierarchy of one of our configs with the
  SAME energy per access and bandwidth numbers our model uses (given explicitly per action, so no
  component model is consulted: the cross-check compares the two data-movement models, not two energy
  tables). Every action moves one word (``bits_per_action`` = word bits), so action counts are words.
- `eyeriss_nest(layer, factors)` / `generic_nest(layer, config, mapping)`: our mapping as a loop nest (see each
  function for the loop order chosen and why); `mapping_nodes` / `generic_mapping_nodes` turn a nest into
  AccelForge mapping nodes and `spec_yaml` writes the whole spec.

Latency in AccelForge is the maximum over components of ``actions / throughput`` (all overlapped); times are
in cycles because throughputs are given in words per cycle and the MAC does one per cycle.
"""

from __future__ import annotations

import math

from ..mappers.eyeriss_rs import grid_split
from ..workloads.graph import Layer

#: Our energy levels -> the AccelForge components that carry them.
EYERISS_LEVELS = {"dram": ["DRAM"], "glb": ["GLB"], "noc": ["NoC"],
                  "rf": ["IfmapSpad", "FilterSpad", "PsumSpad"], "mac": ["MAC"]}
GENERIC_LEVELS = {"dram": ["DRAM"], "glb": ["LocalMemory"], "rf": ["RegisterFile", "OperandRegs"], "mac": ["MAC"]}


class ExportError(ValueError):
    """A layer or mapping has no AccelForge equivalent in this exporter."""


def layer_dims(layer: Layer) -> dict[str, int]:
    """Rank sizes of a MAC layer: n g m c p q r s and stride u."""
    if layer.op == "conv2d":
        if layer.stride[0] != layer.stride[1]:
            raise ExportError(f"layer {layer.name!r}: stride {layer.stride} differs between rows and columns")
        if layer.dilation != (1, 1):
            raise ExportError(f"layer {layer.name!r}: dilation {layer.dilation} is not exported (the einsum "
                              "projections assume adjacent kernel taps)")
        g = layer.groups
        return {"n": layer.N, "g": g, "m": layer.K // g, "c": layer.C // g, "p": layer.P, "q": layer.Q,
                "r": layer.R, "s": layer.S, "u": layer.stride[0]}
    if layer.op == "linear":
        return {"n": layer.N, "g": 1, "m": layer.K, "c": layer.C, "p": 1, "q": 1, "r": 1, "s": 1, "u": 1}
    raise ExportError(f"layer {layer.name!r}: op {layer.op!r} has no MACs; the exporter takes conv2d and linear")


def workload(layer: Layer, word_bits: int) -> dict:
    d = layer_dims(layer)
    u = d["u"]
    ranks = {"N": d["n"], "G": d["g"], "M": d["m"], "C": d["c"], "P": d["p"], "Q": d["q"], "R": d["r"], "S": d["s"],
             "H": (d["p"] - 1) * u + d["r"], "W": (d["q"] - 1) * u + d["s"]}
    hp = f"p * {u} + r" if u > 1 else "p + r"
    wp = f"q * {u} + s" if u > 1 else "q + s"
    return {
        "rank_sizes": ranks,
        "bits_per_value": {"All": word_bits},
        "einsums": [{
            "name": "Layer",
            "tensor_accesses": [
                {"name": "I", "projection": {"N": "n", "G": "g", "C": "c", "H": hp, "W": wp}},
                {"name": "Wt", "projection": ["g", "m", "c", "r", "s"]},
                {"name": "O", "projection": ["n", "g", "m", "p", "q"], "output": True},
            ],
            "iteration_space_shape": [f"0 <= n < {d['n']}", f"0 <= g < {d['g']}", f"0 <= m < {d['m']}",
                                      f"0 <= c < {d['c']}", f"0 <= p < {d['p']}", f"0 <= q < {d['q']}",
                                      f"0 <= r < {d['r']}", f"0 <= s < {d['s']}"],
            "renames": {"input": "I", "weight": "Wt", "output": "O"},
        }],
    }


def _actions(energy_pj: float, words_per_cycle: float, bits: int) -> list[dict]:
    thr = "inf" if not math.isfinite(words_per_cycle) else float(words_per_cycle)
    return [{"name": a, "energy": float(energy_pj), "throughput": thr, "bits_per_action": bits}
            for a in ("read", "write")]


def _memory(name: str, size_bits, energy_pj: float, words_per_cycle: float, bits: int, tensors: dict) -> dict:
    node = {"name": name, "size": size_bits, "leak_power": 0, "area": 0, "tensors": tensors,
            "actions": _actions(energy_pj, words_per_cycle, bits)}
    return node


def eyeriss_arch(config, rs_filter_rows: int | None = None) -> list:
    """Eyeriss: DRAM -> GLB (ifmaps and psums; filters pass the chip's small filter bank, which our model does
    not cost as a level, JSSC Sec. V-A) -> NoC (a toll per word delivered) -> PE array -> ifmap / filter / psum
    spads -> MAC.

    The PE array follows the spec's placement: ``count`` and ``stacked`` as one spatial dimension of rows x cols
    PEs (``count`` lets a PE set take any shape the PE count allows); ``grid`` as the physical rows x cols
    array, filter rows, channels, filters and groups down the rows, output rows, filters and groups across the
    columns.

    ``rs_filter_rows``: restrict the array to the row-stationary spatial space of our mapper -- all R filter
    rows of a layer (pass its R) spread over PEs (the PE set's height), and besides them only output rows
    (e1), filters (m1), channels (c1) and groups (g1; none when the spec's mapping_space.spatial_groups is
    false). None leaves every rank free."""
    b = config.word_bits
    no_groups = [] if config.spatial_groups else [{"expression": "g", "operator": "==", "value": 1}]
    if config.placement == "grid":
        down, across = [], []
        if rs_filter_rows is not None:
            down = [{"expression": "~(r | c | m | g)", "operator": "==", "value": 1},
                    {"expression": "r", "operator": "==", "value": int(rs_filter_rows)}, *no_groups]
            across = [{"expression": "~(p | m | g)", "operator": "==", "value": 1}, *no_groups]
        spatial = [dict({"name": "rows", "fanout": config.pe_rows}, **({"loop_bounds": down} if down else {})),
                   dict({"name": "cols", "fanout": config.pe_cols}, **({"loop_bounds": across} if across else {}))]
    else:
        rs_bounds = [] if rs_filter_rows is None else [
            {"expression": "~(r | p | m | c | g)", "operator": "==", "value": 1},
            {"expression": "r", "operator": "==", "value": int(rs_filter_rows)}, *no_groups]
        spatial = [dict({"name": "array", "fanout": config.pe_rows * config.pe_cols},
                        **({"loop_bounds": rs_bounds} if rs_bounds else {}))]
    nodes = [
        ("Memory", _memory("DRAM", "inf", config.e_dram_pj, config.bw_dram, b,
                           {"keep": "All", "may_keep": "All"})),
        ("Memory", _memory("GLB", config.glb_words * b, config.e_glb_pj, config.bw_glb, b,
                           {"keep": "input | output", "may_keep": "input | output"})),
        ("Toll", {"name": "NoC", "leak_power": 0, "area": 0,
                  "direction": {"input": "down", "weight": "down", "output": "up_and_down"},
                  "tensors": {"keep": "All"},
                  "actions": [{"name": "read", "energy": float(config.e_noc_pj), "throughput": float(config.bw_noc),
                               "bits_per_action": b}]}),
        ("Container", {"name": "PE", "spatial": spatial}),
        ("Memory", _memory("FilterSpad", config.spad_filter * b, config.e_rf_pj, math.inf, b, {"keep": "weight"})),
        ("Memory", _memory("IfmapSpad", config.spad_ifmap * b, config.e_rf_pj, math.inf, b, {"keep": "input"})),
        ("Memory", _memory("PsumSpad", config.spad_psum * b, config.e_rf_pj, math.inf, b, {"keep": "output"})),
        ("Compute", {"name": "MAC", "leak_power": 0, "area": 0,
                     "actions": [{"name": "compute", "energy": float(config.e_mac_pj), "throughput": 1}]}),
    ]
    return nodes


def generic_arch(config) -> list:
    """Generic engine: DRAM -> local memory (one per PE) -> PEs x lanes (spatial) -> register file (psums)
    -> operand registers (a toll: one register-file access per weight and input word fed to the SIMD units,
    an input broadcast to the units once, as our model books operand reads) -> SIMD units x ways (spatial)
    -> MAC. Energies per byte times the word size; DRAM throughput in words per cycle from the spec's GB/s."""
    wb = config.word_bits
    word_bytes = wb / 8
    dram_wpc = config.bytes_per_cycle / word_bytes
    nodes = [
        ("Memory", _memory("DRAM", "inf", config.e_dram * 1e12 * word_bytes, dram_wpc, wb,
                           {"keep": "All", "may_keep": "All"})),
        ("Container", {"name": "PE", "spatial": [{"name": "pes", "fanout": config.pes},
                                                  {"name": "lanes", "fanout": config.lanes}]}),
        ("Memory", _memory("LocalMemory", int(config.local_memory_bytes * 8), config.e_glb * 1e12 * word_bytes,
                           math.inf, wb, {"keep": "All", "may_keep": "All"})),
        ("Memory", _memory("RegisterFile", int(max(config.register_file_bytes, config.simd_units * 8) * 8),
                           config.e_rf * 1e12 * word_bytes, math.inf, wb, {"keep": "output"})),
        ("Toll", {"name": "OperandRegs", "leak_power": 0, "area": 0,
                  "direction": {"input": "down", "weight": "down", "output": "up"},
                  "tensors": {"keep": "input | weight"},
                  "actions": [{"name": "read", "energy": float(config.e_rf * 1e12 * word_bytes),
                               "throughput": "inf", "bits_per_action": wb}]}),
        # The engine's SIMD units hold separate accumulators for different output channels and its ways form
        # a dot-product (adder tree) over the reduction (channels x filter taps): the spatial loops AccelForge
        # may place on them are constrained accordingly, as our mapper's space is.
        ("Container", {"name": "SIMD", "spatial": [
            {"name": "units", "fanout": config.simd_units,
             "loop_bounds": [{"expression": "~(m | g)", "operator": "==", "value": 1}]},
            {"name": "ways", "fanout": config.simd_width,
             "loop_bounds": [{"expression": "~(c | r | s)", "operator": "==", "value": 1}]}]}),
        ("Compute", {"name": "MAC", "leak_power": 0, "area": 0,
                     "actions": [{"name": "compute", "energy": float(config.e_mac * 1e12), "throughput": 1}]}),
    ]
    return nodes


def eyeriss_nest(layer: Layer, factors: dict, config=None) -> list:
    """Our RS factors as a loop nest (outer -> inner; entries are ``("T"|"S", var, trips)`` or
    ``("store", tensors, component)``; a spatial entry may name its array dimension as a fourth element):

    DRAM  n3, e3 (output-row strips), m3 (ifmap re-fetches), c3 (psum spills: innermost at this level, so
          each extra channel pass writes the outputs and reads them back)
    GLB   [ifmap, psum] g2, m2, c2
    NoC   (toll on every word sent to the array)
    PEs   spatial r (the R filter rows of a set), p (e1 output rows), m1, c1, g1; with `config` on a ``grid``
          placement, r, c1 and the filter/group copies laid down go on the rows, p and the copies laid across on
          the columns (`eyeriss_rs.grid_split`)
    spads filter spad [weights] above q (a PE slides its filter rows along q), ifmap + psum spads below, then
          n0, m0, c0, s (the psum spad accumulates m0 x n0 sums over c0 x S)
    """
    d = layer_dims(layer)
    f = {k: int(v) for k, v in factors.items()}
    if config is not None and config.placement == "grid":
        down, _ = grid_split(d["r"], f["e1"], f["c1"], f["m1"] * f["g1"], config)
        m_down = math.gcd(down, f["m1"])
        g_down = down // m_down
        rows, cols = ("rows", "PE"), ("cols", "PE")
        array = [("S", "r", d["r"], rows), ("S", "c", f["c1"], rows), ("S", "m", m_down, rows),
                 ("S", "g", g_down, rows), ("S", "p", f["e1"], cols), ("S", "m", f["m1"] // m_down, cols),
                 ("S", "g", f["g1"] // g_down, cols)]
    else:
        array = [("S", "r", d["r"]), ("S", "p", f["e1"]), ("S", "m", f["m1"]), ("S", "c", f["c1"]), ("S", "g", f["g1"])]
    return [
        ("store", ["I", "Wt", "O"], "DRAM"),
        ("T", "n", f["n3"]), ("T", "p", f["e3"]), ("T", "m", f["m3"]), ("T", "c", f["c3"]),
        ("store", ["I", "O"], "GLB"),
        ("T", "g", f["g2"]), ("T", "m", f["m2"]), ("T", "c", f["c2"]),
        ("store", ["I", "Wt", "O"], "NoC"),
        *array,
        ("store", ["Wt"], "FilterSpad"),
        ("T", "q", d["q"]),
        ("store", ["I"], "IfmapSpad"), ("store", ["O"], "PsumSpad"),
        ("T", "n", f["n0"]), ("T", "m", f["m0"]), ("T", "c", f["c0"]), ("T", "s", d["s"]),
    ]


def _ceil(a, b) -> int:
    return -(-int(a) // int(b))


def generic_nest(layer: Layer, config, mapping: dict) -> list:
    """Our generic mapping as a loop nest; entries ``(kind, var, trips, tile_shape)`` (tiles may not divide the
    rank: AccelForge handles the imperfect last tile as our model does, with ceilings):

    DRAM         batch, then the three tile loops in the mapping's order (weight-stationary k c p q,
                 output-stationary k p q c, input-stationary c p q k)
    LocalMemory  [all tensors] spatial PE split of the tile over k and p, lanes over k or p
    RegisterFile [psums] of one output pixel x simd_units channels, held while the reduction runs
    OperandRegs  (toll) every weight and input word fed to the SIMD units, below the reduction's time loops
    SIMD         spatial k over the SIMD units, the reduction (c, then r, s) over the SIMD ways
    For a fully connected layer the batch is the pixel dimension (our Q), as our model folds it; for a
    depthwise layer the output channels are the groups.
    """
    d = layer_dims(layer)
    kvar = "m" if d["g"] == 1 else "g"
    if d["g"] > 1 and d["m"] > 1:
        raise ExportError(f"layer {layer.name!r}: grouped (not depthwise) convolution has no generic export")
    pvar, qvar = ("p", "q") if layer.op == "conv2d" else ("p", "n")
    size = {kvar: d[kvar], "c": d["c"], pvar: d[pvar], qvar: d[qvar]}
    t = mapping["tile"]
    tile = {kvar: int(t["K"]), "c": int(t["C"]), pvar: int(t["P"]), qvar: int(t["Q"])}
    order = {"weight_stationary": [kvar, "c", pvar, qvar], "output_stationary": [kvar, pvar, qvar, "c"],
             "input_stationary": ["c", pvar, qvar, kvar]}[mapping["order"]]
    nest = [("store", ["I", "Wt", "O"], "DRAM")]
    relevant = {"I": {"n", "c", pvar, qvar, "g"}, "Wt": {kvar, "c", "g"}, "O": {"n", kvar, pvar, qvar, "g"}}
    loops = [("n", d["n"])] if layer.op == "conv2d" else []
    loops += [(v, _ceil(size[v], tile[v])) for v in order]
    # A tensor's tile stays in local memory until a loop relevant to it advances (our model re-fetches an
    # operand only when it changes), so its storage node goes right below its innermost relevant loop.
    innermost = {}
    for t, rel in relevant.items():
        idx = [i for i, (v, trips) in enumerate(loops) if trips > 1 and v in rel]
        innermost[t] = idx[-1] if idx else -1
    for t in [t for t in ("I", "Wt", "O") if innermost[t] == -1]:
        nest.append(("store", [t], "LocalMemory"))
    for i, (v, trips) in enumerate(loops):
        nest.append(("T", v, trips, 1 if v == "n" and layer.op == "conv2d" else tile[v]))
        for t in ("I", "Wt", "O"):
            if innermost[t] == i:
                nest.append(("store", [t], "LocalMemory"))
    pk, pp = int(mapping["pe_split"]["K"]), int(mapping["pe_split"]["P"])
    k_pe, p_pe = _ceil(tile[kvar], pk), _ceil(tile[pvar], pp)
    nest.append(("S", kvar, pk, k_pe, "pes"))
    nest.append(("S", pvar, pp, p_pe, "pes"))
    lanes = config.lanes
    if mapping["lane_split"] == "K":
        k_lane, p_lane = _ceil(k_pe, lanes), p_pe
        nest.append(("S", kvar, lanes, k_lane, "lanes"))
    else:
        k_lane, p_lane = k_pe, _ceil(p_pe, lanes)
        nest.append(("S", pvar, lanes, p_lane, "lanes"))
    units = min(config.simd_units, k_lane)
    nest.append(("T", kvar, _ceil(k_lane, units), units))
    nest.append(("T", pvar, p_lane, 1))
    nest.append(("T", qvar, tile[qvar], 1))
    nest.append(("store", ["O"], "RegisterFile"))
    # the SIMD ways take the reduction: channels first, then filter rows and columns while ways remain
    ways = config.simd_width
    c_w = min(ways, tile["c"])
    r_w = min(max(ways // c_w, 1), d["r"])
    s_w = min(max(ways // (c_w * r_w), 1), d["s"])
    nest.append(("T", "c", _ceil(tile["c"], c_w), c_w))
    nest.append(("T", "r", _ceil(d["r"], r_w), r_w))
    nest.append(("T", "s", _ceil(d["s"], s_w), s_w))
    nest.append(("store", ["I", "Wt"], "OperandRegs"))
    nest.append(("S", kvar, units, 1, "units"))
    nest.append(("S", "c", c_w, 1, "ways"))
    nest.append(("S", "r", r_w, 1, "ways"))
    nest.append(("S", "s", s_w, 1, "ways"))
    return nest


GENERIC_TOLLS = ("OperandRegs",)
GENERIC_SPATIAL = {"pes": ("pes", "PE"), "lanes": ("lanes", "PE"), "units": ("units", "SIMD"),
                   "ways": ("ways", "SIMD")}


def generic_mapping_nodes(nest: list) -> list:
    """Generic nest entries (explicit tile shapes) -> AccelForge mapping nodes."""
    out = []
    for entry in nest:
        if entry[0] == "store":
            kind = "Toll" if entry[2] in GENERIC_TOLLS else "Storage"
            out.append((kind, {"tensors": list(entry[1]), "component": entry[2]}))
            continue
        kind, var, trips, tile_shape = entry[:4]
        if trips <= 1:
            continue
        node = {"rank_variable": var, "tile_shape": int(tile_shape)}
        if kind == "S":
            name, comp = GENERIC_SPATIAL[entry[4]]
            node.update(name=name, component=comp)
            out.append(("Spatial", node))
        else:
            out.append(("Temporal", node))
    out.append(("Compute", {"einsum": "Layer", "component": "MAC"}))
    return out


def mapping_nodes(nest: list, dims: dict, spatial: dict[str, tuple[str, str]], compute: str = "MAC",
                  tolls: tuple = ("NoC",)) -> list:
    """Loop-nest entries -> AccelForge mapping nodes. A loop's tile shape is the product of the trip counts
    of the same rank variable below it (trip counts must multiply to the rank size); loops of one trip are
    dropped. ``spatial`` maps a rank variable to the (dimension name, container) a spatial loop uses."""
    out = []
    for i, entry in enumerate(nest):
        if entry[0] == "store":
            kind = "Toll" if entry[2] in tolls else "Storage"
            out.append((kind, {"tensors": list(entry[1]), "component": entry[2]}))
            continue
        kind, var, trips = entry[:3]
        inner = 1
        for e in nest[i + 1:]:
            if e[0] in ("T", "S") and e[1] == var:
                inner *= int(e[2])
        if trips == 1:
            continue
        node = {"rank_variable": var, "tile_shape": int(inner)}
        if kind == "S":
            name, comp = entry[3] if len(entry) > 3 else (spatial[var] if var in spatial else spatial["*"])
            node.update(name=name, component=comp)
            out.append(("Spatial", node))
        else:
            out.append(("Temporal", node))
    for var in "ngmcpqrs":
        total = 1
        for e in nest:
            if e[0] in ("T", "S") and e[1] == var:
                total *= int(e[2])
        if total != dims[var]:
            raise ExportError(f"loop nest trip counts of {var} multiply to {total}, the rank is {dims[var]}")
    out.append(("Compute", {"einsum": "Layer", "component": compute}))
    return out


def spec_yaml(arch_nodes: list, work: dict, mapping: list | None) -> str:
    """The YAML text of a full AccelForge spec (arch + workload [+ mapping]); node kinds become YAML tags."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    class _Tagged(dict):
        pass

    def rep(dumper, data):
        return dumper.represent_mapping("!" + data.tag, {k: v for k, v in data.items()})

    _Dumper.add_representer(_Tagged, rep)

    def tagged(kind, body):
        t = _Tagged(body)
        t.tag = kind
        return t

    doc = {"arch": {"nodes": [tagged(k, b) for k, b in arch_nodes]}, "workload": work}
    if mapping is not None:
        doc["mapping"] = {"nodes": [tagged(k, b) for k, b in mapping]}
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=120)
