"""Borehole ERT study: cross-hole + surface DC beside cross-hole travel times.

The coupling study's grid (80 x 40 cells of 2.5 m) and geologies
(``examples/coupling_study.py``), its 33 x 33 cross-hole travel times (2 %
noise) and its surface DC line (33 electrodes, dipole-dipole n <= 8), plus
cross-hole ERT in the same two boreholes (x = 0 and 200 m): 16 electrodes
per hole from 1.25 to 98.75 m, bipole-bipole AM-BN (A and M in the left
hole, B and N in the right one, 240 data; 452 with the surface line), 3 %
noise. Observed DC data are simulated on a finer mesh than any set-up
inverts with (octree, cells 8 times smaller around every electrode), so no
set-up sees its own discretisation error as data.

For each geology the script runs:

- independent DC with the former default mesh (the grid's cells plus
  padding), without and with ``sensitivity_weighting``, and with the current
  default for buried electrodes (octree refined around the electrodes,
  :func:`jointinv.simpeg.electrode_refined_mesh`);
- independent, ``cross_gradient``, structure-guided smoothness
  (``edge_contrast``) and ``petrophysical`` inversions with the current
  default, as in the coupling study;

and writes a table (RMSE per property, chi^2/N per data set, wall time
relative to independent; for the DC set-ups also the RMSE below 45 m near the
holes and in the centre between them), the mesh accuracy (half-space data against the
exact apparent resistivity, and the true model's data against the fine
mesh) and a figure per geology to ``--output``.

Run::

    python examples/borehole_ert_study.py [--geologies ...] [--methods ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from coupling_study import COMBINATIONS, GEOLOGIES, GRID, PREVIOUS_DEFAULT, setups_for
from jointinv.physics.dc_borehole import crosshole_bipoles, join_surveys
from jointinv.physics.dc_survey import surface_line
from jointinv.physics.dcresistivity import DCResistivity2D
from matplotlib.figure import Figure

from jointinv import PhysicsSetup
from jointinv.joint_cases import DEMO_JOINT_METHOD
from jointinv.plotting import plot_model_grid
from jointinv.simpeg import electrode_refined_mesh
from jointinv.strategies import run_strategy

N_LEVELS = 16
DC_NOISE = 0.03
#: DC set-ups compared on their own: (label, operator keywords, sensitivity weighting)
DC_SETUPS = {
    "before: grid-cell mesh": ({"electrode_refinement": 1}, False),
    "before: grid-cell mesh + sensitivity_weighting": ({"electrode_refinement": 1}, True),
    "after: electrode-refined mesh (default)": ({}, False),
}
#: ``{method: (strategy, options)}`` run beside independent DC on the borehole layout.
METHODS = {
    "independent": ("independent", {}),
    "cross_gradient": ("cross_gradient", {}),
    "structure_guided": ("joint", {"coupling": None, "edge_contrast": 0.05,
                                   "hold_iterations": 5}),
    "petrophysical": ("joint", {"coupling": {"kind": "petrophysical", "weight": 0.3},
                                "hold_iterations": 5}),
    "default": ("joint", {k: v for k, v in DEMO_JOINT_METHOD.items()
                          if k not in ("name", "label")}),
    # the demo's default until 2 December 2026: the mixture fitted to every cell alike
    "previous default": COMBINATIONS[PREVIOUS_DEFAULT[0]][2](PREVIOUS_DEFAULT[1]),
}
COUPLED = tuple(METHODS)


def borehole_survey():
    """Surface line plus AM-BN cross-hole bipoles in the travel-time boreholes.

    Returns the survey and its number of surface data (they come first).
    """
    depths = np.linspace(GRID.cell_centers_z[0], GRID.cell_centers_z[-1], N_LEVELS)
    left = np.column_stack([np.full(N_LEVELS, GRID.x0), depths])
    right = np.column_stack([np.full(N_LEVELS, GRID.x_max), depths])
    line = surface_line("dipole-dipole", 20.0, 180.0, 5.0, n_max=8, surface_depth=GRID.z0)
    return join_surveys(line, crosshole_bipoles(left, right)), line.n_data


def reference_operator(survey):
    """The finest mesh here: observed data and the accuracy reference."""
    return DCResistivity2D(GRID, survey, mesh=electrode_refined_mesh(GRID, survey.electrodes, 8))


def mesh_accuracy(survey, n_surface, reference, resistivity) -> list[str]:
    """Half-space error against the exact value, and error against the fine mesh."""
    half_space = torch.full(GRID.shape, 2.0, dtype=torch.float64)
    fine = reference(resistivity).numpy()
    lines = ["| mesh | cells | forward [s] | half-space error surface max / mean | "
             "cross-hole max / mean | true model vs fine mesh: surface max / mean | "
             "cross-hole max / mean |", "|---|---|---|---|---|---|---|"]
    for label, keywords in (("grid cells + padding (former default)", {"electrode_refinement": 1}),
                            ("octree, electrode_refinement=2 (default)", {}),
                            ("octree, electrode_refinement=4", {"electrode_refinement": 4}),
                            ("octree, electrode_refinement=8 (reference)", None)):
        operator = reference if keywords is None else DCResistivity2D(GRID, survey, **keywords)
        start = time.perf_counter()
        exact = np.abs(operator(half_space).numpy() / 100.0 - 1.0)
        seconds = time.perf_counter() - start
        versus = np.abs(operator(resistivity).numpy() / fine - 1.0)
        cells = [f"{100 * part.max():.2f} / {100 * part.mean():.2f} %"
                 for error in (exact, versus) for part in (error[:n_surface], error[n_surface:])]
        lines.append(f"| {label} | {operator.mesh.n_cells} | {seconds:.1f} | " + " | ".join(cells)
                     + " |")
        print(lines[-1], flush=True)
    return lines


def dc_setup(survey, data, resistivity, keywords, weighting):
    operator = DCResistivity2D(GRID, survey, **keywords)
    start = torch.full(GRID.shape, float(torch.log10(torch.median(data.observed))),
                       dtype=torch.float64)
    return PhysicsSetup(operator, data, start, true_model=resistivity,
                        sensitivity_weighting=weighting)


def rmse(model, true) -> float:
    return float((model - true).pow(2).mean().sqrt())


#: Regions of the deep section (below DEEP m) where a DC image is judged: within NEAR m of
#: either hole (where the cross-hole bipoles sense it), and the centre between them.
DEEP, NEAR = 45.0, 20.0


def regional_rmse(model, true) -> tuple[float, float]:
    """RMSE ``(near the holes, centre)`` below ``DEEP``: an image dominated by near-electrode
    artifacts errs most near the holes; one limited by the holes' reach errs most between them.
    """
    z = torch.as_tensor(GRID.cell_centers_z)[:, None].expand(GRID.shape)
    x = torch.as_tensor(GRID.cell_centers_x)[None, :].expand(GRID.shape)
    distance = torch.minimum(x - GRID.x0, GRID.x_max - x)
    deep = z >= DEEP
    error = (torch.as_tensor(model) - true) ** 2
    near, centre = deep & (distance <= NEAR), deep & (distance >= 50.0)
    return float(error[near].mean().sqrt()), float(error[centre].mean().sqrt())


def plot(path, geology, resistivity, models, survey):
    electrodes = survey.electrodes
    panels = [("true model", resistivity)] + list(models.items())
    figure = Figure(figsize=(7, 2.6 * len(panels)), layout="constrained")
    axes = figure.subplots(len(panels), 1)
    for axis, (title, model) in zip(axes, panels):
        image = axis.imshow(np.asarray(model), extent=GRID.extent, cmap="jet_r", vmin=0.5,
                            vmax=3.3, aspect="equal")
        axis.plot(electrodes[:, 0], electrodes[:, 1], "k.", markersize=3, clip_on=False)
        label = title if title == "true model" else \
            f"{title}: RMSE {rmse(torch.as_tensor(model), resistivity):.3f}"
        axis.set_title(label, fontsize=9)
        axis.set_ylabel("depth [m]")
    axes[-1].set_xlabel("x [m]")
    figure.colorbar(image, ax=axes, label="log10 resistivity [log10 ohm m]", shrink=0.6)
    figure.suptitle(f"{geology}: independent DC, cross-hole + surface ERT")
    figure.savefig(path, dpi=90)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--geologies", nargs="+", default=["faulted_three_layers",
                                                           "dipping_dike_under_cover"],
                        choices=GEOLOGIES)
    parser.add_argument("--methods", nargs="*", default=list(COUPLED), choices=COUPLED)
    parser.add_argument("--max-iterations", type=int, default=30)
    parser.add_argument("--accuracy", action="store_true", help="also tabulate mesh accuracy")
    parser.add_argument("--electrode-refinements", nargs="*", type=int, default=[],
                        help="extra independent DC rows with these electrode_refinement values")
    parser.add_argument("--output", default="examples/borehole_ert")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    survey, n_surface = borehole_survey()
    reference = reference_operator(survey)
    lines = [f"survey: {survey}", ""]
    if args.accuracy:
        _, resistivity = GEOLOGIES["faulted_three_layers"]()
        lines += ["## Mesh accuracy (faulted_three_layers for the true model)", ""]
        lines += mesh_accuracy(survey, n_surface, reference, resistivity) + [""]
    for geology in args.geologies:
        velocity, resistivity = GEOLOGIES[geology]()
        data = reference.simulate(resistivity, relative_error=DC_NOISE, seed=0)
        lines += [f"## {geology}", "", "| DC set-up | RMSE log10 rho | near the holes | centre | "
                  "chi2/N DC | time [s] |", "|---|---|---|---|---|---|"]
        models = {}
        dc_setups = dict(DC_SETUPS)
        for value in args.electrode_refinements:
            dc_setups[f"electrode_refinement={value}"] = ({"electrode_refinement": value}, False)
        for label, (keywords, weighting) in dc_setups.items():
            setup = dc_setup(survey, data, resistivity, keywords, weighting)
            result = run_strategy("independent", {"dcr": setup}, progress=False,
                                  max_iterations=args.max_iterations)
            models[label] = result.models["dcr"]
            near, centre = regional_rmse(models[label], resistivity)
            lines.append(f"| {label} | {rmse(models[label], resistivity):.3f} | {near:.3f} | "
                         f"{centre:.3f} | {result.misfit('dcr') / data.n_data:.2f} | "
                         f"{result.wall_time:.0f} |")
            print(lines[-1], flush=True)
        plot(output / f"{geology}_dc.png", geology, resistivity, models, survey)
        if args.methods:
            lines += ["", "| method | RMSE v [m/s] | RMSE log10 rho | chi2/N TT | chi2/N DC | "
                      "time / independent |", "|---|---|---|---|---|---|"]
        setups = {"traveltime": setups_for(geology)["traveltime"],
                  "dcr": dc_setup(survey, data, resistivity, {}, False)}
        reference_time = None
        coupled = {"true": {"velocity": velocity, "log10 resistivity": resistivity}}
        for method in args.methods:
            strategy, options = METHODS[method]
            result = run_strategy(strategy, setups, progress=False,
                                  max_iterations=args.max_iterations, **options)
            coupled[method] = {"velocity": result.models["traveltime"],
                               "log10 resistivity": result.models["dcr"]}
            reference_time = reference_time or result.wall_time
            lines.append(
                f"| {method} | {rmse(result.models['traveltime'], velocity):.1f} | "
                f"{rmse(result.models['dcr'], resistivity):.3f} | "
                f"{result.misfit('traveltime') / setups['traveltime'].data.n_data:.2f} | "
                f"{result.misfit('dcr') / data.n_data:.2f} | "
                f"{result.wall_time / reference_time:.2f} ({result.wall_time:.0f} s) |")
            print(lines[-1], flush=True)
        if args.methods:
            plot_model_grid(list(coupled), ["velocity", "log10 resistivity"], coupled,
                            setups["traveltime"].operator.grid,
                            output / f"{geology}_methods.png", units=["m/s", "log10 ohm m"],
                            title=f"{geology}: cross-hole travel times + cross-hole and "
                                  "surface ERT")
        lines.append("")
        # one file per run, so that runs over different geologies can go in parallel
        name = "_".join(args.geologies) + ("_accuracy" if args.accuracy else "")
        (output / f"results_{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
