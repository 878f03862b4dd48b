"""A neuron model from Brian2 equations: Brian2's linear-system extraction and a propagator updater (spec 7).

:func:`linear_model` turns the Brian2 text of a model into a
:class:`rsnn_brian.models.NeuronModel` (plain data the NumPy engine can
use): ``M`` and ``b`` of ``dX/dt = M X + b`` come from Brian2's own
``brian2.stateupdaters.exact.get_linear_system``; before that every term
of every equation is checked to be linear in the state, and the model is
checked to be in the supported family (section 7 of docs/algorithm.md).
Anything outside it is refused with a ValueError naming the term.

:class:`PropagatorUpdater` is the state updater Brian2 runs for such a
model: the matrix exponential ``expm(M dt)`` of the same numbers the engine
uses (:meth:`NeuronModel.propagator`), written out as Brian2 abstract code,
v held while refractory. Brian2's ``method='exact'`` computes that
exponential symbolically and divides by zero when time constants are equal
(``tau_m = tau_s`` or an alpha current); the matrix exponential has no such
singularity.
"""

from __future__ import annotations

import re

from ..models import NeuronModel
from ._brian_private import is_differential, linear_system, state_update_method, sympy_tools

__all__ = ["linear_model", "PropagatorUpdater", "brian_linear_system"]

_ONE_PRE = re.compile(r"^\s*(\w+)_post\s*\+=\s*(.+?)\s*$")
_ONE_RESET = re.compile(r"^\s*(\w+)\s*=\s*(.+?)\s*$")


def _statements(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"[;\n]", text) if s.strip()]


def brian_linear_system(equations: str):
    """``(names, M, b)`` of Brian2's ``get_linear_system`` on the equations (sympy matrices)."""
    from brian2 import Equations
    return linear_system(Equations(equations))


def _check_terms(eqs, names, model: str):
    """Every term of every differential equation must be a constant times one state variable."""
    import sympy as sp
    str_to_sympy, sympy_to_str = sympy_tools()
    syms = {n: sp.Symbol(n, real=True) for n in names}
    for name, expr in eqs.get_substituted_expressions({}):
        s_expr = sp.expand(str_to_sympy(expr.code, {}))
        for term in sp.Add.make_args(s_expr):
            inside = [n for n, s in syms.items() if term.has(s)]
            text = sympy_to_str(term)
            where = f"{model}: the term '{text}' of d{name}/dt"
            if term.has(sp.Symbol("t", real=True)) or "t" in {str(f) for f in term.free_symbols}:
                raise ValueError(f"{where} depends on time t: the coefficients must be constant")
            if not inside:
                if term != 0:
                    raise ValueError(f"{where} is a constant drive (b != 0): the S-PSP identity (spec 2.3) "
                                     "needs a model at rest at 0")
                continue
            if len(inside) > 1:
                raise ValueError(f"{where} is a product of state variables ({', '.join(inside)}): not linear"
                                 " (a conductance-based synapse is not supported)")
            coeff = sp.simplify(term / syms[inside[0]])
            if coeff.has(syms[inside[0]]):
                raise ValueError(f"{where} is not linear in {inside[0]}")


