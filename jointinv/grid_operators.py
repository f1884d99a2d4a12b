"""Finite-difference operators on the model grid, in torch (device-agnostic).

The discretisation follows discretize's ``TensorMesh``: gradients live on cell
faces, ``(m[i+1] - m[i]) / h`` on interior faces and zero on boundary faces
(Neumann), and face quantities are averaged back to cell centres. Models are
``(nz, nx)`` tensors, optionally with leading batch dimensions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .grid import Grid, check_grid

__all__ = ["face_gradients", "average_faces_to_cells", "cell_gradient"]


def face_gradients(model: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients on x faces ``(..., nz, nx + 1)`` and z faces ``(..., nz + 1, nx)`` [unit/m].

    Boundary faces are zero, as discretize's ``cell_gradient`` with its
    default Neumann boundary condition.
    """
    check_grid("grid", grid)
    gx = (model[..., :, 1:] - model[..., :, :-1]) / grid.dx
    gz = (model[..., 1:, :] - model[..., :-1, :]) / grid.dz
    return F.pad(gx, (1, 1)), F.pad(gz, (0, 0, 1, 1))


def average_faces_to_cells(fx: torch.Tensor, fz: torch.Tensor) -> torch.Tensor:
    """Mean over a cell's two x faces plus mean over its two z faces, ``(..., nz, nx)``.

    Applied to squared face gradients this approximates ``|grad m|^2`` at cell
    centres; it is SimPEG's ``RegularizationMesh.average_face_to_cell`` in 2D.
    """
    return 0.5 * (fx[..., :, :-1] + fx[..., :, 1:] + fz[..., :-1, :] + fz[..., 1:, :])


def cell_gradient(model: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient components at cell centres ``(gx, gz)``, each ``(..., nz, nx)`` [unit/m].

    Each is the mean of the two face gradients of the cell along that axis.
    """
    fx, fz = face_gradients(model, grid)
    return 0.5 * (fx[..., :, :-1] + fx[..., :, 1:]), 0.5 * (fz[..., :-1, :] + fz[..., 1:, :])
