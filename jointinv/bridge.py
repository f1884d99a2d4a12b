"""Bridge an external simulator (``dpred``/``Jvec``/``Jtvec``) into torch autograd.

Any object with SimPEG's simulation interface works: SimPEG itself, pyGIMLi
wrapped alike, or a user's numpy code::

    fields(m) -> f                     (optional; cached per model)
    dpred(m, f=None) -> d              (n_data,)
    Jvec(m, v, f=None) -> J v          (n_data,)
    Jtvec(m, u, f=None) -> J^T u       (n_model,)

with ``m`` a float64 numpy vector. The bridge computes the fields once per
model and hands them to ``dpred``, ``Jvec`` and ``Jtvec``, so a forward pass
and any number of Jacobian products at the same model factorise only once.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

__all__ = ["SimulationBridge"]


class SimulationBridge:
    """Torch-differentiable wrapper around a ``dpred``/``Jvec``/``Jtvec`` simulator.

    Parameters
    ----------
    simulation : object
        Provides ``dpred``, ``Jvec`` and ``Jtvec`` (and optionally
        ``fields``) as above, all accepting ``f=``.

    Attributes
    ----------
    n_fields_computed : int
        How many times fields were computed (a new model each time).

    Examples
    --------
    >>> predicted = bridge(model_vector)       # torch tensor in, tensor out
    >>> predicted.sum().backward()             # calls Jtvec with cached fields
    """

    def __init__(self, simulation):
        for method in ("dpred", "Jvec", "Jtvec"):
            if not callable(getattr(simulation, method, None)):
                raise TypeError(
                    f"simulation must provide a callable {method}(m, ..., f=None); "
                    f"{type(simulation).__name__} does not"
                )
        self.simulation = simulation
        self._model = None
        self._fields = None
        self.n_fields_computed = 0
        self._warned_device = False

    # -- numpy side, with the per-model field cache -------------------------------
    def fields(self, m: np.ndarray):
        """Fields at ``m``, computed once per distinct model."""
        if self._model is None or self._model.shape != m.shape or not np.array_equal(
            self._model, m
        ):
            compute = getattr(self.simulation, "fields", None)
            self._fields = compute(m) if callable(compute) else None
            self._model = m.copy()
            self.n_fields_computed += 1
        return self._fields

    def clear(self) -> None:
        """Drop the cached model and fields."""
        self._model, self._fields = None, None

    def dpred(self, m):
        return np.asarray(self.simulation.dpred(m, f=self.fields(m)), dtype=np.float64)

    def Jvec(self, m, v):  # noqa: N802 - SimPEG's name
        return np.asarray(self.simulation.Jvec(m, v, f=self.fields(m)), dtype=np.float64)

    def Jtvec(self, m, u):  # noqa: N802 - SimPEG's name
        return np.asarray(self.simulation.Jtvec(m, u, f=self.fields(m)), dtype=np.float64)

    # -- torch side ---------------------------------------------------------------
    def __call__(self, model: torch.Tensor) -> torch.Tensor:
        """Predicted data as a tensor on ``model``'s device and dtype.

        ``model`` is the simulator's model vector (any shape; flattened in C
        order). Differentiable in reverse mode (``Jtvec``) and forward mode
        (``Jvec``).
        """
        if model.device.type != "cpu" and not self._warned_device:
            warnings.warn(
                f"{type(self.simulation).__name__} runs on the CPU: the model is copied "
                f"from {model.device} and the data copied back at every call",
                stacklevel=2,
            )
            self._warned_device = True
        return _BridgeFunction.apply(model, self)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).reshape(-1).numpy().copy()


class _BridgeFunction(torch.autograd.Function):
    @staticmethod
    def forward(model, bridge):
        predicted = bridge.dpred(_to_numpy(model))
        return torch.as_tensor(predicted).to(device=model.device, dtype=model.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output):
        model, bridge = inputs
        ctx.bridge = bridge
        ctx.model_np = _to_numpy(model)
        ctx.model_shape = model.shape

    @staticmethod
    def backward(ctx, grad_output):
        gradient = ctx.bridge.Jtvec(ctx.model_np, _to_numpy(grad_output))
        gradient = torch.as_tensor(gradient).to(grad_output).reshape(ctx.model_shape)
        return gradient, None

    @staticmethod
    def jvp(ctx, model_tangent, _bridge_tangent):
        product = ctx.bridge.Jvec(ctx.model_np, _to_numpy(model_tangent))
        return torch.as_tensor(product).to(model_tangent)
