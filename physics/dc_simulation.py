"""SimPEG's 2.5D nodal DC simulation with its source term computed once.

``Simulation2DNodal.getSourceTerm`` interpolates every source onto the mesh
nodes again for each wavenumber of each model, although the result depends
on neither. On a tensor mesh that is cheap; on a TreeMesh (the default mesh
for borehole electrodes, :func:`jointinv.simpeg.electrode_refined_mesh`)
discretize's node interpolation is slow enough to take about two thirds of a
forward simulation, so the term is kept after its first evaluation.
"""

from __future__ import annotations

from simpeg.electromagnetics.static import resistivity as dc

__all__ = ["Simulation2DNodalCachedSources"]


class Simulation2DNodalCachedSources(dc.Simulation2DNodal):
    """``Simulation2DNodal`` whose ``getSourceTerm`` is evaluated once per survey."""

    def getSourceTerm(self, ky):
        survey = self._mini_survey if self._mini_survey is not None else self.survey
        cached = getattr(self, "_cached_source_term", None)
        if cached is None or cached[0] is not survey:
            # (survey, q): a new survey object gets its own term
            cached = self._cached_source_term = (survey, super().getSourceTerm(ky))
        return cached[1]
