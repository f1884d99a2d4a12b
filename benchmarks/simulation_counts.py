"""How many simulations an inversion runs: one Gauss-Newton iteration, 10 Adam or L-BFGS steps.

N Adam steps take N + 1 simulations and N adjoints: one evaluation per step
gives the gradient, the history row and the stopping test, and the last one
(after the last step) gives the final misfit and predicted data. L-BFGS
reuses its accepted line-search trial as the next iteration's evaluation,
so it needs more only when the line search brackets.

Counts, on each plugin's ``example_case()``:

- ``forward``: calls of the operator's ``_forward`` (a full simulation; the
  forward-mode Jacobian product runs one too, with a tangent);
- ``adjoint``: backward (adjoint) sweeps of the wave solver, or ``Jtvec``
  calls of a SimPEG simulation;
- ``fields``: SimPEG field solves (one factorisation per wavenumber each).

Usage: ``python benchmarks/simulation_counts.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse

import torch

import jointinv


def _counting(operator):
    counts = {"forward": 0, "adjoint": 0}
    forward = operator._forward

    def counted_forward(model):
        counts["forward"] += 1
        return forward(model)

    operator._forward = counted_forward
    bridge = getattr(operator, "bridge", None)
    if bridge is not None:
        jtvec = bridge.Jtvec

        def counted_jtvec(m, u):
            counts["adjoint"] += 1
            return jtvec(m, u)

        bridge.Jtvec = counted_jtvec
    return counts


def _patch_wave_adjoint(counts):
    from jointinv.physics import acoustic_checkpoint

    original = acoustic_checkpoint._adjoint_sweep

    def counted(*args, **kwargs):
        counts["adjoint"] += 1
        return original(*args, **kwargs)

    acoustic_checkpoint._adjoint_sweep = counted
    return lambda: setattr(acoustic_checkpoint, "_adjoint_sweep", original)


def measure(name: str, solver: str, iterations: int, beta):
    operator, model = jointinv.load_physics(name).example_case()
    observed = operator.simulate(model, relative_error=0.02,
                                 noise_floor=1e-3 * float(operator(model).abs().max()), seed=1)
    start = model * 0.97 if name != "dcr" else model - 0.1
    counts = _counting(operator)
    restore = _patch_wave_adjoint(counts) if name == "acoustic" else (lambda: None)
    fields_before = operator.bridge.n_fields_computed if hasattr(operator, "bridge") else 0
    try:
        options = {"cg_max_iterations": 5} if solver == "gauss_newton" else {}
        jointinv.invert(operator, observed, start, solver=solver, max_iterations=iterations,
                        beta=beta, progress=False, **options)
    finally:
        restore()
    if hasattr(operator, "bridge"):
        counts["fields"] = operator.bridge.n_fields_computed - fields_before
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--physics", nargs="+", default=["acoustic", "dcr"])
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    print("| physics | run | forward | adjoint | SimPEG fields |")
    print("|---|---|---|---|---|")
    for name in args.physics:
        for label, solver, iterations, beta in (
                ("1 GN iteration, 5 CG steps, beta given", "gauss_newton", 1, 1.0),
                ("1 GN iteration, 5 CG steps, beta estimated", "gauss_newton", 1, None),
                ("10 Adam steps", "adam", 10, 1.0),
                ("10 L-BFGS steps", "lbfgs", 10, 1.0)):
            counts = measure(name, solver, iterations, beta)
            print(f"| {name} | {label} | {counts['forward']} | {counts['adjoint']} | "
                  f"{counts.get('fields', '-')} |")


if __name__ == "__main__":
    main()
