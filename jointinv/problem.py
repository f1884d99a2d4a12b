"""An inversion problem: data misfits, regularizations with their betas, couplings.

``phi(m) = sum_k [phi_d,k(map_k(m_k)) + beta_k * phi_m,k(m_k)] + sum_c w_c * coupling_c(m)``

``m_k`` is model ``k``'s inversion variable and ``map_k(m_k)`` the property its
operator sees (velocity from slowness, ...). Each data misfit reads one
property; regularizations read one variable and couplings several. Gauss-Newton
works through :class:`ProblemPoint`: the problem linearised at one set of
models, simulating each physics once and reusing that for the misfit, its
gradient and every Hessian product there.
"""

from __future__ import annotations

import torch

from .maps import IdentityMap, Map
from .objective import DataMisfit, Term

__all__ = ["InversionProblem", "ProblemPoint"]


def _residual_products(term, models: dict, keys):
    """``(jvp, vjp)`` of ``term.residual`` at ``models`` (dicts of tensors in and out)."""
    read = [k for k in keys if k in term.keys]
    leaves = [models[k].detach().clone().requires_grad_(True) for k in read]
    with torch.enable_grad():
        output = term.residual(dict(zip(read, leaves)))
        if not output.requires_grad:  # e.g. flat models: the term is locally constant
            zero = {k: torch.zeros_like(models[k]) for k in read}
            return (lambda v: torch.zeros_like(output)), (lambda u: zero)
        # J v by the double-vjp trick: J^T u is linear in u, so d/du <J^T u, v> = J v
        dummy = torch.zeros_like(output, requires_grad=True)
        transposed = torch.autograd.grad(output, leaves, dummy, create_graph=True,
                                         allow_unused=True)

    def jvp(v):
        with torch.enable_grad():
            inner = sum((g * v[k]).sum() for g, k in zip(transposed, read) if g is not None)
            (product,) = torch.autograd.grad(inner, dummy, retain_graph=True)
        return product

    def vjp(u):
        grads = torch.autograd.grad(output, leaves, u, retain_graph=True, allow_unused=True)
        return {k: (g if g is not None else torch.zeros_like(models[k])) for k, g in
                zip(read, grads)}

    return jvp, vjp


