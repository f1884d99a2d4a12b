"""NFs-Inv cross-hole tomography, Cases 1 and 2: neural field vs conventional inversion.

Set-up of the NFs-Inv paper (seed document ``002``; the authors' notebooks
``Seismic/Case_1.ipynb``, ``Case_2.ipynb`` and ``Conventional.ipynb``):

- 64 x 128 unit cells (centres x = 0..63, z = 0..127), 65 sources in the left
  borehole and 65 receivers in the right one at depths ``linspace(0, 127, 65)``,
  all 4225 rays, the paper's Gaussian ray kernel (``kernel="gaussian"``),
  Gaussian noise of absolute standard deviation 20 (seeded);
- Case 1: a 19 x 19-cell block of slowness 5 (x 23-41, z 55-73) in a background
  of slowness 1;
- Case 2: an ellipse of slowness 8 (foci (x, z) = (25, 44) and (45, 74), sum of
  focal distances <= 40) on a Gaussian-random-field background
  ``1 + field`` (the ellipse is ``8 + field``), slowness clipped below at 0.3.
  The paper draws the field with gstools (Gaussian covariance, variance 0.9,
  lengths 9 and 5 cells rotated by pi / 8, seed 100); ``--background gstools``
  (the default) draws that same field — gstools is the cleanest way to
  reproduce the paper's realisation, so it is an optional dependency of the
  examples (``pip install -e ".[examples]"``), not of jointinv.
  ``--background matern`` uses :func:`jointinv.synthetic.gaussian_random_field`
  instead (Matérn, high smoothness, the same lengths, axis-aligned): the same
  kind of background, not the paper's realisation.

Methods:

- conventional: ``jointinv.invert`` with the project's Gauss-Newton defaults
  (smallness + smoothness on slowness, beta estimated and cooled to
  chi^2 = N), starting from slowness 1;
- neural field: :class:`jointinv.neural_field.NeuralField` with NFs-Inv's
  7-layer LeakyReLU MLP, basic positional encoding (Case 1) or 128 Gaussian
  Fourier features of scale 0.5 (Case 2) and the paper's ``10 tanh`` head,
  driving the linear slowness operator (``"traveltime_slowness"``, with
  ``allow_negative=True``: the field starts near zero slowness and may
  cross it), trained in float32 like the paper by Adam (lr 1e-3) on the
  data misfit alone (the paper's objective: ``Annealing("constant", 0)``)
  for 1000 / 4500 iterations (``--stop-at-target`` stops at chi^2 = N
  instead). ``--head softplus`` uses a positive ``softplus + 0.01`` head
  instead (slowness stays physical throughout).

Printed: RMSE in slowness against the true model, the paper's values, chi^2/N,
iterations and wall time. ``--svd K`` also computes the leading ``K`` singular
values and left-singular vectors of ``d slowness / d weights`` of each neural
field, untrained (same seed) and trained (:func:`jointinv.analysis.jacobian_svd`,
randomised SVD over ``jvp``/``vjp``), prints their wall time and plots them.

Run::

    python examples/nfsinv_traveltime.py [--cases 1 2] [--methods conventional neural]
                                         [--background gstools|matern]
                                         [--head tanh|softplus] [--output DIR]
                                         [--stop-at-target]
"""

import argparse

import numpy as np
import torch

import jointinv
from jointinv import Data, Grid
from jointinv.analysis import jacobian_svd, plot_jacobian_svd
from jointinv.neural_field import Annealing, NeuralField, OutputHead
from jointinv.plotting import plot_models
from jointinv.synthetic import gaussian_random_field

SIGMA = 20.0  # absolute noise standard deviation of the paper
PAPER_RMSE = {(1, "neural field"): 0.231, (2, "neural field"): 0.507,
              (1, "conventional"): 0.464, (2, "conventional"): 0.803}
ITERATIONS = {1: 1000, 2: 4500}


def crosshole(property_name: str = "velocity") -> jointinv.PhysicsOperator:
    """The paper's 65 x 65 cross-hole survey on 64 x 128 unit cells, Gaussian rays.

    ``property_name="slowness"`` gives the linear slowness operator that
    accepts negative values (for the paper's ``10 tanh`` field).
    """
    grid = Grid(nx=64, nz=128, dx=1.0, dz=1.0, x0=-0.5, z0=-0.5)
    depths = np.linspace(0.0, 127.0, 65)
    sources = np.column_stack([np.zeros_like(depths), depths])
    receivers = np.column_stack([np.full_like(depths, 63.0), depths])
    if property_name == "slowness":
        return jointinv.create_physics("traveltime_slowness", grid, sources, receivers,
                                       kernel="gaussian", allow_negative=True)
    return jointinv.create_physics("traveltime", grid, sources, receivers, kernel="gaussian")


