r"""The full sensitivity of SimPEG's 2.5D nodal DC simulation, adjoint solves batched.

SimPEG's ``Simulation2DNodal.getJ`` solves the adjoint problem receiver by
receiver (a handful of right-hand sides per call, and pymatsolver's SuperLU
wrapper then loops over them in Python). Here all adjoint right-hand sides
of one wavenumber go to its factorisation ``Ainv[iky]`` in one call, and only
for the mesh nodes the receivers read (an electrode's interpolation touches a
few nodes; many data share electrodes), so a 33-electrode line needs a few
dozen solves per wavenumber instead of one per datum.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["DataProjection", "nodal_sensitivity"]


class DataProjection:
    """How SimPEG's data read the nodal potentials, built once per survey.

    Attributes
    ----------
    nodes : (n_read,) numpy.ndarray of int
        Mesh nodes any receiver reads (the columns of the projection that
        are not empty).
    per_source : list of (int, slice, scipy.sparse.csr_matrix)
        For each SimPEG source: its index, its rows of the data vector, and
        ``P_s`` ``(n_data_s, n_read)``, which maps the potentials at
        ``nodes`` to its data (voltage differences, divided by the geometric
        factor for apparent resistivities).
    n_data : int
    """

    def __init__(self, simulation, fields):
        if getattr(simulation, "_mini_survey", None) is not None:
            raise NotImplementedError("nodal_sensitivity does not handle SimPEG's "
                                      "miniaturize=True surveys")
        blocks, spans, start = [], [], 0
        for index, source in enumerate(simulation.survey.source_list):
            for receiver in source.receiver_list:
                # SimPEG's own projection (interpolation and geometric factor)
                blocks.append(sp.csr_matrix(receiver.evalDeriv(source, simulation.mesh, fields)))
                spans.append((index, slice(start, start + receiver.nD)))
                start += receiver.nD
        projection = sp.vstack(blocks).tocsc()
        self.nodes = np.flatnonzero(np.diff(projection.indptr))
        reading = projection[:, self.nodes].tocsr()
        self.per_source = [(index, rows, reading[rows]) for index, rows in spans]
        self.n_data = start


def nodal_sensitivity(simulation, fields, projection: DataProjection | None = None) -> np.ndarray:
    r"""Dense ``J = d data / d m`` of a SimPEG ``Simulation2DNodal`` at its current model.

    Parameters
    ----------
    simulation : simpeg.electromagnetics.static.resistivity.Simulation2DNodal
        With ``Ainv`` factorised at the model of ``fields`` (its model).
    fields : simpeg Fields2DNodal
        ``simulation.fields(m)``.
    projection : DataProjection, optional
        Built from ``simulation`` if not given (it does not depend on the model).

    Returns
    -------
    (n_data, n_model) numpy.ndarray of float64
        Data in the survey's order, model as ``simulation.model``.

    Notes
    -----
    With :math:`A_k u_{k,s} = q_s` for each wavenumber :math:`k` (quadrature
    weight :math:`w_k`) and source :math:`s`, datum :math:`i` of source
    :math:`s` is :math:`d_i = \sum_k w_k p_i^T u_{k,s}`, so

    .. math:: \partial d_i / \partial m
              = -\sum_k w_k \,(A_k^{-1} p_i)^T\,\partial (A_k u_{k,s}) / \partial m

    (:math:`A_k` is symmetric). :math:`A_k^{-1} p_i` is a combination of the
    solutions :math:`Z_k = A_k^{-1} E` for the unit vectors :math:`E` at the
    nodes the receivers read, one solve call per wavenumber; the derivative
    of :math:`A_k u` is SimPEG's ``getADeriv`` (maps included), taken for all
    data of one source at once.
    """
    if projection is None:
        projection = DataProjection(simulation, fields)
    n_nodes, n_read = simulation.mesh.n_nodes, len(projection.nodes)
    unit = np.zeros((n_nodes, n_read), order="F")
    unit[projection.nodes, np.arange(n_read)] = 1.0
    n_model = simulation.model.size
    transposed = np.zeros((n_model, projection.n_data))
    for iky, (ky, weight) in enumerate(zip(simulation._quad_points, simulation._quad_weights)):
        adjoint_basis = np.asarray(simulation.Ainv[iky] * unit).T  # (n_read, n_nodes)
        potentials = np.reshape(fields[:, simulation._solutionType, iky], (n_nodes, -1))
        for index, rows, reading in projection.per_source:
            adjoint = (reading @ adjoint_basis).T  # A^-1 p_i for this source's data
            derivative = simulation.getADeriv(ky, potentials[:, index], adjoint, adjoint=True)
            transposed[:, rows] -= weight * np.asarray(derivative).reshape(n_model, -1)
    return transposed.T
