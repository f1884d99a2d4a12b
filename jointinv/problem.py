"""An inversion problem: data misfits, regularizations with their betas, couplings.

``phi(m) = sum_k [phi_d,k(m_k) + beta_k * phi_m,k(m_k)] + sum_c w_c * coupling_c(m)``

Each data misfit reads one model (``DataMisfit.key``); coupling terms may read
several. The class gives the solvers what they need: the objective and its
parts, the gradient, and Gauss-Newton Hessian-vector products that use the
operators' Jacobian products (never a dense Jacobian).
"""

from __future__ import annotations

import torch

from .objective import DataMisfit, Term

__all__ = ["InversionProblem"]


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
        ``{key: Term}``, the model regularization of each model.
    betas : dict
        ``{key: float}``, trade-off parameter of each regularization.
    couplings : list of (float, Term), optional
        Weighted coupling terms over several models (cross-gradient, ...).
    """

    def __init__(self, misfits, regularizations, betas, couplings=()):
        misfits = list(misfits)
        if not misfits:
            raise ValueError("misfits must hold at least one DataMisfit")
        for misfit in misfits:
            if not isinstance(misfit, DataMisfit):
                raise TypeError(f"misfits must be DataMisfit objects, got {type(misfit).__name__}")
        self.misfits = misfits
        self.keys = tuple(dict.fromkeys(m.key for m in misfits))
        for name, mapping in (("regularizations", regularizations), ("betas", betas)):
            unknown = sorted(set(mapping) - set(self.keys))
            if unknown:
                raise ValueError(
                    f"{name} name models {unknown} that no data misfit reads; "
                    f"models are {list(self.keys)}"
                )
        for key, term in regularizations.items():
            if not isinstance(term, Term):
                raise TypeError(
                    f"regularizations[{key!r}] must be a Term, got {type(term).__name__}"
                )
        self.regularizations = dict(regularizations)
        self.betas = {key: float(betas.get(key, 1.0)) for key in self.regularizations}
        self.couplings = []
        for weight, term in couplings:
            missing = sorted(set(term.keys) - set(self.keys))
            if missing:
                raise ValueError(
                    f"coupling {type(term).__name__} reads models {missing} that no data "
                    f"misfit reads; models are {list(self.keys)}"
                )
            self.couplings.append((float(weight), term))

    # -- values ---------------------------------------------------------------------
    def parts(self, models: dict) -> dict:
        """Every term's value (tensors): ``phi_d[key]``, ``phi_m[key]``, ``coupling[i]``."""
        values = {}
        for misfit in self.misfits:
            name = f"phi_d[{misfit.key}]"
            values[name] = values.get(name, 0.0) + misfit(models)
        for key, term in self.regularizations.items():
            values[f"phi_m[{key}]"] = term(models)
        for index, (_, term) in enumerate(self.couplings):
            values[f"coupling[{type(term).__name__}{index}]"] = term(models)
        return values

    def total(self, parts: dict) -> torch.Tensor:
        """Weighted sum of :meth:`parts` with the current betas."""
        total = 0.0
        for key in self.keys:
            total = total + parts[f"phi_d[{key}]"]
        for key in self.regularizations:
            total = total + self.betas[key] * parts[f"phi_m[{key}]"]
        for index, (weight, term) in enumerate(self.couplings):
            total = total + weight * parts[f"coupling[{type(term).__name__}{index}]"]
        return total

    def objective(self, models: dict) -> torch.Tensor:
        """Scalar objective ``phi(models)``."""
        return self.total(self.parts(models))

    def misfit_values(self, models: dict) -> dict:
        """``{key: phi_d}`` as floats (no gradient)."""
        with torch.no_grad():
            out = {}
            for misfit in self.misfits:
                out[misfit.key] = out.get(misfit.key, 0.0) + float(misfit(models))
        return out

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

    # -- derivatives ------------------------------------------------------------------
    def gradient(self, models: dict):
        """``(phi, parts, {key: dphi/dm_key})`` at ``models`` (tensors detached)."""
        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in models.items()}
        with torch.enable_grad():
            parts = self.parts(leaves)
            phi = self.total(parts)
            grads = torch.autograd.grad(phi, [leaves[k] for k in self.keys])
        parts = {name: float(value.detach()) for name, value in parts.items()}
        return float(phi.detach()), parts, dict(zip(self.keys, grads))

    def hessian_operator(self, models: dict):
        """Gauss-Newton Hessian-vector product ``v -> H v`` at ``models``.

        Data terms contribute ``2 J_w^T J_w`` (``J_w`` the sigma-weighted
        Jacobian). A coupling that is a sum of squares (it has a
        ``residual(models)`` method) contributes its Gauss-Newton part
        ``2 J_r^T J_r``, which keeps the Hessian positive semi-definite as
        SimPEG's ``approx_hessian`` does; regularizations and other couplings
        their exact Hessian (double backward; regularizations are quadratic).
        """
        linear = [(misfit.key, *misfit.linearize(models[misfit.key])) for misfit in self.misfits]
        leaves = {k: models[k].detach().clone().requires_grad_(True) for k in self.keys}
        squares = [(weight, _residual_products(term, models, self.keys))
                   for weight, term in self.couplings if hasattr(term, "residual")]
        with torch.enable_grad():
            smooth_total = 0.0
            for key, term in self.regularizations.items():
                smooth_total = smooth_total + self.betas[key] * term(leaves)
            for weight, term in self.couplings:
                if not hasattr(term, "residual"):
                    smooth_total = smooth_total + weight * term(leaves)
            smooth_grads = torch.autograd.grad(
                smooth_total, [leaves[k] for k in self.keys], create_graph=True, allow_unused=True
            )

        def apply(v: dict) -> dict:
            out = {k: torch.zeros_like(v[k]) for k in self.keys}
            for key, jvp, vjp in linear:
                out[key] = out[key] + 2.0 * vjp(jvp(v[key]))
            used = [(g, k) for g, k in zip(smooth_grads, self.keys) if g is not None]
            if used:
                dot = sum((g * v[k]).sum() for g, k in used)
                with torch.enable_grad():
                    second = torch.autograd.grad(dot, [leaves[k] for k in self.keys],
                                                 retain_graph=True, allow_unused=True)
                for k, s in zip(self.keys, second):
                    if s is not None:
                        out[k] = out[k] + s.detach()
            for weight, (jvp, vjp) in squares:
                for k, product in vjp(jvp(v)).items():
                    out[k] = out[k] + 2.0 * weight * product
            return out

        return apply

    def data_hessian_operator(self, models: dict) -> dict:
        """``{key: v -> 2 J_w^T J_w v}`` for each model (beta estimation)."""
        ops = {}
        for misfit in self.misfits:
            jvp, vjp = misfit.linearize(models[misfit.key])
            ops[misfit.key] = (lambda v, jvp=jvp, vjp=vjp: 2.0 * vjp(jvp(v)))
        return ops

    def regularization_hessian_operator(self, models: dict) -> dict:
        """``{key: v -> H_m v}`` for each model's regularization (beta = 1)."""
        ops = {}
        for key, term in self.regularizations.items():
            leaf = models[key].detach().clone().requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(term({key: leaf}), leaf, create_graph=True)

            def apply(v, grad=grad, leaf=leaf):
                with torch.enable_grad():
                    (hv,) = torch.autograd.grad((grad * v).sum(), leaf, retain_graph=True)
                return hv.detach()

            ops[key] = apply
        return ops