class InversionProblem:
    """Objective of a (joint) inversion over a dict of models.

    Parameters
    ----------
    misfits : list of DataMisfit
        One per data set; their ``key`` names the model each one reads.
    regularizations : dict
        ``{name: Term}``: regularizations of the inversion variables, usually
        one per model named after it; a joint one (e.g. joint total variation)
        reads several models (its ``keys``).
    betas : dict
        ``{name: float > 0}``, trade-off parameter of each regularization (1 if missing).
    couplings : list of (str, float, Term), optional
        Named, weighted coupling terms over several models' inversion variables.
    maps : dict, optional
        ``{key: Map}``: property ``= map(variable)`` (identity if missing).
    """

    def __init__(self, misfits, regularizations, betas, couplings=(), maps=None):
        misfits = list(misfits)
        if not misfits:
            raise ValueError("misfits must hold at least one DataMisfit")
        for misfit in misfits:
            if not isinstance(misfit, DataMisfit):
                raise TypeError(f"misfits must be DataMisfit objects, got {type(misfit).__name__}")
        self.misfits = misfits
        self.keys = tuple(dict.fromkeys(m.key for m in misfits))
        maps = dict(maps or {})
        unknown = sorted(set(maps) - set(self.keys))
        if unknown:
            raise ValueError(f"maps name models {unknown} that no data misfit reads; "
                             f"models are {list(self.keys)}")
        for name, term in regularizations.items():
            if not isinstance(term, Term):
                raise TypeError(
                    f"regularizations[{name!r}] must be a Term, got {type(term).__name__}"
                )
            missing = sorted(set(term.keys) - set(self.keys))
            if missing:
                raise ValueError(f"regularizations[{name!r}] reads models {missing} that no "
                                 f"data misfit reads; models are {list(self.keys)}")
        unknown = sorted(set(betas) - set(regularizations))
        if unknown:
            raise ValueError(f"betas name regularizations {unknown} that do not exist; "
                             f"regularizations are {sorted(regularizations)}")
        for key, value in maps.items():
            if not isinstance(value, Map):
                raise TypeError(f"maps[{key!r}] must be a jointinv.maps.Map, "
                                f"got {type(value).__name__}")
        self.maps = {key: maps.get(key, IdentityMap()) for key in self.keys}
        self.regularizations = dict(regularizations)
        self.betas = {key: float(betas.get(key, 1.0)) for key in self.regularizations}
        #: joint regularizations whose beta stays put: each model's share follows that
        #: model's own beta instead (:class:`jointinv.joint_regularization.BetaShares`)
        self.shared_betas = set()
        self.couplings = []
        for name, weight, term in couplings:
            missing = sorted(set(term.keys) - set(self.keys))
            if missing:
                raise ValueError(
                    f"coupling {name} reads models {missing} that no data "
                    f"misfit reads; models are {list(self.keys)}"
                )
            self.couplings.append((str(name), float(weight), term))

    # -- values ---------------------------------------------------------------------
    def properties(self, variables: dict) -> dict:
        """``{key: map_k(m_k)}``: what the operators see."""
        return {key: self.maps[key](variables[key]) for key in self.keys}

    def model_parts(self, variables: dict) -> dict:
        """Regularization and coupling values (tensors): ``phi_m[key]``, ``coupling[name]``."""
        values = {f"phi_m[{name}]": term(variables)
                  for name, term in self.regularizations.items()}
        for name, _, term in self.couplings:
            values[f"coupling[{name}]"] = term(variables)
        return values

    def parts(self, variables: dict, properties: dict | None = None) -> dict:
        """Every term's value (tensors): ``phi_d[key]``, ``phi_m[key]``, ``coupling[name]``."""
        properties = self.properties(variables) if properties is None else properties
        values = {}
        for misfit in self.misfits:
            name = f"phi_d[{misfit.key}]"
            value, chi_squared = misfit.evaluate(properties)
            values[name] = values.get(name, 0.0) + value
            if chi_squared is not None:  # another misfit function: chi^2 reported alongside
                name = f"chi2[{misfit.key}]"
                values[name] = values.get(name, 0.0) + chi_squared
        values.update(self.model_parts(variables))
        return values

    def total(self, parts: dict):
        """Weighted sum of :meth:`parts` with the current betas."""
        total = 0.0
        for key in self.keys:
            total = total + parts[f"phi_d[{key}]"]
        for key in self.regularizations:
            total = total + self.betas[key] * parts[f"phi_m[{key}]"]
        for name, weight, _ in self.couplings:
            total = total + weight * parts[f"coupling[{name}]"]
        return total

    def targets(self) -> dict:
        """``{key: target misfit}``."""
        out = {}
        for misfit in self.misfits:
            out[misfit.key] = out.get(misfit.key, 0.0) + misfit.target
        return out

    def at_target(self, misfit_values: dict) -> bool:
        """True when every data set is at or below its target misfit."""
        targets = self.targets()
        return all(misfit_values[key] <= targets[key] for key in targets)

    def tuned_betas(self) -> list:
        """Names of the betas that solvers cool and rescale: all but :attr:`shared_betas`
        (a joint regularization whose models' shares follow their own betas)."""
        return [name for name in self.betas if name not in self.shared_betas]

    def above_target(self, name: str, misfit_values: dict) -> bool:
        """True when regularization ``name``'s beta should cool: its data set is above target.

        A joint regularization over several data sets is every model's smoothness:
        cooling it for the one data set still above target would strip the others of
        theirs, so it counts as above target only when all of its data sets are
        (Gauss-Newton also cools it when one of them stalls, see
        :class:`jointinv.solvers.cooling.Cooling`). Solvers ask only of the betas in
        :meth:`tuned_betas`.
        """
        targets = self.targets()
        keys = self.regularizations[name].keys
        above = [misfit_values[key] > targets[key] for key in keys]
        return all(above) if len(keys) > 1 else any(above)

    def linearize(self, variables: dict) -> ProblemPoint:
        """The problem at ``variables``: one simulation per data set, reused for everything."""
        return ProblemPoint(self, variables)

    # -- Hessian pieces for beta estimation -------------------------------------------
    def regularization_hessian_operator(self, variables: dict, stand_ins=None) -> dict:
        """``{name: v -> H_m v}`` per regularization (beta = 1), ``v`` a dict over its models.

        ``stand_ins``: ``{name: Term}`` whose Hessian replaces that of regularization
        ``name`` (over the same models), e.g. the full Tikhonov term of a model that
        keeps only its smallness.
        """
        ops = {}
        for name, term in self.regularizations.items():
            term = (stand_ins or {}).get(name, term)
            leaves = {k: variables[k].detach().clone().requires_grad_(True) for k in term.keys}
            with torch.enable_grad():
                grads = torch.autograd.grad(term(leaves), list(leaves.values()),
                                            create_graph=True, allow_unused=True)

            def apply(v, grads=grads, leaves=leaves):
                used = [(g, k) for g, k in zip(grads, leaves) if g is not None and g.requires_grad]
                if not used:
                    return {k: torch.zeros_like(v[k]) for k in leaves}
                with torch.enable_grad():
                    dot = sum((g * v[k]).sum() for g, k in used)
                    second = torch.autograd.grad(dot, list(leaves.values()), retain_graph=True,
                                                 allow_unused=True)
                return {k: (s.detach() if s is not None else torch.zeros_like(v[k]))
                        for k, s in zip(leaves, second)}

            ops[name] = apply
        return ops


