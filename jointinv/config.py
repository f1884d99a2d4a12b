"""YAML configuration of comparison studies, validated before any simulation.

Example (``jointinv compare study.yaml``)::

    case: dike                  # built-in joint case: dike | fault
    seed: 0                     # noise seed
    output: jointinv-output/compare
    velocity_units: m/s         # or km/s
    true_models_file: null      # optional .npz with arrays "traveltime", "dcr"
    options:                    # shared by every strategy that takes them
      max_iterations: 30
    physics:                    # per-physics regularization (PhysicsSetup fields)
      traveltime: {alpha_s: 0.001}
      dcr: {alpha_s: 0.001}
      # a waveform physics of a case mapping may add multiscale bands [Hz]:
      # acoustic: {frequencies: [5, 10, 20]}
    strategies:
      - name: independent
      - name: cross_gradient
        coupling: {weight: 1.0}
      - name: sequential
        coupling: {kind: cross_gradient, weight: 0.1}

Every key, its type, range and default is in :data:`SCHEMA` (``jointinv
schema`` prints it). The options a strategy takes are read from the strategy
itself (:func:`jointinv.strategies.strategy_options`: its keyword arguments
and :class:`jointinv.runner.SolverOptions`), so a new option is accepted
without touching this file; those named in :data:`SCHEMA` are also
range-checked, the others typed by their default. :func:`validate_config`
returns a config of the same form as its input, so validating twice gives
the same result.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["load_config", "validate_config", "strategy_settings", "schema_text", "Setting",
           "SCHEMA", "DEFAULT_CONFIG"]


def _cases():
    from .joint_cases import JOINT_CASES
    return JOINT_CASES


def _solvers():
    from .runner import SOLVERS
    return SOLVERS


def _lr_schedules():
    from .solvers import LR_SCHEDULES
    return LR_SCHEDULES


def _regularizations():
    from .joint_regularization import JOINT_REGULARIZATIONS
    return JOINT_REGULARIZATIONS


def _check_case_form(value) -> None:
    if not isinstance(value, (str, dict)):
        raise TypeError(f"must be a case name, 'FILE.py:FUNCTION' or a mapping, "
                        f"got {type(value).__name__}")
    if isinstance(value, str) and value not in _cases() and ":" not in value:
        raise ValueError(f"must be one of the built-in cases {list(_cases())}, "
                         f"'FILE.py:FUNCTION' or 'package.module:FUNCTION', got {value!r}")


def _check_coupling(value) -> None:
    """Let :class:`jointinv.coupling.Coupling` judge a kind name, a mapping or a list."""
    from .coupling import Coupling

    for item in value if isinstance(value, list) else [value]:
        Coupling.coerce(item)


def _check_band_list(value) -> None:
    """Corner frequencies of multiscale bands; the Nyquist limit waits for the operator."""
    from .multiscale import check_frequencies

    check_frequencies(value, None)


def _check_waveform_bands(case, physics: dict) -> None:
    """``physics.NAME.frequencies`` only for waveform physics, below their Nyquist frequency.

    Built-in cases have none; a case mapping's operator is built (not
    simulated) to check it with the same checks as
    :class:`jointinv.PhysicsSetup`. A case function's operators are checked
    when its setups are made.
    """
    from .multiscale import check_frequencies, check_waveform_operator
    from .physics_spec import build_grid, build_operator

    for name, values in physics.items():
        if values.get("frequencies") is None:
            continue
        where = f"config physics.{name}.frequencies"
        if isinstance(case, str) and case in _cases():
            raise ValueError(f"{where}: the built-in case {case!r} has no waveform physics "
                             f"({name!r} has no wavelet to low-pass); frequencies needs an "
                             f"operator with 'dt' and 'source_amplitudes' (e.g. acoustic)")
        if isinstance(case, dict):
            spec = case["physics"][name]["operator"]
            operator = build_operator(build_grid(case["grid"]), spec,
                                      where=f"config case.physics.{name}.operator")
            try:
                check_waveform_operator(operator)
                check_frequencies(values["frequencies"], operator.dt)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{where}: {error}") from error


@dataclass(frozen=True)
class Setting:
    """One config key: its type, allowed range, default and meaning.

    ``low``/``high`` bound numbers (``None``: unbounded; ``low_open``: the
    bound itself is excluded); ``choices`` is a tuple of allowed strings or a
    function returning one (so registries are read only when needed).
    """

    type: type
    default: object = None
    help: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: object = None
    nullable: bool = False
    validator: object = None
    range_note: str = ""
    type_note: str = ""

    def allowed(self) -> tuple | None:
        choices = self.choices() if callable(self.choices) else self.choices
        return None if choices is None else tuple(choices)

    def range_text(self) -> str:
        """The allowed values, e.g. ``> 0``, ``[1, 1000]``, ``one of [...]``."""
        if self.allowed() is not None:
            return f"one of {list(self.allowed())}"
        if self.range_note:
            return self.range_note
        if self.low is None and self.high is None:
            return "any"
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}]"

    def check(self, where: str, value):
        """Return ``value`` (ints as floats where a float is expected) or raise."""
        if value is None and self.nullable:
            return None
        if self.type is float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        elif self.type is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.type)
        if not ok:
            raise TypeError(f"config {where} must be of type {self.type.__name__}"
                            f"{' or null' if self.nullable else ''}, "
                            f"got {type(value).__name__} ({value!r})")
        if self.validator is not None:
            try:
                self.validator(value)
            except (TypeError, ValueError) as error:
                raise type(error)(f"config {where}: {error}") from error
        allowed = self.allowed()
        if allowed is not None and value not in allowed:
            raise ValueError(f"config {where} must be one of {list(allowed)}, got {value!r}")
        if self.type in (int, float):
            value = float(value) if self.type is float else int(value)
            too_low = self.low is not None and (value <= self.low if self.low_open
                                                else value < self.low)
            too_high = self.high is not None and value > self.high
            if not math.isfinite(value) or too_low or too_high:
                raise ValueError(f"config {where} must be {self.range_text()}, got {value!r}")
        return value


#: Every config key. ``physics.*.`` keys apply to each physics; ``options.``
#: keys to the shared ``options`` and to each ``strategies[i]`` entry.
SCHEMA = {
    "case": Setting(object, "dike", "built-in joint case name, 'FILE.py:FUNCTION' / "
                    "'module:FUNCTION' returning the cases, or a mapping {grid, "
                    "true_models, physics} (see jointinv.user_cases)",
                    validator=_check_case_form, type_note="str or mapping",
                    range_note="a name, a reference or a mapping"),
    "seed": Setting(int, 0, "noise seed", low=0, high=2**63 - 1),
    "output": Setting(str, "jointinv-output/compare", "output folder"),
    "velocity_units": Setting(str, "m/s", "units of the velocity models",
                              choices=("m/s", "km/s")),
    "true_models_file": Setting(str, None, ".npz with one true model per physics "
                                "(relative to the config file)", nullable=True),
    "physics.*.alpha_s": Setting(float, 1e-3, "smallness weight", low=0),
    "physics.*.alpha_x": Setting(float, 1.0, "horizontal smoothness weight", low=0),
    "physics.*.alpha_z": Setting(float, 1.0, "vertical smoothness weight", low=0),
    "physics.*.smallness_norm": Setting(int, 2, "2: least-squares smallness; 1: L1 "
                                        "(first-order solvers, needs beta)", low=1, high=2),
    "physics.*.chi_factor": Setting(float, 1.0, "target misfit = chi_factor * n_data",
                                    low=0, low_open=True),
    "physics.*.sensitivity_weighting": Setting(bool, False, "sensitivity-weighted "
                                               "regularization"),
    "physics.*.beta": Setting(float, None, "fixed starting beta (estimated when null)",
                              low=0, low_open=True, nullable=True),
    "physics.*.frequencies": Setting(list, None, "multiscale bands of a waveform physics: "
                                     "increasing low-pass corners [Hz], one inversion per "
                                     "band, warm starts (other physics unfiltered in every "
                                     "band; one banded physics per joint strategy)",
                                     nullable=True, validator=_check_band_list,
                                     type_note="list of float or null",
                                     range_note="increasing, > 0, below the operator's "
                                     "Nyquist frequency"),
    "physics.*.filter_order": Setting(int, 4, "Butterworth order of the bands' low-pass",
                                      low=1),
    "options.solver": Setting(str, None, "solver", choices=_solvers),
    "options.max_iterations": Setting(int, None, "solver iterations (rounds for sequential)",
                                      low=1),
    "options.beta0_ratio": Setting(float, None, "starting beta / eigenvalue estimate",
                                   low=0, low_open=True),
    "options.cooling_factor": Setting(float, None, "beta is divided by it while above "
                                      "target (1 = no cooling)", low=1),
    "options.cooling_rate": Setting(int, None, "cool beta every cooling_rate iterations",
                                    low=1),
    "options.cg_max_iterations": Setting(int, None, "CG iterations per Gauss-Newton step",
                                         low=1),
    "options.lr": Setting(float, None, "learning rate of adam / lbfgs", low=0, low_open=True,
                          nullable=True),
    "options.lr_schedule": Setting(str, None, "adam: constant rate, or cosine decay to 0 "
                                   "at max_iterations", choices=_lr_schedules),
    "options.coupling": Setting(object, None, "structural coupling: a kind, {kind:, weight:, "
                                "eps:} (weight = unit-free lambda) or a list of them",
                                validator=_check_coupling,
                                range_note="kind one of [cross_gradient, "
                                "cross_gradient_unnormalized, joint_total_variation, "
                                "petrophysical], weight >= 0, eps > 0, n_clusters >= 1, "
                                "resolution_aware (petrophysical) true or false",
                                type_note="str, mapping or list"),
    "options.coupling_iterations": Setting(int, None, "L-BFGS iterations of a coupling step",
                                           low=1),
    "options.hold_iterations": Setting(int, None, "Gauss-Newton iterations that hold every "
                                       "misfit at its target (betas and coupling weights "
                                       "rescaled)", low=0),
    "options.regularization": Setting(str, None, "each model's own smoothness, or one joint "
                                      "total variation or minimum gradient support of all "
                                      "models", choices=_regularizations),
    "options.regularization_eps": Setting(float, None, "relative change below which the "
                                          "joint total variation (minimum gradient support) acts "
                                          "like L2 smoothness",
                                          low=0, low_open=True),
    "options.edge_contrast": Setting(float, None, "structure-guided smoothness: relative "
                                     "change of the other models that relaxes it (null: off)",
                                     low=0, low_open=True, nullable=True),
}

DEFAULT_CONFIG = {
    **{key: s.default for key, s in SCHEMA.items() if "." not in key},
    "options": {},
    "physics": {},
    "strategies": [{"name": "independent"}, {"name": "cross_gradient"}],
}

#: Strategy options that a config cannot set, and why.
_NOT_IN_CONFIG = {"progress": "the command line sets it (--quiet)",
                  "callback": "it is a Python function; use the Python API",
                  "parameterization": "it is a torch module; use the Python API"}
_ENTRY_KEYS = ("name", "label")


def strategy_settings(name: str) -> dict:
    """``{option: default}`` a config may give strategy ``name``.

    The names come from the strategy (:func:`jointinv.strategies.strategy_options`);
    a default from its signature, else from :class:`jointinv.runner.SolverOptions`
    (a strategy may start from other solver defaults: its docstring says so).
    """
    from .runner import SolverOptions
    from .strategies import STRATEGIES, strategy_options

    parameters = inspect.signature(STRATEGIES[name]).parameters
    solver_defaults = {f.name: f.default for f in dataclasses.fields(SolverOptions)}
    settings = {}
    for option in strategy_options(name):
        if option in _NOT_IN_CONFIG:
            continue
        parameter = parameters.get(option)
        has_default = parameter is not None and parameter.default is not parameter.empty
        settings[option] = parameter.default if has_default else solver_defaults.get(option)
    return settings


def _check_keys(where: str, mapping, allowed):
    if not isinstance(mapping, dict):
        raise TypeError(f"config {where} must be a mapping, got {type(mapping).__name__}")
    for key in sorted(set(mapping) & set(_NOT_IN_CONFIG) - set(allowed)):
        raise ValueError(f"config {where}.{key} cannot be set in a config: {_NOT_IN_CONFIG[key]}")
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValueError(f"config {where} has unknown keys {unknown}; allowed: {sorted(allowed)}")


def _setting_for(key: str, default) -> Setting:
    """The schema entry of a strategy option, or one typed by its default in the signature."""
    if f"options.{key}" in SCHEMA:
        return SCHEMA[f"options.{key}"]
    if isinstance(default, (bool, int, float, str)):
        return Setting(type(default))
    return Setting(object, nullable=True)  # e.g. an object the strategy builds itself


def _check_strategy(index: int, entry) -> dict:
    from .strategies import STRATEGIES

    where = f"strategies[{index}]"
    if not isinstance(entry, dict) or "name" not in entry:
        raise ValueError(f"config {where} must be a mapping with a 'name' key, got {entry!r}")
    if entry["name"] not in STRATEGIES:
        raise ValueError(f"config {where}.name must be one of {sorted(STRATEGIES)}, "
                         f"got {entry['name']!r}")
    defaults = strategy_settings(entry["name"])
    options = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
    _check_keys(where, options, defaults)
    checked = {"name": entry["name"], "label": str(entry.get("label", entry["name"]))}
    checked.update({k: _setting_for(k, defaults[k]).check(f"{where}.{k}", v)
                    for k, v in options.items()})
    return checked


def _check_shared_options(options, strategies) -> dict:
    """Shared options go to every listed strategy that takes them; each must fit one."""
    accepted = {}
    for entry in strategies:
        for key, default in strategy_settings(entry["name"]).items():
            accepted.setdefault(key, default)
    _check_keys("options", options, accepted)
    return {k: _setting_for(k, accepted[k]).check(f"options.{k}", v) for k, v in options.items()}


def validate_config(config: dict, base: Path | None = None) -> dict:
    """Complete ``config`` with defaults and check every key, type, range and file.

    Parameters
    ----------
    config : dict or None
        As read from YAML; see :data:`SCHEMA`.
    base : pathlib.Path, optional
        Folder that relative file names are relative to (the config's folder).

    Returns
    -------
    dict
        A new config of the same form with every default filled in; ints
        given for floats become floats. ``validate_config`` of it returns an
        equal dict.

    Raises
    ------
    TypeError, ValueError
        Naming the key path and what it accepts.
    """
    if config is None:
        config = {}
    _check_keys("(top level)", config, DEFAULT_CONFIG)
    merged = {**DEFAULT_CONFIG, **config}
    from .user_cases import case_keys, check_case_spec, load_case_function

    for key in ("case", "seed", "output", "velocity_units", "true_models_file"):
        merged[key] = SCHEMA[key].check(key, merged[key])
    if isinstance(merged["case"], dict):
        merged["case"] = check_case_spec(merged["case"], base)
    elif merged["case"] not in _cases() and base is not None:
        target, _, name = merged["case"].rpartition(":")
        if target.endswith(".py") and not Path(target).is_absolute():
            merged["case"] = f"{base / target}:{name}"
    if isinstance(merged["case"], str) and merged["case"] not in _cases():
        load_case_function(merged["case"], base)  # resolvable before any work
    if merged["true_models_file"] is not None:
        path = Path(merged["true_models_file"])
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise ValueError(f"config true_models_file {str(path)!r} does not exist")
        merged["true_models_file"] = str(path)
    keys = case_keys(merged["case"])
    if keys is not None:
        _check_keys("physics", merged["physics"], keys)
    elif not isinstance(merged["physics"], dict):
        raise TypeError(f"config physics must be a mapping, got "
                        f"{type(merged['physics']).__name__}")
    physics_keys = {k.split(".")[-1]: s for k, s in SCHEMA.items() if k.startswith("physics.")}
    merged["physics"] = {name: dict(values) for name, values in merged["physics"].items()}
    for name, values in merged["physics"].items():
        _check_keys(f"physics.{name}", values, physics_keys)
        merged["physics"][name] = {k: physics_keys[k].check(f"physics.{name}.{k}", v)
                                   for k, v in values.items()}
    _check_waveform_bands(merged["case"], merged["physics"])
    strategies = merged["strategies"]
    if not isinstance(strategies, list) or not strategies:
        raise TypeError("config strategies must be a non-empty list of {name: ..., options}")
    merged["strategies"] = [_check_strategy(i, entry) for i, entry in enumerate(strategies)]
    labels = [e["label"] for e in merged["strategies"]]
    if len(set(labels)) != len(labels):
        raise ValueError(f"config strategies need distinct labels (add label: ...), got {labels}")
    merged["options"] = _check_shared_options(merged["options"], merged["strategies"])
    return merged


def load_config(path) -> dict:
    """Read and validate a YAML comparison config."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"config file {str(path)!r} is not valid YAML: {error}") from error
    return validate_config(config, base=path.parent)


def schema_text() -> str:
    """Every config key with its type, range, default and meaning (``jointinv schema``)."""
    from .runner import SolverOptions
    from .strategies import STRATEGIES

    def row(key, setting, default, mark=""):
        kind = setting.type_note or setting.type.__name__ + (" or null" if setting.nullable
                                                             else "")
        return f"| {key} | {kind} | {setting.range_text()} | {default!r}{mark} | {setting.help} |"

    lines = ["Keys of a comparison config (jointinv compare CONFIG.yaml)", "",
             "| key | type | range | default | meaning |", "|---|---|---|---|---|"]
    lines += [row(k, s, s.default) for k, s in SCHEMA.items() if not k.startswith("options.")]
    lines += ["", "physics.* names a model of the case (traveltime, dcr for the built-in "
              "cases; the keys of case.physics for a case mapping).", "",
              "Strategy options, in options (shared by every strategy that takes them) "
              "or in a strategies entry (- name: ..., label: ..., option: value):"]
    for name in STRATEGIES:
        lines += ["", f"strategy {name}:", "",
                  "| key | type | range | default | meaning |", "|---|---|---|---|---|"]
        for key, default in strategy_settings(name).items():
            solver_option = key in SolverOptions.names()
            lines.append(row(key, _setting_for(key, default), default, "*" * solver_option))
    lines += ["", "* default of jointinv.runner.SolverOptions; a strategy may start from its "
              "own (see its docstring: the joint and sequential strategies say so)."]
    return "\n".join(lines)
