"""DARTS-style architecture steps with the learned predictor's latency as a loss term (issue 17).

The architecture weights are DARTS' alphas (normal and reduction cell, 14 edges x 8 ops each); the loss is

    task(softmax(alphas)) + lam * predicted_latency_ms(softmax(alphas))

(with ``--target throughput_fps``, e.g. on the pipeline paradigm ``--arch fpga-e2e-large``, the cost term is the
predicted period, 1000 / predicted fps, in ms per frame)

and a few hundred Adam steps on the alphas alone are taken for each lam. The task loss here is a TOY stand-in,
not accuracy: the cross-entropy toward DARTS_V2's cell (it pulls every edge to DARTS_V2's op, or to `none` where
DARTS_V2 has no edge), so that lam = 0 derives DARTS_V2 and a rising lam trades it for cheaper ops. Each derived
network (DARTS' rule: per node the two edges whose strongest op other than `none` is strongest, with that op)
is re-costed with `accelmodel.estimate` on the CIFAR-10 network EH-DNAS searches (C = 16, 8 cells).

Run: python examples/darts_latency_search.py [--arch generic-large] [--target latency_ms] [--steps 300]
(needs the `learned` extra)
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np
import torch

import accelmodel
from accelmodel import datasets, predictor

darts = importlib.import_module("accelmodel.workloads.darts")


def derive(probs: torch.Tensor) -> darts.Genotype:
    """DARTS' derivation (quark0/darts model_search.py `genotype`) from per-edge op probabilities [2, 14, 8]."""
    cells = []
    for cell in probs.detach().numpy():
        ops = []
        for k in range(darts.STEPS):
            first = darts.EDGE_INDEX[(k, 0)]
            edges = cell[first:first + k + 2]
            best = sorted(range(k + 2), key=lambda j: -edges[j][1:].max())[:2]
            ops += [(darts.PRIMITIVES[1 + int(edges[j][1:].argmax())], j) for j in sorted(best)]
        cells.append(ops)
    return darts.Genotype(cells[0], list(darts.CONCAT), cells[1], list(darts.CONCAT))


def target_alphas(genotype) -> torch.Tensor:
    """One-hot op targets of a genotype over the 14 edges of each cell (`none` where it has no edge)."""
    t = torch.zeros(2, darts.NUM_EDGES, dtype=torch.long)
    for c, ops in enumerate((genotype.normal, genotype.reduce)):
        for pos, (op, state) in enumerate(ops):
            t[c, darts.EDGE_INDEX[(pos // 2, state)]] = darts.PRIMITIVES.index(op)
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="generic-large")
    parser.add_argument("--train", type=int, default=10_000, help="training networks for the predictor")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--target", default="latency_ms", choices=("latency_ms", "throughput_fps"))
    parser.add_argument("--lams", default="0,0.1,0.3,0.5,1,3,30")
    args = parser.parse_args()

    start = time.perf_counter()
    frame = datasets.build("darts", args.arch, "cifar10", sample=args.train, seed=0)
    model = predictor.fit(frame, target=args.target)
    print(f"predictor: {args.train:,} DARTS networks on {args.arch}, built and fitted in "
          f"{time.perf_counter() - start:.1f} s ({model.info['mlp']})")
    predicted = model.torch_module()
    if args.target == "throughput_fps":
        def cost(probs):                                      # ms per frame
            return 1e3 / predicted(probs)
    else:
        cost = predicted
    goal = target_alphas(darts.DARTS_V2)
    unit = "ms/frame" if args.target == "throughput_fps" else "ms"
    print(f"{'lam':>6} {'task':>7} {'predicted ' + unit:>18} {'estimate() ' + unit:>19}  derived normal cell ops")
    for lam in (float(x) for x in args.lams.split(",")):
        torch.manual_seed(0)
        alphas = (1e-3 * torch.randn(2, darts.NUM_EDGES, len(darts.PRIMITIVES))).requires_grad_()
        opt = torch.optim.Adam([alphas], lr=0.05)
        for _ in range(args.steps):
            probs = torch.softmax(alphas, dim=-1)
            task = torch.nn.functional.cross_entropy(alphas.reshape(-1, len(darts.PRIMITIVES)), goal.reshape(-1))
            loss = task + lam * cost(probs)
            opt.zero_grad()
            loss.backward()
            opt.step()
        genotype = derive(torch.softmax(alphas, dim=-1))
        net = darts.darts(genotype, "cifar10", C=16, layers=8)
        est = accelmodel.estimate(net, args.arch)
        mine = float(model.predict([genotype])[0])
        if args.target == "throughput_fps":     # the pipeline's frames/s, else one frame after another
            mine, theirs = 1e3 / mine, 1e3 / est.extra.get("frames_per_s", 1e3 / est.latency_ms)
        else:
            theirs = est.latency_ms
        ops = " ".join(op for op, _ in genotype.normal)
        print(f"{lam:6g} {task.item():7.3f} {mine:18.4f} {theirs:19.4f}  {ops}")


if __name__ == "__main__":
    main()
