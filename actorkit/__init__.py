"""actorkit: stateful actors whose logic is a YAML statechart run by sismic.

A chart (``charts/todo.yaml``) names hook functions (``hooks/todo.py``) and JSON Schemas for the
events each kind of caller may send (``schemas/todo.yaml``). :func:`load_chart` checks and
builds it once; :meth:`Actor.spawn` makes actors of it, which take events one at a time as
transactions and show each caller its own view.

``import actorkit`` stays light: the server and the testing kit live in ``actorkit.server``
and ``actorkit.testing``.
"""

from .actor import Actor, StepResult
from .chart import Chart, Inspection, chart_schema, inspect_chart, load_chart
from .diagnostics import RULES, Diagnostic, Rule, Severity
from .errors import (
    ActorIdError,
    ActorkitError,
    AuthError,
    BoundError,
    ChartError,
    ContextError,
    ContractError,
    DeadlineError,
    EventRejected,
    GraphError,
    HookError,
    NondeterminismError,
    OutputError,
    Quarantined,
    SnapshotError,
    StepError,
    StepLimitError,
)
from .events import Caller, CallerType
from .hooks import Ctx
from .schemas import SYSTEM_EVENTS, ActorSchemas
from .statevalue import StateValue, matches_state, state_value

__version__ = "0.1.0"

__all__ = [
    "RULES",
    "SYSTEM_EVENTS",
    "Actor",
    "ActorIdError",
    "ActorSchemas",
    "ActorkitError",
    "AuthError",
    "BoundError",
    "Caller",
    "CallerType",
    "Chart",
    "ChartError",
    "ContextError",
    "ContractError",
    "Ctx",
    "DeadlineError",
    "Diagnostic",
    "EventRejected",
    "GraphError",
    "HookError",
    "Inspection",
    "NondeterminismError",
    "OutputError",
    "Quarantined",
    "Rule",
    "Severity",
    "SnapshotError",
    "StateValue",
    "StepError",
    "StepLimitError",
    "StepResult",
    "chart_schema",
    "inspect_chart",
    "load_chart",
    "matches_state",
    "state_value",
]