def background_field(grid: Grid, generator: str) -> np.ndarray:
    """Case 2's Gaussian-random-field background ``(nz, nx)`` (zero mean, variance 0.9).

    ``"gstools"``: the paper's own field — gstools' Gaussian covariance,
    variance 0.9, length scales 9 and 5 cells rotated by pi / 8, seed 100, on
    the cell indices (needs ``pip install gstools``, the ``examples`` extra);
    ``"matern"``: :func:`jointinv.synthetic.gaussian_random_field`, a Matérn
    field of high smoothness with the same lengths, axis-aligned, seed 100 —
    the same kind of background, not the paper's realisation.
    """
    if generator == "gstools":
        import gstools

        covariance = gstools.Gaussian(dim=2, var=0.9, len_scale=[9, 5], angles=np.pi / 8)
        field = gstools.SRF(covariance, mean=0, seed=100).structured(
            [np.arange(grid.nx), np.arange(grid.nz)])
        return np.asarray(field).T  # gstools gives (x, z)
    # gstools' Gaussian covariance exp(-pi/4 (r/l)^2) is a Matern of infinite
    # smoothness with length l * sqrt(2 / pi) in jointinv's convention
    lengths = (5.0 * np.sqrt(2 / np.pi), 9.0 * np.sqrt(2 / np.pi))  # (z, x) in cells
    field = gaussian_random_field(grid.shape, lengths, smoothness=20.0, seed=100,
                                  dtype=torch.float64).numpy()
    return np.sqrt(0.9) * field


def true_slowness(case: int, grid: Grid, background: str = "gstools") -> torch.Tensor:
    """True slowness ``(nz, nx)`` of Case 1 or 2 (Case 2 on the ``background`` field)."""
    z, x = np.meshgrid(grid.cell_centers_z, grid.cell_centers_x, indexing="ij")
    if case == 1:
        slowness = np.ones(grid.shape)
        slowness[(x >= 23) & (x <= 41) & (z >= 55) & (z <= 73)] = 5.0
        return torch.as_tensor(slowness)
    slowness = 1.0 + background_field(grid, background)
    inside = np.hypot(x - 25, z - 44) + np.hypot(x - 45, z - 74) <= 40.0
    slowness[inside] += 7.0  # the ellipse is 8 + field
    return torch.as_tensor(np.maximum(slowness, 0.3))


def noisy_data(operator, slowness: torch.Tensor, seed: int = 0) -> Data:
    with torch.no_grad():
        clean = operator(1.0 / slowness)
    noise = jointinv.gaussian_noise(clean, SIGMA, seed)
    return Data(clean + noise, standard_deviation=torch.full_like(clean, SIGMA), clean=clean)


class TracedField(NeuralField):
    """A field that prints the RMSE of its slowness every ``every`` evaluations."""

    def trace(self, truth: torch.Tensor, every: int):
        self.truth, self.every, self.calls = truth, every, 0
        return self

    def forward(self):
        properties = super().forward()
        if getattr(self, "every", 0) and self.calls % self.every == 0:
            slowness = properties["slowness"].detach().double()
            rmse = float(((slowness - self.truth) ** 2).mean().sqrt())
            print(f"  evaluation {self.calls}: RMSE slowness {rmse:.3f}", flush=True)
        self.calls = getattr(self, "calls", 0) + 1
        return properties


def neural_field(case: int, grid: Grid, stop_at_target: bool, head: str = "tanh"):
    """NFs-Inv's field for Case 1 (basic encoding) or 2 (Gaussian features, scale 0.5)."""
    schedule = Annealing("constant", initial=0.0, stop_at_target=stop_at_target)
    # the paper's head: 10 tanh, slowness starting near 0; softplus + 0.01 keeps it positive
    output = (OutputHead("tanh", scale=10.0) if head == "tanh"
              else OutputHead("softplus", offset=0.01))
    if case == 1:
        return TracedField(grid, {"slowness": output}, encoding="basic", schedule=schedule)
    return TracedField(grid, {"slowness": output}, encoding="gaussian", n_features=128,
                       scale=0.5, widths=(256, 256, 256, 256, 256, 128), schedule=schedule)