def linear_model(equations: str, on_pre: str, threshold: str = "v > v_th", reset: str = "v = 0",
                 name: str = "custom", defaults=()) -> NeuronModel:
    """A :class:`~rsnn_brian.models.NeuronModel` from Brian2 text (spec 7).

    equations : Brian2 equations, dimensionless state, v's equation flagged ``(unless refractory)``;
        parameters (tau_m, tau_s, others) by name, given per layer.
    on_pre : statements ``X_post += c*w`` (c a number, X a state variable other than v).
    threshold : ``v > v_th``.
    reset : statements ``X = 0``, v among them.
    defaults : ``{name: "2 ms"}`` for parameters other than tau_m and tau_s.
    """
    import sympy as sp
    from brian2 import Equations
    _, sympy_to_str = sympy_tools()
    eqs = Equations(equations)
    where = f"model {name!r}"
    names = list(eqs.diff_eq_names)
    if "v" not in names:
        raise ValueError(f"{where}: the equations must define dv/dt (the membrane potential v)")
    for eq in eqs.values():
        if not is_differential(eq) and eq.varname in eqs.names and eq.varname not in eqs.subexpr_names:
            raise ValueError(f"{where}: '{eq.varname}' is a per-neuron parameter; the coefficients must be "
                             "constants given by name in the namespace")
        if is_differential(eq) and not eq.dim.is_dimensionless:
            raise ValueError(f"{where}: {eq.varname} has unit {eq.dim}; the state must be dimensionless "
                             "(': 1', v_th is a number)")
        held = "unless refractory" in eq.flags
        if eq.varname == "v" and not held:
            raise ValueError(f"{where}: v's equation must be flagged (unless refractory): v is held while "
                             "refractory (spec 1)")
        if eq.varname != "v" and held:
            raise ValueError(f"{where}: only v may be held while refractory, not {eq.varname}")
    _check_terms(eqs, names, where)
    found, M, b = brian_linear_system(equations)
    if any(x != 0 for x in b):
        raise ValueError(f"{where}: constant terms {list(b)}: the model must be at rest at 0")
    order = ["v"] + [n for n in found if n != "v"]
    idx = [found.index(n) for n in order]
    matrix = tuple(tuple(sympy_to_str(M[i, j]) for j in idx) for i in idx)
    jump = [0.0] * len(order)
    for stmt in _statements(on_pre):
        m = _ONE_PRE.match(stmt)
        if not m or m.group(1) not in order:
            raise ValueError(f"{where}: on_pre statement '{stmt}' must add a constant times w to a state "
                             f"variable of the post neuron (X_post += c*w, X one of {', '.join(order)})")
        rhs = sp.sympify(m.group(2), locals={"w": sp.Symbol("w")})
        c = sp.diff(rhs, sp.Symbol("w"))
        if not c.is_Number or sp.simplify(rhs - c * sp.Symbol("w")) != 0:
            raise ValueError(f"{where}: on_pre statement '{stmt}' is not a constant times w")
        if m.group(1) == "v":
            raise ValueError(f"{where}: on_pre statement '{stmt}' jumps v; synaptic input must jump another "
                             "state variable (a current)")
        jump[order.index(m.group(1))] += float(c)
    if " ".join(threshold.split()) != "v > v_th":
        raise ValueError(f"{where}: the threshold must be 'v > v_th', got {threshold!r}")
    reset_states = []
    for stmt in _statements(reset):
        m = _ONE_RESET.match(stmt)
        if not m or m.group(1) not in order:
            raise ValueError(f"{where}: reset statement '{stmt}' must set a state variable to a constant")
        try:
            val = float(m.group(2))
        except ValueError:
            raise ValueError(f"{where}: reset statement '{stmt}' depends on the state or on parameters; only "
                             "resets to constants are supported") from None
        if val != 0:
            raise ValueError(f"{where}: reset statement '{stmt}' sets {m.group(1)} to {val:g}; only resets to 0 "
                             "are supported (the S-PSP identity, spec 2.3, needs the reset state at rest)")
        reset_states.append(m.group(1))
    if "v" not in reset_states:
        raise ValueError(f"{where}: the reset must set v to 0, got {reset!r}")
    reset_states = ["v"] + [s for s in order if s in reset_states and s != "v"]
    return NeuronModel(name, equations, on_pre, tuple(order), matrix, tuple(jump), tuple(reset_states),
                       threshold=threshold, reset=reset, defaults=tuple(dict(defaults).items()))


def PropagatorUpdater(model: NeuronModel, config):
    """A Brian2 ``StateUpdateMethod``: ``X <- expm(M dt) X`` with the layer's parameters, v held while
    refractory (``config`` a :class:`~rsnn_brian.brian.model.NeuronConfig`)."""
    from brian2 import second
    class _Propagator(state_update_method()):
        def __call__(self, equations, variables=None, method_options=None):
            dt = float(variables["dt"].get_value()[0])
            P = model.propagator(config.to_params(dt * second).values())
            lines = []
            for i, s in enumerate(model.states):
                terms = [f"({float(P[i, j])!r})*{x}" for j, x in enumerate(model.states) if P[i, j] != 0]
                rhs = " + ".join(terms) or "0.0"
                if s == "v" and "not_refractory" in variables:
                    rhs = f"({rhs})*int(not_refractory) + v*(1 - int(not_refractory))"
                lines.append(f"_{s} = {rhs}")
            lines += [f"{s} = _{s}" for s in model.states]
            return "\n".join(lines)

        def __repr__(self):
            return f"PropagatorUpdater({model.name!r})"

    return _Propagator()
