"""Neural fields as a model parameterization (NFs-Inv) for any physics.

:class:`NeuralField` evaluates a coordinate MLP (:class:`jointinv.networks.CoordinateMLP`)
at the cell centres of a :class:`jointinv.Grid` and turns each output into a
property through an :class:`OutputHead` (a bounded or positive activation and
a map, e.g. slowness -> velocity). One network may produce several properties
(velocity and log10 resistivity for a joint inversion). It is a
:class:`jointinv.parameterizations.Parameterization`, so ``jointinv.invert``
and every strategy drive it with Adam or L-BFGS.

:class:`Annealing` is NFs-Inv's objective ``(1 - beta(t)) phi_d + beta(t) phi_m``
with ``beta(t)`` decaying over the iterations; without it a field minimises the
project's ``phi_d + beta phi_m`` (beta cooled as by every solver) like any parameterization.
"""

from __future__ import annotations

import math
import numbers

import torch

from .grid import Grid, check_grid
from .maps import Map, get_map
from .networks import CoordinateMLP, PositionalEncoding
from .parameterizations import Parameterization
from .validation import check_choice, check_nonnegative_int, check_positive_float

__all__ = ["OutputHead", "Annealing", "NeuralField", "HEADS", "SCHEDULES"]

HEADS = ("tanh", "sigmoid", "softplus", "none")
SCHEDULES = ("exponential", "linear", "constant")


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)


class OutputHead:
    """Activation from one raw network output to an inversion variable, then a map.

    Parameters
    ----------
    kind : {"tanh", "sigmoid", "softplus", "none"}, default "none"
        ``"tanh"``: ``scale * tanh(y) + offset`` (in ``offset -/+ scale``);
        ``"sigmoid"``: ``lower + (upper - lower) * sigmoid(y)`` (in ``(lower, upper)``,
        e.g. log10 resistivity bounds); ``"softplus"``: ``scale * softplus(y) + offset``
        (above ``offset``: positivity); ``"none"``: ``scale * y + offset``.
    scale : float, default 1
        > 0; not used by ``"sigmoid"``.
    offset : float, default 0
        Not used by ``"sigmoid"``.
    lower, upper : float, optional
        ``"sigmoid"`` only (required there), ``lower < upper``.
    map : str or jointinv.maps.Map, default "identity"
        ``property = map(variable)``, e.g. ``"reciprocal"`` for a head that
        outputs slowness [s/m] driving a velocity [m/s] operator.
    """

    def __init__(self, kind: str = "none", scale: float = 1.0, offset: float = 0.0,
                 lower: float | None = None, upper: float | None = None,
                 map: str | Map = "identity"):
        self.kind = check_choice("kind", kind, HEADS)
        self.map = get_map(map)
        if kind == "sigmoid":
            if lower is None or upper is None:
                raise ValueError(f"kind='sigmoid' needs both lower and upper, got lower={lower}, "
                                 f"upper={upper}")
            self.lower, self.upper = _check_real("lower", lower), _check_real("upper", upper)
            if not self.lower < self.upper:
                raise ValueError(f"lower must be < upper, got lower={lower}, upper={upper}")
            self.scale, self.offset = self.upper - self.lower, self.lower
        else:
            if lower is not None or upper is not None:
                raise ValueError(f"lower and upper are for kind='sigmoid'; kind={kind!r} got "
                                 f"lower={lower}, upper={upper}")
            self.scale = check_positive_float("scale", scale)
            self.offset = _check_real("offset", offset)

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        """The inversion variable from the raw network output (same shape)."""
        if self.kind == "tanh":
            return self.scale * torch.tanh(raw) + self.offset
        if self.kind == "sigmoid":
            return self.scale * torch.sigmoid(raw) + self.offset
        if self.kind == "softplus":
            return self.scale * torch.nn.functional.softplus(raw) + self.offset
        return self.scale * raw + self.offset

    def __repr__(self) -> str:
        return (f"OutputHead(kind={self.kind!r}, scale={self.scale:g}, offset={self.offset:g}, "
                f"map={self.map.name!r})")


