"""Helper module for the dataset-builder tests (no tests of its own; named after them for ownership).

A small non-additive mapper: a pipeline whose latency is set by its slowest stage plus a fill term, with
both `map_network` and the batch interface (`encode_layers`, `evaluate_sequences`) the FPGA mapper
provides. Registered under the paradigm ``fake_pipeline``."""

from dataclasses import dataclass

import numpy as np

from accelmodel.cost import LayerCost, NetworkCost

PARADIGM = "fake_pipeline"
SPEC = {"name": "fake-pipe", "paradigm": PARADIGM, "description": "test pipeline", "macs_per_s": 1.0e9,
        "watts": 2.0}


@dataclass(frozen=True)
class Config:
    macs_per_s: float
    watts: float

    @property
    def key(self):
        return (self.macs_per_s, self.watts)

    default_objective = "latency"


def configure(spec, overrides=None):
    spec = spec.with_overrides(overrides)
    return Config(spec.get("macs_per_s", float, min=0, exclusive_min=True), spec.get("watts", float, min=0))


def _stage_s(macs, elements, config):
    return (macs + 0.1 * elements) / config.macs_per_s


def encode_layers(layers):
    return np.array([[l.macs, l.output_elements] for l in layers], dtype=np.float64).reshape(-1, 2)


def evaluate_sequences(layer_rows, sequences, lengths, config, objective):
    stage = _stage_s(layer_rows[:, 0], layer_rows[:, 1], config)
    stage = np.append(stage, 0.0)  # padding index -1 reads 0
    macs = np.append(layer_rows[:, 0], 0.0)
    mask = np.arange(sequences.shape[1])[None, :] < lengths[:, None]
    seq = np.where(mask, sequences, -1)
    per = stage[seq]
    latency = per.max(axis=1) * 8 + per.sum(axis=1)
    total_macs = macs[seq].sum(axis=1)
    return {"latency_ms": latency * 1e3, "energy_mj": latency * config.watts * 1e3,
            "throughput_gops": 2 * total_macs / latency / 1e9, "frames_per_s": 1.0 / latency}


def map_network(graph, config, objective):
    layers = graph.layers
    stages = [_stage_s(l.macs, l.output_elements, config) for l in layers]
    latency = max(stages) * 8 + sum(stages)
    costs = [LayerCost(l.macs, 0.0, s, {"compute": s * config.watts}, {}, 0.0, "stage") for l, s in zip(layers, stages)]
    return NetworkCost(costs, latency, latency * config.watts,
                       {"throughput_gops": 2 * graph.macs / latency / 1e9, "frames_per_s": 1.0 / latency})
