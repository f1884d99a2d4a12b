"""The forward-only acoustic time loop in C, built at first use (CPU, no gradient).

``torch.compile`` turns each step into some 25 loops over the PML blocks with
every shot in each, plus a Python call per step, so every step streams all
shots' wavefields through memory; Deepwave's C runs each shot from the first
step to the last on one thread. For forward modelling alone (no autograd, no
checkpoints) :func:`native_forward` runs the whole time loop in
``acoustic_native.c`` the same way: the same scheme and numbers as
:func:`jointinv.physics.acoustic_step.wave_step` (to rounding: the sums are
taken in another order), whole shots per OpenMP thread (the rows of each step
when there are fewer shots than threads), on ``torch.get_num_threads()``
threads.

The C file is compiled once per (precision, accuracy) with the system's C
compiler (``$CC``, else ``cc``) into a cache directory
(``$JOINTINV_CACHE_DIR``, else ``$XDG_CACHE_HOME/jointinv`` or
``~/.cache/jointinv``), keyed by the source, the flags and the machine; later
processes load it in milliseconds. Without a working compiler or a writable
cache (or with ``JOINTINV_NATIVE=0``) :func:`native_library` returns ``None``
after one warning and the propagator stays on its torch step. Gradients and
Jacobian-vector products always use the torch step and its exact adjoint.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from .acoustic_step import FIRST_DERIVATIVE, SECOND_DERIVATIVE, StepLayout

__all__ = ["native_forward", "native_library"]

SOURCE = Path(__file__).with_name("acoustic_native.c")
_REAL = {torch.float32: "float", torch.float64: "double"}
#: Flag sets tried in order: the first one that compiles is used.
FLAG_SETS = (
    ("-O3", "-march=native", "-fopenmp"),
    ("-O3", "-fopenmp"),
    ("-O3",),  # no OpenMP (e.g. Apple clang): one thread
)
_libraries: dict = {}
_failed: set = set()


def cache_directory() -> Path:
    """Where compiled kernels are kept (see the module docstring)."""
    if os.environ.get("JOINTINV_CACHE_DIR"):
        return Path(os.environ["JOINTINV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jointinv"


def _compile(compiler: str, real: str, half: int) -> Path | None:
    source = SOURCE.read_bytes()
    errors = []
    for flags in FLAG_SETS:
        command = [compiler, *flags, "-shared", "-fPIC", "-std=gnu99",
                   f"-DREAL={real}", f"-DHALF={half}"]
        key = hashlib.sha256(source + " ".join(command).encode()
                             + platform.node().encode() + platform.machine().encode())
        target = cache_directory() / f"acoustic_native_{real}_{2 * half}_{key.hexdigest()[:16]}.so"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # compile to a private name, then rename: concurrent processes never load half a file
        handle, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(handle)
        result = subprocess.run([*command, "-o", partial, str(SOURCE)], capture_output=True,
                                text=True)
        if result.returncode == 0:
            os.replace(partial, target)
            return target
        os.unlink(partial)
        errors.append(f"{' '.join(flags)}: {result.stderr.strip()[-300:]}")
    warnings.warn("could not compile the C acoustic kernel; forward modelling stays on the "
                  "torch step (" + "; ".join(errors) + ")", RuntimeWarning, stacklevel=3)
    return None


def native_library(dtype: torch.dtype, accuracy: int):
    """The compiled loop for ``dtype`` (float32/float64) and ``accuracy``, or ``None``.

    ``None`` when native kernels are switched off (``JOINTINV_NATIVE=0``), the
    dtype has none, no C compiler works or the cache directory is not writable
    (one warning, then remembered).
    """
    if os.environ.get("JOINTINV_NATIVE", "1") == "0" or dtype not in _REAL:
        return None
    key = (_REAL[dtype], accuracy // 2)
    if key in _libraries:
        return _libraries[key]
    if key in _failed:
        return None
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        warnings.warn("no C compiler found ($CC or cc); forward modelling stays on the "
                      "torch step", RuntimeWarning, stacklevel=2)
        _failed.add(key)
        return None
    try:
        path = _compile(compiler, *key)
        library = None if path is None else ctypes.CDLL(str(path))
    except OSError as error:  # an unwritable cache directory, a library that does not load
        warnings.warn(f"could not build or load the C acoustic kernel ({error}); forward "
                      f"modelling stays on the torch step (set JOINTINV_CACHE_DIR to a "
                      f"writable folder)", RuntimeWarning, stacklevel=2)
        library = None
    if library is None:
        _failed.add(key)
        return None
    library.propagate.restype = ctypes.c_int
    _libraries[key] = library
    return library


def _full_profiles(layout: StepLayout, profiles: tuple, dtype) -> list:
    """The band-cut C-PML profiles as arrays over each padded axis (zero elsewhere)."""
    pad, out = layout.pad, []
    for axis, bands in enumerate((layout.z_bands, layout.x_bands)):
        for band_profiles in profiles[3 * axis:3 * axis + 3]:
            full = torch.zeros(layout.shape[axis], dtype=dtype)
            for (start, stop), values in zip(bands, band_profiles):
                full[start + pad:stop + pad] = values.reshape(-1)[pad:-pad].cpu()
            out.append(full)
    return out


def _weights(table: dict, accuracy: int, scale: float, dtype) -> torch.Tensor:
    return torch.tensor(table[accuracy], dtype=torch.float64).mul(scale).to(dtype)


def _pml_cells(a: torch.Tensor, b: torch.Tensor, db: torch.Tensor, pad: int) -> torch.Tensor:
    """Where along an axis the C-PML terms are not all zero (bool, padded length).

    ``a``, ``b``, ``db`` at the cell or ``a`` within ``pad`` cells (read by the
    derivative of ``a psi``): the PML plus ``pad`` cells. The torch step's
    bands are ``pad`` cells wider still, for its adjoint; the forward loop
    needs only these.
    """
    near_a = F.max_pool1d((a != 0).to(torch.float32)[None, None], 2 * pad + 1, stride=1,
                          padding=pad)[0, 0] > 0
    return (b != 0) | (db != 0) | near_a


def _spans(flags: torch.Tensor, pad: int) -> list:
    """Runs of equal ``flags`` over the interior columns: ``(start, stop, flag)``,
    in interior indices."""
    interior = flags[pad:len(flags) - pad].tolist()
    spans, start = [], 0
    for i in range(1, len(interior) + 1):
        if i == len(interior) or interior[i] != interior[start]:
            spans.append((start, i, interior[start]))
            start = i
    return spans


def _static_inputs(plan, dtype) -> tuple:
    """What the C loop needs besides ``V`` and the sources, built once per plan and dtype."""
    key = ("native", dtype)
    if key not in plan.cache:
        layout, pad = plan.layout, plan.layout.pad
        profiles = _full_profiles(layout, plan.profiles, dtype)
        row_pml = _pml_cells(*profiles[:3], pad).to(torch.uint8)
        spans = _spans(_pml_cells(*profiles[3:], pad), pad)
        inverse_dz, inverse_dx = layout.inverse_spacing
        arrays = [*profiles,
                  _weights(FIRST_DERIVATIVE, layout.accuracy, inverse_dz, dtype),
                  _weights(SECOND_DERIVATIVE, layout.accuracy, inverse_dz ** 2, dtype),
                  _weights(FIRST_DERIVATIVE, layout.accuracy, inverse_dx, dtype),
                  _weights(SECOND_DERIVATIVE, layout.accuracy, inverse_dx ** 2, dtype),
                  row_pml]
        span_arrays = [torch.tensor([s[0] for s in spans], dtype=torch.int64),
                       torch.tensor([s[1] for s in spans], dtype=torch.int64),
                       torch.tensor([s[2] for s in spans], dtype=torch.uint8)]
        plan.cache[key] = (arrays, len(spans), span_arrays,
                           plan.source_index.reshape(-1).cpu().contiguous(),
                           plan.receiver_index.cpu().contiguous())
    return plan.cache[key]


def _pointer(tensor: torch.Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(tensor.data_ptr())


def native_forward(plan, V: torch.Tensor, increments: torch.Tensor) -> torch.Tensor | None:
    """Records of a propagation from rest, as :func:`~.acoustic_checkpoint.run_forward`.

    Returns ``None`` (the caller uses the torch step) when the inputs are not
    CPU float32/float64 tensors, ``V`` has a shot dimension, or no kernel
    could be built. Otherwise ``(n_shots, n_receivers, n_steps)`` with ``V``'s
    dtype.
    """
    layout = plan.layout
    if V.device.type != "cpu" or V.dim() != 2 or increments.dtype != V.dtype:
        return None
    library = native_library(V.dtype, layout.accuracy)
    if library is None:
        return None
    arrays, n_spans, span_arrays, source_index, receiver_index = _static_inputs(plan, V.dtype)
    n_shots, n_receivers, n_steps = plan.n_shots, receiver_index.shape[1], plan.n_steps
    V, increments = V.detach().contiguous(), increments.detach().contiguous()
    records = torch.empty((n_shots, n_steps, n_receivers), dtype=V.dtype)
    failed = library.propagate(
        ctypes.c_int64(n_shots), ctypes.c_int64(layout.shape[0]), ctypes.c_int64(layout.shape[1]),
        ctypes.c_int(int(layout.free_surface)), ctypes.c_int64(n_steps),
        ctypes.c_int(torch.get_num_threads()), _pointer(V), *map(_pointer, arrays),
        ctypes.c_int64(n_spans), *map(_pointer, span_arrays), _pointer(source_index),
        _pointer(increments), ctypes.c_int64(n_receivers), _pointer(receiver_index),
        _pointer(records))
    if failed:
        raise MemoryError(f"the C acoustic loop could not allocate its wavefields "
                          f"(8 x {n_shots} shots x {layout.shape} cells)")
    return records.transpose(1, 2).contiguous()
