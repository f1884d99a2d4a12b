"""Argument checks shared by the core and the physics plugins.

One small function per kind of argument. Each checks, normalises and returns
the value; a wrong type raises ``TypeError`` and a wrong value raises
``ValueError`` naming the argument, what is allowed and what it got.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = [
    "check_positive_float",
    "check_positive_int",
    "check_nonnegative_float",
    "check_points",
    "check_finite_tensor",
    "check_choice",
    "check_seed",
    "as_model_tensor",
    "check_nonnegative_int",
    "MODEL_DTYPES",
    "check_real_range",
    "check_int_range",
    "as_data_tensor",
    "check_memory",
    "DEFAULT_MAX_MEMORY_GB",
    "PLAUSIBLE_VELOCITY",
    "warn_implausible_velocity",
]

#: Velocities [m/s] outside this range draw a warning (air is 330 m/s, rocks
#: stay below 1e4 m/s): a model in km/s or in slowness is the usual mistake.
PLAUSIBLE_VELOCITY = (1.0, 1e5)

#: Default ceiling [GiB] for the memory one call may allocate, checked before
#: allocating (a 24 GiB machine shared by a few processes).
DEFAULT_MAX_MEMORY_GB = 8.0


def check_positive_float(name: str, value) -> float:
    """Return ``value`` as a float, requiring a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_nonnegative_float(name: str, value) -> float:
    """Return ``value`` as a float, requiring a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an int, requiring an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


def check_choice(name: str, value, allowed) -> str:
    """Return ``value`` if it is one of ``allowed`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def check_points(name: str, points, allow_empty: bool = False) -> np.ndarray:
    """Return point locations as a float64 ``(n, 2)`` array of ``(x, z)`` [m].

    Raises
    ------
    TypeError
        If ``points`` cannot be read as numbers.
    ValueError
        If the shape is not ``(n, 2)``, a value is not finite, or the set is
        empty and ``allow_empty`` is false.
    """
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an (n, 2) array of (x, z) in metres") from error
    if array.ndim != 2 or array.shape[1] != 2:
        hint = "; for one point pass [[x, z]]" if array.shape == (2,) else ""
        raise ValueError(f"{name} must have shape (n, 2) of (x, z) in metres, "
                         f"got {array.shape}{hint}")
    if array.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} must hold at least one point, got an empty array")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite coordinates, got NaN or inf")
    return array


def check_finite_tensor(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Require a floating-point tensor with finite values."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {tensor.dtype}")
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} must be finite everywhere, got NaN or inf")
    return tensor


def check_seed(name: str, value) -> int:
    """Return a random seed as an int, requiring an integer in ``[0, 2**63)``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value < 2**63:
        raise ValueError(f"{name} must be an integer in [0, 2**63), got {value}")
    return int(value)


#: Floating-point dtypes the physics compute in (half precision has no sparse
#: solvers or stable wave stepping).
MODEL_DTYPES = (torch.float32, torch.float64)


def as_model_tensor(name: str, value) -> torch.Tensor:
    """A model as a float32/float64 tensor; NumPy arrays and nested lists are converted.

    A tensor keeps its dtype, device and autograd history; an array-like
    becomes a float64 CPU tensor (float32 arrays stay float32).
    """
    if not isinstance(value, torch.Tensor):
        if isinstance(value, (str, bytes)) or not isinstance(
                value, (np.ndarray, list, tuple, numbers.Real)):
            raise TypeError(f"{name} must be a torch.Tensor or a NumPy array, "
                            f"got {type(value).__name__}")
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:  # ragged nested lists
            raise TypeError(f"{name} must be a rectangular array of numbers, got a ragged "
                            f"{type(value).__name__}") from error
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
        if array.dtype != np.float32:
            array = array.astype(np.float64)
        value = torch.from_numpy(np.ascontiguousarray(array).reshape(array.shape))
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.dtype not in MODEL_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {value.dtype}")
    return value


def check_nonnegative_int(name: str, value) -> int:
    """Return ``value`` as an int, requiring an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value}")
    return int(value)


def check_real_range(name: str, value, low: float, high: float, units: str = "") -> float:
    """Return ``value`` as a float, requiring a finite number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    unit = f" {units}" if units else ""
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a finite number in [{low:g}, {high:g}]{unit}, "
                         f"got {value}")
    return value


def check_int_range(name: str, value, low: int, high: int) -> int:
    """Return ``value`` as an int, requiring an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high:.6g}], got {value}")
    return int(value)


def as_data_tensor(name: str, value, allow_empty: bool = False) -> torch.Tensor:
    """Data values as a finite float32/float64 tensor, detached.

    A tensor keeps its dtype and device; a NumPy array, list or number becomes
    a CPU tensor, float64 unless the array is float32 (integer arrays become
    float64). Raises ``TypeError`` for non-numeric input and ``ValueError``
    for an empty array (unless ``allow_empty``) or NaN/inf values.
    """
    value = as_model_tensor(name, value).detach()
    if value.numel() == 0 and not allow_empty:
        raise ValueError(f"{name} must hold at least one value, got an empty array of "
                         f"shape {tuple(value.shape)}")
    if not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name} must be finite everywhere, got {bad} NaN or inf value(s)")
    return value


def check_memory(name: str, n_bytes: float, max_memory_gb: float, what: str,
                 hint: str = "") -> None:
    """Raise ``ValueError`` naming ``name`` if ``n_bytes`` exceeds ``max_memory_gb`` GiB.

    Called before allocating, with an estimate of what ``what`` would need.
    """
    limit = check_positive_float("max_memory_gb", max_memory_gb)
    needed = float(n_bytes) / 2**30
    if needed > limit:
        raise ValueError(f"{name} makes {what} need about {needed:.3g} GiB, more than "
                         f"max_memory_gb = {limit:g} GiB{'; ' + hint if hint else ''}")


def warn_implausible_velocity(name: str, smallest: float, largest: float) -> bool:
    """Warn (and return True) if velocities leave :data:`PLAUSIBLE_VELOCITY` [m/s]."""
    import warnings

    low, high = PLAUSIBLE_VELOCITY
    if low <= smallest and largest <= high:
        return False
    warnings.warn(f"{name} spans [{smallest:.3g}, {largest:.3g}] m/s, outside the plausible "
                  f"[{low:g}, {high:g}] m/s; is the model in m/s (not km/s or slowness)?",
                  UserWarning, stacklevel=5)
    return True