class Annealing:
    """NFs-Inv's annealed objective ``(1 - beta(t)) phi_d + beta(t) phi_m``.

    ``phi_d`` is the sum of the chi-squared data misfits and ``phi_m`` the
    problem's model terms (each regularization times its beta, plus
    couplings); ``t`` is the iteration.

    Parameters
    ----------
    kind : {"exponential", "linear", "constant"}, default "exponential"
        ``beta(t) = final + (initial - final) * exp(-t / decay)`` (NFs-Inv's DC
        cases: ``initial = 1``, ``final = 0``, ``decay = 800``); ``"linear"``
        goes from ``initial`` to ``final`` over ``decay`` iterations and stays;
        ``"constant"`` is ``initial`` throughout (0: data only, NFs-Inv's
        tomography cases).
    initial, final : float, default 1 and 0
        In ``[0, 1]``.
    decay : float, default 800
        Iterations (> 0): e-folding time or length of the linear ramp.
    stop_at_target : bool, default True
        Stop once every data set reaches its target misfit; ``False`` runs the
        solver's ``max_iterations`` (NFs-Inv's fixed number of epochs).

    Examples
    --------
    >>> schedule = Annealing(decay=800.0)
    >>> round(schedule.beta(800), 4), schedule.weights(0)
    (0.3679, (0.0, 1.0))
    """

    def __init__(self, kind: str = "exponential", initial: float = 1.0, final: float = 0.0,
                 decay: float = 800.0, stop_at_target: bool = True):
        self.kind = check_choice("kind", kind, SCHEDULES)
        for name, value in (("initial", initial), ("final", final)):
            value = _check_real(name, value)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.initial, self.final = float(initial), float(final)
        self.decay = check_positive_float("decay", decay)
        if not isinstance(stop_at_target, bool):
            raise TypeError(f"stop_at_target must be True or False, got {stop_at_target!r}")
        self.stop_at_target = stop_at_target

    def beta(self, iteration: int) -> float:
        """``beta(t)`` in ``[0, 1]`` at iteration ``t >= 0``."""
        t = check_nonnegative_int("iteration", iteration)
        if self.kind == "constant":
            return self.initial
        if self.kind == "linear":
            fraction = min(t / self.decay, 1.0)
            return self.initial + (self.final - self.initial) * fraction
        return self.final + (self.initial - self.final) * math.exp(-t / self.decay)

    def weights(self, iteration: int) -> tuple[float, float]:
        """``(data weight, model weight) = (1 - beta(t), beta(t))``."""
        beta = self.beta(iteration)
        return 1.0 - beta, beta

    def __repr__(self) -> str:
        return (f"Annealing(kind={self.kind!r}, initial={self.initial:g}, final={self.final:g}, "
                f"decay={self.decay:g}, stop_at_target={self.stop_at_target})")


def grid_coordinates(grid: Grid) -> torch.Tensor:
    """Cell centres ``(n_cells, 2)`` as ``(x, z)`` scaled to ``[-1, 1]`` per axis, C order.

    Each axis is scaled on its own (first centre -1, last +1; 0 for a single
    cell), as NFs-Inv feeds its MLPs; rows follow the model's ``(nz, nx)`` C
    order (``iz * nx + ix``).
    """
    grid = check_grid("grid", grid)

    def scaled(centres):
        centres = torch.as_tensor(centres, dtype=torch.float64)
        span = centres[-1] - centres[0]
        return torch.zeros_like(centres) if span == 0 else 2 * (centres - centres[0]) / span - 1

    z, x = torch.meshgrid(scaled(grid.cell_centers_z), scaled(grid.cell_centers_x),
                          indexing="ij")
    return torch.stack([x.reshape(-1), z.reshape(-1)], dim=1)