class ProblemPoint:
    """An :class:`InversionProblem` linearised at one set of models.

    Creating it simulates each data set once (:meth:`DataMisfit.linearize`);
    the misfit values, the gradient and every Gauss-Newton Hessian product at
    this point reuse that simulation. Betas are read when :meth:`phi`,
    :meth:`gradient` or :meth:`hessian` are called, so cooling them needs no
    new simulation.
    """

    def __init__(self, problem: InversionProblem, variables: dict):
        self.problem = problem
        self.variables = {k: variables[k].detach() for k in problem.keys}
        self.slopes = {k: problem.maps[k].derivative(m) for k, m in self.variables.items()}
        with torch.no_grad():
            properties = problem.properties(self.variables)
        self.linear = [(misfit.key, misfit.linearize(properties[misfit.key]))
                       for misfit in problem.misfits]
        self.misfits = {}
        for key, linear in self.linear:
            self.misfits[key] = self.misfits.get(key, 0.0) + linear.value
        self._model_parts = None
        self._data_gradient = None

    # -- values -------------------------------------------------------------------
    def parts(self) -> dict:
        """Every term's value as floats (``phi_d[key]``, ``phi_m[key]``, ``coupling[name]``)."""
        self._model_values()
        return {**{f"phi_d[{k}]": v for k, v in self.misfits.items()},
                **{name: float(value.detach()) for name, value in self._model_parts.items()}}

    def phi(self) -> float:
        """The objective with the problem's current betas."""
        return float(self.problem.total(self.parts()))

    def at_target(self) -> bool:
        return self.problem.at_target(self.misfits)

    def reset_model_terms(self) -> None:
        """Forget the regularization and coupling values (their terms were changed in place)."""
        self._model_parts = None

    def _model_values(self):
        if self._model_parts is None:
            self._leaves = {k: m.clone().requires_grad_(True) for k, m in self.variables.items()}
            with torch.enable_grad():
                self._model_parts = self.problem.model_parts(self._leaves)
        return self._model_parts

    # -- derivatives ----------------------------------------------------------------
    def gradient(self) -> dict:
        """``{key: d phi / d m_key}`` with the current betas."""
        if self._data_gradient is None:
            self._data_gradient = {k: torch.zeros_like(m) for k, m in self.variables.items()}
            for key, linear in self.linear:
                self._data_gradient[key] += self.slopes[key] * linear.gradient()
        problem, parts = self.problem, self._model_values()
        total = 0.0
        for key in problem.regularizations:
            total = total + problem.betas[key] * parts[f"phi_m[{key}]"]
        for name, weight, _ in problem.couplings:
            total = total + weight * parts[f"coupling[{name}]"]
        gradient = {k: g.clone() for k, g in self._data_gradient.items()}
        if isinstance(total, torch.Tensor) and total.requires_grad:
            leaves = [self._leaves[k] for k in problem.keys]
            with torch.enable_grad():
                model_grads = torch.autograd.grad(total, leaves, retain_graph=True,
                                                  allow_unused=True)
            for key, g in zip(problem.keys, model_grads):
                if g is not None:
                    gradient[key] += g
        return gradient

    def data_hessians(self) -> dict:
        """``{key: v -> 2 J_w^T J_w v}`` (chain rule through the map) for beta estimation."""
        ops = {}
        for key, linear in self.linear:
            slope = self.slopes[key]
            previous = ops.get(key)

            def apply(v, linear=linear, slope=slope, previous=previous):
                out = 2.0 * slope * linear.vjp(linear.jvp(slope * v))
                return out if previous is None else out + previous(v)

            ops[key] = apply
        return ops

    def hessian(self):
        """Gauss-Newton Hessian-vector product ``{key: v} -> {key: H v}``.

        Data terms contribute ``2 J_w^T J_w``. A coupling that is a sum of
        squares (it has ``residual(models)``) contributes its Gauss-Newton part
        ``2 J_r^T J_r``, which keeps ``H`` positive semi-definite as SimPEG's
        ``approx_hessian`` does; regularizations and other couplings their
        exact Hessian (double backward; regularizations are quadratic).
        """
        problem = self.problem
        data = self.data_hessians()
        leaves = {k: m.clone().requires_grad_(True) for k, m in self.variables.items()}
        squares = [(weight, _residual_products(term, self.variables, problem.keys))
                   for _, weight, term in problem.couplings if hasattr(term, "residual")]
        with torch.enable_grad():
            smooth_total = 0.0
            for key, term in problem.regularizations.items():
                smooth_total = smooth_total + problem.betas[key] * term(leaves)
            for _, weight, term in problem.couplings:
                if not hasattr(term, "residual"):
                    smooth_total = smooth_total + weight * term(leaves)
            smooth_grads = (torch.autograd.grad(
                smooth_total, [leaves[k] for k in problem.keys], create_graph=True,
                allow_unused=True) if isinstance(smooth_total, torch.Tensor)
                else [None] * len(problem.keys))

        def apply(v: dict) -> dict:
            out = {k: data[k](v[k]) for k in problem.keys}
            used = [(g, k) for g, k in zip(smooth_grads, problem.keys)
                    if g is not None and g.requires_grad]
            if used:
                dot = sum((g * v[k]).sum() for g, k in used)
                with torch.enable_grad():
                    second = torch.autograd.grad(dot, [leaves[k] for k in problem.keys],
                                                 retain_graph=True, allow_unused=True)
                for k, s in zip(problem.keys, second):
                    if s is not None:
                        out[k] = out[k] + s.detach()
            for weight, (jvp, vjp) in squares:
                for k, product in vjp(jvp(v)).items():
                    out[k] = out[k] + 2.0 * weight * product
            return out

        return apply
