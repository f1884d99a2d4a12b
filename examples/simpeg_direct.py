"""Plumbing for examples that run SimPEG's own inversions on a jointinv DC operator.

A jointinv SimPEG operator keeps its simulation (``operator.simulation``), the
SimPEG survey and mesh; these helpers hand SimPEG the same observed data and
standard deviations the jointinv methods see, a regularization mesh for a
model on the grid's cells in C order, and bring SimPEG's model vector back to
the ``(nz, nx)`` grid. Used by ``pgi_comparison.py`` and ``nfsinv_dc_sparse.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from jointinv.simpeg import grid_tensor_mesh


def regularization_mesh(grid):
    """discretize mesh of the grid's cells, for a model vector in the grid's C order.

    The model is the grid in C order (depth rows, top first); the mesh's cells
    run from the bottom up: a mirror image, so the same differences between
    equal cells (every smallness, smoothness and IRLS weight is unchanged).
    """
    return grid_tensor_mesh(grid)


def simpeg_data(survey, data):
    """SimPEG ``Data`` on ``survey`` with a jointinv ``Data``'s observed values and
    standard deviations (float64)."""
    from simpeg import data as simpeg_data_module

    return simpeg_data_module.Data(survey, dobs=data.observed.double().numpy(),
                                   standard_deviation=data.standard_deviation.double().numpy())


def inverse_problem(simulation, data, regularization, optimizer):
    """SimPEG ``BaseInvProblem``: L2 misfit of ``data`` (jointinv ``Data``) through
    ``simulation``, plus ``regularization``, minimised by ``optimizer``."""
    from simpeg import data_misfit
    from simpeg import inverse_problem as simpeg_inverse_problem

    misfit = data_misfit.L2DataMisfit(data=simpeg_data(simulation.survey, data),
                                      simulation=simulation)
    return simpeg_inverse_problem.BaseInvProblem(misfit, regularization, optimizer)


def grid_model(vector, grid) -> torch.Tensor:
    """SimPEG's model vector (grid cells, C order) as a float64 ``(nz, nx)`` tensor."""
    return torch.as_tensor(np.asarray(vector), dtype=torch.float64).reshape(grid.shape)
