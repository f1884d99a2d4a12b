"""One stored sensitivity matrix per model, for SimPEG plugins whose Jacobian fits in memory.

Gauss-Newton takes dozens of Jacobian products at each model (two per CG
step). When the dense sensitivity ``J`` (``n_data x n_model`` float64) is
small, forming it once per model and multiplying is far cheaper than a
SimPEG ``Jvec``/``Jtvec`` (a loop of solves) per product.
:class:`StoredSensitivity` keeps exactly one ``J``, for the model it was
built at: asking for another model's drops it first, so an inversion never
holds two.

:func:`sensitivity_mode` turns a plugin's ``sensitivity`` option into the
decision, logging one line on the ``jointinv.simpeg.sensitivity`` logger
(INFO) when ``"auto"`` falls back to products because ``J`` is too large.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch

from ..validation import check_choice, check_positive_float

__all__ = ["SENSITIVITY_MODES", "MAX_SENSITIVITY_MB", "StoredSensitivity", "sensitivity_mode"]

logger = logging.getLogger(__name__)

#: Values of a SimPEG plugin's ``sensitivity`` option.
SENSITIVITY_MODES = ("auto", "stored", "products")
#: Default largest stored sensitivity under ``sensitivity="auto"`` [MB, 1e6 bytes].
MAX_SENSITIVITY_MB = 512.0


def sensitivity_mode(sensitivity: str, n_data: int, n_model: int, max_sensitivity_mb,
                     can_store: bool, owner: str = "operator") -> bool:
    """Whether a plugin stores its sensitivity matrix (True) or takes products (False).

    Parameters
    ----------
    sensitivity : {"auto", "stored", "products"}
        ``"auto"`` stores ``J`` when its ``n_data * n_model * 8`` bytes are at
        most ``max_sensitivity_mb`` and the plugin can assemble it;
        ``"stored"`` always stores; ``"products"`` never does.
    n_data, n_model : int
        Shape of ``J``.
    max_sensitivity_mb : float
        Largest ``J`` stored under ``"auto"`` [MB] (> 0).
    can_store : bool
        Whether the plugin can assemble ``J`` (a ``getJ`` or its own assembly).
    owner : str
        Name used in the messages.

    Raises
    ------
    ValueError
        For an unknown ``sensitivity``, a non-positive ``max_sensitivity_mb``,
        or ``"stored"`` when ``can_store`` is false.
    """
    sensitivity = check_choice("sensitivity", sensitivity, SENSITIVITY_MODES)
    limit = check_positive_float("max_sensitivity_mb", max_sensitivity_mb)
    if sensitivity == "products":
        return False
    if not can_store:
        if sensitivity == "stored":
            raise ValueError(f"sensitivity='stored' needs a simulation with getJ(m, f=None) or "
                             f"an _assemble_sensitivity hook; {owner} has neither (use "
                             f"'auto' or 'products')")
        return False
    megabytes = 8.0 * n_data * n_model / 1e6
    if sensitivity == "auto" and megabytes > limit:
        logger.info("%s: sensitivity matrix of %.0f MB > max_sensitivity_mb=%g: Jacobian "
                    "products instead", owner, megabytes, limit)
        return False
    return True


class StoredSensitivity:
    """The dense Jacobian ``J`` at one model, built on demand and dropped for another.

    Parameters
    ----------
    assemble : callable
        ``m -> J``: ``m`` the simulator's float64 model vector ``(n_model,)``,
        ``J`` array_like ``(n_data, n_model)`` with ``J_ij = d d_i / d m_j``.
    shape : (int, int)
        ``(n_data, n_model)``, checked against what ``assemble`` returns.

    Attributes
    ----------
    n_built : int
        How many matrices were assembled (one per distinct model asked for).
    """

    def __init__(self, assemble: Callable[[np.ndarray], np.ndarray], shape: tuple):
        self._assemble = assemble
        self.shape = tuple(int(n) for n in shape)
        self._model = None
        self._matrix = None  # float64 on the CPU
        self._cast = None  # the same, on the device/dtype of the last product
        self.n_built = 0

    def holds(self, m: np.ndarray) -> bool:
        """Whether the stored ``J`` is the one at model vector ``m``."""
        return self._model is not None and np.array_equal(self._model, m)

    def keep_only(self, m: np.ndarray) -> None:
        """Drop the stored ``J`` unless it is the one at ``m`` (a new model is linearised)."""
        if not self.holds(m):
            self.drop()

    def drop(self) -> None:
        """Forget the stored ``J``."""
        self._model = self._matrix = self._cast = None

    def matrix(self, m: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        """``J`` at ``m`` (assembled if not stored) on ``like``'s device and dtype.

        Returns
        -------
        (n_data, n_model) torch.Tensor
        """
        if not self.holds(m):
            self.drop()  # first, so that the old and the new J never coexist
            matrix = np.asarray(self._assemble(m), dtype=np.float64)
            if matrix.shape != self.shape:
                raise RuntimeError(f"sensitivity assembly returned shape {matrix.shape}, "
                                   f"expected (n_data, n_model) = {self.shape}")
            self._matrix = torch.from_numpy(np.ascontiguousarray(matrix))
            self._model = m.copy()
            self.n_built += 1
        if self._matrix.dtype == like.dtype and self._matrix.device == like.device:
            return self._matrix
        if self._cast is None or self._cast.dtype != like.dtype or \
                self._cast.device != like.device:
            self._cast = self._matrix.to(device=like.device, dtype=like.dtype)
        return self._cast

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored matrices (0 when none is stored)."""
        held = [t for t in (self._matrix, self._cast) if t is not None]
        return sum(t.element_size() * t.numel() for t in held)
