"""One network, two physics: velocity and log10 resistivity of a built-in joint case.

A coordinate MLP with two outputs (NFs-Inv's network, :class:`jointinv.neural_field.NeuralField`)
gives the velocity [m/s] (through a slowness head) and the log10 resistivity
of :func:`jointinv.joint_cases.joint_case` ``("dike")`` — cross-hole travel
times and a surface dipole-dipole DC line over a 45-degree dike on 40 x 20
cells — or of the built-in ``"fault"`` case (``--case fault``). The shared
hidden layers are the only coupling. Compared:

- independent and cross-gradient joint inversion of cell models (the
  project's Gauss-Newton defaults);
- two independent neural fields (one network per physics);
- one neural field with two outputs, uncoupled and with the cross-gradient
  term;
- the same with a deep image prior (FAD-FWI's U-Net fed a fixed Matérn
  field, :class:`jointinv.deep_image_prior.DeepImagePrior`): two independent
  priors, and one U-Net with two output channels (one prior, shared structure
  by construction), uncoupled and with the cross-gradient term.

Neural fields: Adam (lr 1e-3) on NFs-Inv's annealed objective
``(1 - b(t)) phi_d + b(t) phi_m`` (``b(t) = exp(-t / decay)``; ``phi_m``: each
physics' smallness + smoothness times its estimated beta, plus the coupling),
stopping when both data sets reach chi^2 = N or after ``--iterations``.
Sigmoid heads bound slowness to 1/2600..1/1200 s/m and log10 resistivity to
0.5..2.5. Deep image priors: pre-trained to the starting models (200 Adam
steps), then Adam (lr 1e-3) on the project's
usual objective (beta cooling), stopping when both data sets reach chi^2 = N
or after ``--iterations``. Their heads (``--prior-head``): bounded ``tanh``
(default) spanning the same ranges as the fields' heads, or ``linear`` around
the start (5 % of its mean per unit output), which can leave the physical range
(log10 resistivity -14 on the dike case): a method that fails is reported and
the study goes on.

Printed per method and property: RMSE, SSIM, chi^2/N, the cross-gradient
similarity of the two recovered models (0 = same structure), iterations and
wall time.

Run::

    python examples/nfsinv_joint_dike.py [--case dike|fault] [--iterations 1500] [--decay 150]
                                         [--output DIR]
"""

import argparse
import time

from jointinv import PhysicsSetup
from jointinv.deep_image_prior import DeepImagePrior
from jointinv.joint_cases import joint_case
from jointinv.neural_field import Annealing, NeuralField, OutputHead
from jointinv.plotting import plot_models
from jointinv.strategies import run_strategy

HEADS = {"traveltime": OutputHead("sigmoid", lower=1 / 2600, upper=1 / 1200, map="reciprocal"),
         "dcr": OutputHead("sigmoid", lower=0.5, upper=2.5)}


def field(grid, keys, decay: float, seed: int = 0) -> NeuralField:
    schedule = Annealing("exponential", initial=1.0, final=0.0, decay=decay)
    return NeuralField(grid, {key: HEADS[key] for key in keys}, encoding="basic",
                       schedule=schedule, seed=seed)


#: Ranges of the deep image priors' tanh heads: velocity [m/s], log10 resistivity.
PRIOR_RANGES = {"traveltime": (1200.0, 2600.0), "dcr": (0.5, 2.5)}


