r"""The full sensitivity of SimPEG's 2.5D nodal DC simulation, adjoint solves batched.

SimPEG's ``Simulation2DNodal.getJ`` solves the adjoint problem receiver by
receiver (a handful of right-hand sides per call, and pymatsolver's SuperLU
wrapper then loops over them in Python). Here all adjoint right-hand sides
of one wavenumber go to its factorisation ``Ainv[iky]`` in one call, and only
as many as the data projection has independent rows: every datum reads the
potentials of a few electrodes, so a 33-electrode line with 212 data needs
33 solves per wavenumber instead of 212.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["DataProjection", "nodal_sensitivity"]


class DataProjection:
    """How SimPEG's data read the nodal potentials, built once per survey.

    The projection ``P`` ``(n_data, n_nodes)`` (voltage differences, divided
    by the geometric factor for apparent resistivities) is SimPEG's own. Its
    non-empty columns are the ``nodes`` the receivers read, and its rank is
    at most the number of electrodes, so it is factored as ``P[:, nodes] =
    coefficients @ basis.T`` (SVD of its unit-normalised rows, singular
    values below round-off dropped): the adjoint right-hand sides are the
    ``rank`` columns of ``basis`` placed at ``nodes``.

    Attributes
    ----------
    nodes : (n_read,) numpy.ndarray of int
    right_hand_sides : (n_nodes, rank) numpy.ndarray, Fortran order
    coefficients : (n_data, rank) numpy.ndarray
    per_source : list of (int, slice)
        For each SimPEG source: its index and its rows of the data vector.
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
        reading = projection[:, self.nodes].toarray()
        # unit rows first, so that every datum keeps its own relative precision
        scale = np.linalg.norm(reading, axis=1, keepdims=True)
        scale[scale == 0.0] = 1.0
        left, values, right = np.linalg.svd(reading / scale, full_matrices=False)
        rank = max(1, int((values > values[0] * max(left.shape) * np.finfo(float).eps).sum()))
        self.coefficients = scale * left[:, :rank] * values[:rank]
        self.right_hand_sides = np.zeros((simulation.mesh.n_nodes, rank), order="F")
        self.right_hand_sides[self.nodes] = right[:rank].T
        self.per_source = spans
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
        Data in the survey's order, model as ``simulation.model``. Working
        memory besides ``J``: the adjoint fields of one wavenumber,
        ``(n_nodes, n_data)`` float64.

    Notes
    -----
    With :math:`A_k u_{k,s} = q_s` for each wavenumber :math:`k` (quadrature
    weight :math:`w_k`) and source :math:`s`, datum :math:`i` of source
    :math:`s` is :math:`d_i = \sum_k w_k p_i^T u_{k,s}`, so

    .. math:: \partial d_i / \partial m
              = -\sum_k w_k \,(A_k^{-1} p_i)^T\,\partial (A_k u_{k,s}) / \partial m

    (:math:`A_k` is symmetric). :math:`A_k^{-1} p_i` is a combination of the
    solutions :math:`Z_k = A_k^{-1} B` for a basis :math:`B` of the
    projection's rows (:class:`DataProjection`), one solve call per
    wavenumber; the derivative of :math:`A_k u` is SimPEG's ``getADeriv``
    (maps included), taken for all data of one source at once.
    """
    if projection is None:
        projection = DataProjection(simulation, fields)
    n_nodes, n_model = simulation.mesh.n_nodes, simulation.model.size
    transposed = np.zeros((n_model, projection.n_data))
    for iky, (ky, weight) in enumerate(zip(simulation._quad_points, simulation._quad_weights)):
        solved = np.asarray(simulation.Ainv[iky] * projection.right_hand_sides)
        # A^-1 p_i for every datum, in one matrix product
        adjoints = solved.reshape(n_nodes, -1) @ projection.coefficients.T
        potentials = np.reshape(fields[:, simulation._solutionType, iky], (n_nodes, -1))
        for index, rows in projection.per_source:
            adjoint = adjoints[:, rows]
            derivative = simulation.getADeriv(ky, potentials[:, index], adjoint, adjoint=True)
            transposed[:, rows] -= weight * np.asarray(derivative).reshape(n_model, -1)
    return transposed.T
