"""Sixteen random samples of every shared-structure family, velocity beside resistivity.

Each family of ``jointinv.synthetic.FAMILIES_SHARED`` draws 16 samples
(indices 0-15 of one seed) on a 1280 m x 640 m section of 10 m cells. Every
sample is shown as two panels side by side: velocity [m/s] in 1,400-4,500 and
log10 resistivity [log10 ohm m] in 0.3-3.5, painted on the same units. By
default the resistivity is linked to the velocity (``--relation``; scatter
0.15 in normalised units) and both carry a light Matérn texture
(``--texture``). One PNG per family is written to
``examples/output/families/<family>.png``.

Run::

    python examples/family_samples.py [--families layered dike] [--seed 0]
                                      [--relation correlated|anticorrelated|none]
                                      [--texture 0.02] [--output DIR]
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jointinv import Grid  # noqa: E402
from jointinv.synthetic import FAMILIES_SHARED, check_properties, draw_sample  # noqa: E402

GRID = Grid(nx=128, nz=64, dx=10.0, dz=10.0)
N_SAMPLES, N_COLUMNS = 16, 4
PANELS = {"velocity": ("velocity [m/s]", "viridis"),
          "log10 resistivity": ("log10 resistivity [log10 ohm m]", "RdYlBu_r")}


def properties(relation: str, texture: float) -> dict:
    """Velocity, and log10 resistivity linked to it by ``relation``."""
    return {"velocity": {"property": "velocity", "texture": texture},
            "log10 resistivity": {"property": "log10 resistivity", "texture": texture,
                                  "relation": {"to": "velocity", "kind": relation,
                                               "scatter": 0.15}}}


def plot_family(family: str, seed: int, table: dict, path: Path) -> None:
    """One figure: 16 samples of ``family``, two panels per sample."""
    n_rows = N_SAMPLES // N_COLUMNS
    ranges = {key: spec["range"] for key, spec in check_properties(table).items()}
    figure, axes = plt.subplots(n_rows, 2 * N_COLUMNS, figsize=(4.6 * N_COLUMNS, 1.35 * n_rows),
                                sharex=True, sharey=True, layout="constrained")
    images = {}
    for index in range(N_SAMPLES):
        models = draw_sample(family, GRID, index, seed, table)
        row, column = divmod(index, N_COLUMNS)
        for offset, (key, model) in enumerate(models.items()):
            low, high = ranges[key]
            ax = axes[row, 2 * column + offset]
            images[key] = ax.imshow(model.numpy(), extent=GRID.extent, cmap=PANELS[key][1],
                                    vmin=low, vmax=high, interpolation="nearest")
            ax.set_title(f"#{index} {'v' if offset == 0 else 'log rho'}", fontsize=7, pad=2)
            ax.tick_params(labelsize=6)
    for key, image in images.items():
        figure.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9, pad=0.01,
                        label=PANELS[key][0])
    figure.suptitle(f"family {family!r}, seed {seed}: {N_SAMPLES} samples "
                    f"(x, depth in m)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES_SHARED),
                        choices=list(FAMILIES_SHARED))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--relation", default="correlated",
                        choices=("correlated", "anticorrelated", "none"))
    parser.add_argument("--texture", type=float, default=0.02,
                        help="texture amplitude, a fraction of each range (default 0.02)")
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "output" / "families")
    args = parser.parse_args()
    table = properties(args.relation, args.texture)
    for family in args.families:
        start = time.perf_counter()
        path = args.output / f"{family}.png"
        plot_family(family, args.seed, table, path)
        print(f"{family:>13}: {path} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