def run(case: int, method: str, operators, data, truth, args):
    start = torch.ones_like(truth)  # slowness (and velocity) 1
    if method == "conventional":
        return jointinv.invert(operators["velocity"], data, start, true_model=1.0 / truth,
                               progress=False)
    operator = operators["slowness"]
    field = neural_field(case, operator.grid, args.stop_at_target, args.head)
    field.trace(truth, args.trace)
    iterations = args.iterations or ITERATIONS[case]
    untrained = jacobian_svd(field, k=args.svd, block=8) if args.svd else None
    # float32 like the paper: twice as fast on a CPU, and ample for a 9 % noise level
    result = jointinv.invert(operator, data.to(torch.float32), start.float(),
                             true_model=truth.float(), solver="adam",
                             lr=1e-3, beta=1.0, parameterization=field,
                             max_iterations=iterations, progress=args.progress)
    if args.svd:
        trained = jacobian_svd(field, k=args.svd, block=8)
        print(f"  SVD of d slowness / d weights ({trained.n_parameters} weights, k={args.svd}, "
              f"{trained.method}): {untrained.wall_time:.0f} s untrained, "
              f"{trained.wall_time:.0f} s trained; leading singular values untrained "
              f"{np.round(untrained.singular_values[:5].numpy(), 2)}, trained "
              f"{np.round(trained.singular_values[:5].numpy(), 2)}", flush=True)
        plot_jacobian_svd({"untrained": untrained, "trained": trained}, operator.grid,
                          f"{args.output}/case_{case}_svd.png")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument("--methods", nargs="+", default=["conventional", "neural"],
                        choices=["conventional", "neural"])
    parser.add_argument("--iterations", type=int, default=None,
                        help="neural-field iterations (default: the paper's 1000 / 4500)")
    parser.add_argument("--stop-at-target", action="store_true")
    parser.add_argument("--background", default="gstools", choices=["gstools", "matern"],
                        help="Case 2's random background (default: %(default)s, the paper's)")
    parser.add_argument("--head", default="tanh", choices=["tanh", "softplus"],
                        help="neural-field output head (default: the paper's 10 tanh)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--trace", type=int, default=0, metavar="N",
                        help="print the neural field's RMSE every N evaluations")
    parser.add_argument("--svd", type=int, default=0, metavar="K",
                        help="also the K leading singular vectors of each field's Jacobian")
    parser.add_argument("--output", default="examples/output/nfsinv_traveltime")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    operators = {name: crosshole(name) for name in ("velocity", "slowness")}
    operator = operators["velocity"]
    rows = []
    for case in args.cases:
        truth = true_slowness(case, operator.grid, args.background)
        data = noisy_data(operator, truth)
        ratio = float((data.observed - data.clean).norm() / data.clean.norm())
        print(f"Case {case}: {data.n_data} rays, ||noise||/||data|| = {ratio:.3f}", flush=True)
        panels = {"true slowness": truth}
        for method in args.methods:
            label = "neural field" if method == "neural" else "conventional"
            result = run(case, method, operators, data, truth, args)
            name = "velocity" if method == "conventional" else "slowness"
            model = result.model.double()
            slowness = 1.0 / model if name == "velocity" else model
            rmse = float(((slowness - truth) ** 2).mean().sqrt())
            chi = result.misfit(name) / data.n_data
            rows.append((case, label, rmse, PAPER_RMSE[case, label], chi,
                         result.n_iterations, result.wall_time))
            print(f"  {label}: RMSE {rmse:.3f} (paper {PAPER_RMSE[case, label]}), "
                  f"chi^2/N {chi:.3f}, {result.n_iterations} iterations, "
                  f"{result.wall_time:.0f} s", flush=True)
            result.save(f"{args.output}/case_{case}_{method}")
            panels[label] = slowness
        plot_models(panels, operator.grid, f"{args.output}/case_{case}.png",
                    title=f"NFs-Inv Case {case}", units="s/m", property_name="slowness")
    print("\n| case | method | RMSE slowness | paper | chi^2/N | iterations | time [s] |")
    print("|---|---|---|---|---|---|---|")
    for case, label, rmse, paper, chi, n, seconds in rows:
        print(f"| {case} | {label} | {rmse:.3f} | {paper:.3f} | {chi:.3f} | {n} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