class NeuralField(Parameterization):
    """A coordinate MLP evaluated on a grid: ``forward() -> {key: (nz, nx) property}``.

    Parameters
    ----------
    grid : jointinv.Grid
        Where the field is evaluated (cell centres, scaled to ``[-1, 1]`` per
        axis by :func:`grid_coordinates`).
    heads : dict
        ``{key: OutputHead}``, one network output per key, in order; e.g.
        ``{"velocity": OutputHead("tanh", 5, 5, map="reciprocal")}`` (slowness
        in ``(0, 10)`` s/m) or ``{"velocity": ..., "log10 resistivity":
        OutputHead("sigmoid", lower=0, upper=4)}`` for one network and two physics.
    encoding : {"none", "basic", "gaussian", "frequencies"}, default "basic"
        Positional encoding (:class:`jointinv.networks.PositionalEncoding`).
    n_features : int, optional
        Gaussian features or frequency levels (defaults 128 and 8).
    scale : float, default 1
        Standard deviation of the Gaussian features' frequencies.
    widths : sequence of int, default (128, 256, 256, 256, 256, 128)
        Hidden layer widths (NFs-Inv's 7-layer network).
    activation : str, default "leaky_relu"
        Hidden activation (slope 0.2).
    schedule : Annealing, optional
        NFs-Inv's annealed objective for first-order solvers; ``None``: the
        problem's own ``phi_d + beta * phi_m``.
    seed : int, default 0
        Seeds the weights and the Gaussian features (the global torch
        generator is left as it was).
    dtype : torch.dtype, default torch.float32
    device : torch.device or str, optional
        Where the network and its outputs live (default: the CPU).

    Attributes
    ----------
    network : jointinv.networks.CoordinateMLP
    keys : tuple of str
    """

    def __init__(self, grid: Grid, heads: dict, encoding: str = "basic",
                 n_features: int | None = None, scale: float = 1.0,
                 widths=(128, 256, 256, 256, 256, 128), activation: str = "leaky_relu",
                 schedule: Annealing | None = None, seed: int = 0,
                 dtype: torch.dtype = torch.float32, device=None):
        super().__init__()
        self.grid = check_grid("grid", grid)
        if not isinstance(heads, dict) or not heads:
            raise TypeError(f"heads must be a non-empty dict {{key: OutputHead}}, got {heads!r}")
        for key, head in heads.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"heads keys must be non-empty strings, got {key!r}")
            if not isinstance(head, OutputHead):
                raise TypeError(f"heads[{key!r}] must be an OutputHead, got "
                                f"{type(head).__name__}")
        if schedule is not None and not isinstance(schedule, Annealing):
            raise TypeError(f"schedule must be an Annealing or None, got "
                            f"{type(schedule).__name__}")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.heads = dict(heads)
        self.keys = tuple(heads)
        self.schedule = schedule
        self.seed = check_nonnegative_int("seed", seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            encoder = PositionalEncoding(encoding, in_features=2, n_features=n_features,
                                         scale=scale, seed=self.seed)
            self.network = CoordinateMLP(2, len(self.keys), widths=widths,
                                         activation=activation, encoding=encoder)
        self.register_buffer("coordinates", grid_coordinates(grid))
        self.to(dtype=dtype, device=device)
        self._last = None

    def raw(self) -> torch.Tensor:
        """Network outputs ``(n_keys, nz, nx)`` before the heads."""
        values = self.network(self.coordinates)
        return values.T.reshape(len(self.keys), *self.grid.shape)

    def field_variables(self) -> dict:
        """``{key: (nz, nx) inversion variable}``: the heads' outputs (differentiable)."""
        return {key: head(raw) for (key, head), raw in zip(self.heads.items(), self.raw())}

    def forward(self) -> dict:
        variables = self.field_variables()
        properties = {key: self.heads[key].map(variables[key]) for key in self.keys}
        self._last = (properties, variables)
        return properties

    def variables(self, properties: dict, maps: dict) -> dict:
        """The heads' outputs where the problem's map is the head's, else ``map.inverse``."""
        out = {}
        last_properties, last_variables = self._last if self._last else ({}, {})
        for key in self.keys:
            same = (last_properties.get(key) is properties[key]
                    and maps[key].name == self.heads[key].map.name)
            out[key] = last_variables[key] if same else maps[key].inverse(properties[key])
        return out

    def extra_repr(self) -> str:
        return f"keys={self.keys}, grid={self.grid}, schedule={self.schedule}"