def prior(grid, setups, keys, head: str, seed: int = 0) -> DeepImagePrior:
    """A U-Net prior with one output channel per key, pre-trained to the starts."""
    starts = {key: setups[key].initial_model for key in keys}
    bounds = {} if head == "linear" else dict(
        offset={k: sum(PRIOR_RANGES[k]) / 2 for k in keys},
        scale={k: (PRIOR_RANGES[k][1] - PRIOR_RANGES[k][0]) / 2 for k in keys})
    module = DeepImagePrior(grid, starts, head=head, seed=seed, **bounds)
    module.pretrain(starts, steps=200)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="dike", choices=["dike", "fault"],
                        help="built-in joint case (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--decay", type=float, default=150.0)
    parser.add_argument("--prior-head", default="tanh", choices=["tanh", "linear"],
                        help="head of the deep image priors (default: %(default)s)")
    parser.add_argument("--output", default="examples/output/nfsinv_joint_dike")
    parser.add_argument("--methods", nargs="+", default=None,
                        help="subset of: independent cross_gradient nf_independent nf_joint "
                             "nf_joint_cross_gradient dip_independent dip_joint "
                             "dip_joint_cross_gradient")
    args = parser.parse_args()

    cases = joint_case(args.case)
    setups = {key: PhysicsSetup(c.operator, c.data, c.initial_model, true_model=c.true_model)
              for key, c in cases.items()}
    grid = cases["traveltime"].operator.grid
    nf = dict(solver="adam", lr=1e-3, max_iterations=args.iterations, progress=False)

    def dip(keys, seed=0):
        return prior(grid, setups, keys, args.prior_head, seed=seed)

    methods = {
        "independent": lambda: run_strategy("independent", setups, progress=False),
        "cross_gradient": lambda: run_strategy("cross_gradient", setups, progress=False),
        "nf_independent": lambda: run_strategy(
            "independent", setups, parameterization={k: field(grid, [k], args.decay, seed=i)
                                                     for i, k in enumerate(setups)}, **nf),
        "nf_joint": lambda: run_strategy("joint", setups, coupling=None,
                                         parameterization=field(grid, setups, args.decay), **nf),
        "nf_joint_cross_gradient": lambda: run_strategy(
            "cross_gradient", setups, parameterization=field(grid, setups, args.decay), **nf),
        "dip_independent": lambda: run_strategy(
            "independent", setups, parameterization={k: dip([k], seed=i)
                                                     for i, k in enumerate(setups)}, **nf),
        "dip_joint": lambda: run_strategy("joint", setups, coupling=None,
                                          parameterization=dip(setups), **nf),
        "dip_joint_cross_gradient": lambda: run_strategy(
            "cross_gradient", setups, parameterization=dip(setups), **nf),
    }
    chosen = args.methods or list(methods)
    unknown = sorted(set(chosen) - set(methods))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(methods)}")
    rows, panels = [], {"true velocity": cases["traveltime"].true_model,
                        "true log10 resistivity": cases["dcr"].true_model}
    for name in chosen:
        start = time.perf_counter()
        try:
            result = methods[name]()
        except ValueError as error:  # e.g. a prior that left the operator's range
            print(f"{name}: failed ({error})", flush=True)
            continue
        seconds = time.perf_counter() - start
        metrics = result.metrics
        for key, row in metrics.items():
            rows.append((name, key, row["rmse"], row["ssim"], row["chi_squared_per_datum"],
                         row.get("ncg_between_models", float("nan")), row["iterations"],
                         seconds))
        print(f"{name}: done in {seconds:.0f} s ({result.method})", flush=True)
        result.save(f"{args.output}/{name}")
        panels[f"{name} velocity"] = result.models["traveltime"]
        panels[f"{name} log10 resistivity"] = result.models["dcr"]
    plot_models({k: v for k, v in panels.items() if "velocity" in k}, grid,
                f"{args.output}/velocity.png", units="m/s", property_name="velocity")
    plot_models({k: v for k, v in panels.items() if "resistivity" in k}, grid,
                f"{args.output}/log10_resistivity.png", units="log10 ohm m",
                property_name="log10 resistivity")
    print("\n| method | property | RMSE | SSIM | chi^2/N | cross-gradient between models "
          "| iterations | time [s] |")
    print("|---|---|---|---|---|---|---|---|")
    for name, key, rmse, ssim, chi, ncg, n, seconds in rows:
        print(f"| {name} | {key} | {rmse:.4g} | {ssim:.3f} | {chi:.2f} | {ncg:.3f} | {n} | "
              f"{seconds:.0f} |")


if __name__ == "__main__":
    main()
