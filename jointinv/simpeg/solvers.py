"""Choice of the sparse direct solver for SimPEG plugins with a PDE to factorise.

Through pymatsolver: Pardiso when its binding (pydiso) is importable, else
MUMPS, else SciPy's SuperLU (``pymatsolver.SolverLU``, always there). The
choice is announced once per solver on the ``jointinv.simpeg.solvers`` logger
at INFO level.
"""

from __future__ import annotations

import logging

import pymatsolver

__all__ = ["SOLVER_NAMES", "choose_solver", "solver_name", "solver_options"]

logger = logging.getLogger(__name__)

#: Names accepted by :func:`choose_solver`, fastest first.
SOLVER_NAMES = ("pardiso", "mumps", "superlu")

_CLASSES = {"pardiso": pymatsolver.Pardiso, "mumps": pymatsolver.Mumps,
            "superlu": pymatsolver.SolverLU}
_INSTALL_HINT = {"pardiso": "install pydiso", "mumps": "install python-mumps"}
_announced: set = set()


def _available(name: str) -> bool:
    if name == "superlu":
        return True
    return bool(pymatsolver.AvailableSolvers["Pardiso" if name == "pardiso" else "Mumps"])


def solver_name(solver_class: type) -> str:
    """Our name for a solver class (``"pardiso"``, ``"mumps"``, ``"superlu"``)
    or the class name for a user's own solver."""
    for name, cls in _CLASSES.items():
        if solver_class is cls:
            return name
    return solver_class.__name__


def choose_solver(solver=None) -> type:
    """The solver class to factorise a simulation's system matrices with.

    Parameters
    ----------
    solver : {None, "pardiso", "mumps", "superlu"} or type, default None
        ``None`` picks the fastest available (Pardiso, MUMPS, SuperLU). A name
        asks for that one. A class is used as given: it is called as
        ``solver(A, **options)`` and must provide ``*`` (solve) and
        ``clean()``, as pymatsolver's solvers do.

    Returns
    -------
    type
        The solver class.

    Raises
    ------
    TypeError
        If ``solver`` is neither None, a string nor a class.
    ValueError
        If the name is unknown or that solver is not installed.
    """
    if solver is None:
        name = next(name for name in SOLVER_NAMES if _available(name))
        chosen = _CLASSES[name]
    elif isinstance(solver, str):
        name = solver.lower()
        if name not in _CLASSES:
            raise ValueError(f"solver must be one of {list(SOLVER_NAMES)} or a solver class, "
                             f"got {solver!r}")
        if not _available(name):
            raise ValueError(f"solver {solver!r} is not available here "
                             f"({_INSTALL_HINT[name]}); 'superlu' always is")
        chosen = _CLASSES[name]
    elif isinstance(solver, type):
        if not callable(getattr(solver, "clean", None)):
            raise TypeError(f"solver class must provide clean() and solves, like pymatsolver's "
                            f"solvers; {solver.__name__} has no clean()")
        chosen = solver
    else:
        raise TypeError(f"solver must be None, a name in {list(SOLVER_NAMES)} or a solver class, "
                        f"got {type(solver).__name__}")
    if chosen not in _announced:
        _announced.add(chosen)
        logger.info("SimPEG: factorising with %s (pymatsolver.%s)",
                    solver_name(chosen), chosen.__name__)
    return chosen


def solver_options(solver_class: type, options: dict) -> dict:
    """The simulation's solver options that ``solver_class`` accepts.

    SimPEG's nodal DC simulation marks its matrices symmetric positive
    definite for Pardiso/MUMPS; SciPy's ``splu`` has no such keywords and would warn
    at every factorisation.
    """
    if issubclass(solver_class, pymatsolver.SolverLU):
        return {key: value for key, value in options.items()
                if key not in ("is_symmetric", "is_positive_definite")}
    return dict(options)
