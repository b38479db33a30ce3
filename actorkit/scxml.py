"""The W3C SCXML algorithm (its Appendix D) as a sismic ``Interpreter``, for charts with
``semantics: scxml``.

It shares :class:`~actorkit.engine.ActorInterpreter`'s actor-facing parts (the consumed event,
``after()``/``idle()`` wake-ups, ``takes``, ``may_step``, the queues) and replaces how
transitions are chosen and applied: the optimal enabled transition set in document order,
conflicts resolved by exit sets, transition domains on the least common compound ancestor,
parallel states always fully entered, history recorded on exit, ``done.state.<id>`` events.

Each :meth:`ScxmlInterpreter.execute_once` runs one SCXML microstep: an eventless one if any
transition without an event is enabled, else one on the next due event (internal before
external). Called until it returns ``None``, as the actor does, that is SCXML's macro step.
"""

from __future__ import annotations

from typing import Any

from sismic.model import Event, InternalEvent, MacroStep, MicroStep

from .engine import ActorInterpreter
from .scxmltree import ScxmlStatechart, ScxmlTransition, Tree

__all__ = ["ScxmlInterpreter"]


class ScxmlInterpreter(ActorInterpreter):
    """A sismic ``Interpreter`` that follows SCXML's semantics instead of sismic's."""

    _statechart: ScxmlStatechart
    _initialized: bool

    def execute_once(self) -> MacroStep | None:
        self.wakeup = None
        self._time = self.clock.time
        self._sent_events.clear()
        tree = self._statechart.tree
        if not self._initialized:
            self._initialized = True
            self.current_event = None
            steps = self._enter(tree, [], None, initial=True)
        else:
            enabled = self._enabled(None, None)
            event: Event | None = None
            if not enabled:
                event = self._select_event(consume=True)
                if event is None:
                    self._check_invariants(None)
                    return None
                enabled = self._enabled(event.name, event)
            if not enabled:
                steps = [MicroStep(event=event)]
            else:
                steps = self._microstep(tree, enabled, event)
        macro = MacroStep(time=self._time, steps=steps)
        self._check_invariants(macro)
        return macro

    def _check_invariants(self, macro: MacroStep | None) -> None:
        if not self._ignore_contract:
            for name in self.configuration:
                self._evaluate_contract_conditions(
                    self._statechart.state_for(name), "invariants", macro)

    # -- choosing ------------------------------------------------------------------------------

    def _enabled(self, name: str | None, event: Event | None) -> list[ScxmlTransition]:
        """SCXML's selectTransitions/selectEventlessTransitions, then
        removeConflictingTransitions."""
        tree = self._statechart.tree
        guard = self._evaluator.evaluate_guard
        held: dict[int, bool] = {}  # a guard asked twice (shared ancestor) runs once
        found: list[ScxmlTransition] = []
        config = self._configuration
        for atomic in tree.sort(s for s in config if s in tree.atomic):
            for state in (atomic, *tree.ancestors[atomic]):
                chosen = None
                for t in tree.transitions[state]:
                    if (t.event is None) if name is None else (
                            t.event is not None and t.takes(name)):
                        if t.guard is not None:
                            ok = held.get(t.order)
                            if ok is None:
                                ok = held[t.order] = bool(guard(t, event))
                            if not ok:
                                continue
                        chosen = t
                        break
                if chosen is not None:
                    if all(chosen is not f for f in found):
                        found.append(chosen)
                    break
        return self._without_conflicts(tree, found) if len(found) > 1 else found

    def _without_conflicts(self, tree: Tree, enabled: list[ScxmlTransition],
                           ) -> list[ScxmlTransition]:
        kept: list[ScxmlTransition] = []
        exits: dict[int, set[str]] = {}

        def exit_set(t: ScxmlTransition) -> set[str]:
            if t.order not in exits:
                exits[t.order] = self._exit_set(tree, [t])
            return exits[t.order]

        for t1 in enabled:
            preempted = False
            dropped = []
            for t2 in kept:
                if exit_set(t1) & exit_set(t2):
                    if tree.is_descendant(t1.source, t2.source):
                        dropped.append(t2)
                    else:
                        preempted = True
                        break
            if not preempted:
                kept = [t for t in kept if all(t is not d for d in dropped)]
                kept.append(t1)
        return kept

    def takes(self, event: Event) -> bool:
        self._time = self.clock.time
        return bool(self._enabled(event.name, event))

    # -- the tree ------------------------------------------------------------------------------

    def _effective_targets(self, tree: Tree, t: ScxmlTransition) -> list[str]:
        out: list[str] = []
        todo = list(t.targets)
        while todo:
            s = todo.pop(0)
            if s in tree.history:
                remembered = self._memory.get(s)
                todo[:0] = remembered if remembered else self._history_default(tree, s)
            elif s not in out:
                out.append(s)
        return out

    def _history_default(self, tree: Tree, history: str) -> list[str]:
        default = tree.defaults.get(history)
        if default:
            return list(default)
        parent = tree.parent[history]
        assert parent is not None
        return list(tree.initial.get(parent) or tree.children[parent])

    def _domain(self, tree: Tree, t: ScxmlTransition) -> str | bool | None:
        """The transition's domain; ``False`` for a transition without targets (none)."""
        targets = self._effective_targets(tree, t)
        if not targets:
            return False
        source: str = t.source
        if t.internal_type and source in tree.compound and all(
                tree.is_descendant(s, source) for s in targets):
            return source
        for anc in tree.ancestors[source]:
            if anc in tree.compound and all(tree.is_descendant(s, anc) for s in targets):
                return anc
        return None  # the document itself: everything is exited and entered again

    def _exit_set(self, tree: Tree, transitions: list[ScxmlTransition]) -> set[str]:
        out: set[str] = set()
        for t in transitions:
            if t.targets:
                domain = self._domain(tree, t)
                if domain is not False:
                    out.update(s for s in self._configuration
                               if tree.is_descendant(s, domain))  # type: ignore[arg-type]
        return out

    def _entry_set(self, tree: Tree, transitions: list[ScxmlTransition],
                   ) -> tuple[list[str], list[str]]:
        """SCXML's computeEntrySet: the states to enter, in entry order, and the history
        states the entry goes through."""
        enter: dict[str, None] = {}  # an ordered set
        # the history states the entry went through (SCXML's default entry content has no
        # counterpart here: an initial or history default has no actions)
        histories: dict[str, None] = {}

        def descendants(state: str) -> None:
            if state in tree.history:
                histories[state] = None
                remembered = self._memory.get(state)
                targets = list(remembered) if remembered else self._history_default(tree, state)
                parent = tree.parent[state]
                for s in targets:
                    descendants(s)
                for s in targets:
                    ancestors(s, parent)
                return
            enter[state] = None
            if state in tree.compound:
                for s in tree.initial[state]:
                    descendants(s)
                for s in tree.initial[state]:
                    ancestors(s, state)
            elif state in tree.parallel:
                for child in tree.children[state]:
                    if not any(tree.is_descendant(s, child) for s in enter):
                        descendants(child)

        def ancestors(state: str, ancestor: str | None) -> None:
            for anc in tree.ancestors[state]:
                if anc == ancestor:
                    break
                enter[anc] = None
                if anc in tree.parallel:
                    for child in tree.children[anc]:
                        if not any(tree.is_descendant(s, child) for s in enter):
                            descendants(child)

        for t in transitions:
            for s in t.targets:
                descendants(s)
            domain = self._domain(tree, t)
            for s in self._effective_targets(tree, t):
                ancestors(s, None if domain is False else domain)  # type: ignore[arg-type]
        return tree.sort(enter), list(histories)

    def _in_final(self, tree: Tree, state: str) -> bool:
        config = self._configuration
        if state in tree.compound:
            return any(c in tree.final and c in config for c in tree.children[state])
        if state in tree.parallel:
            return all(self._in_final(tree, c) for c in tree.children[state])
        return False

    # -- doing ---------------------------------------------------------------------------------

    def _microstep(self, tree: Tree, enabled: list[ScxmlTransition], event: Event | None,
                   ) -> list[MicroStep]:
        exits = tree.sort(self._exit_set(tree, enabled), reverse=True)
        config = self._configuration
        for s in exits:
            for h in tree.histories[s]:
                if h in tree.deep:
                    self._memory[h] = [c for c in config if c in tree.atomic
                                       and tree.is_descendant(c, s)]
                else:
                    self._memory[h] = [c for c in config if tree.parent[c] == s]
        evaluator = self._evaluator
        left: list[Event] = []
        for s in exits:
            state = self._statechart._states[s]
            left.extend(evaluator.execute_on_exit(state))
            config.remove(s)
            self._contract(state, "postconditions")
        self._queue(left)
        now = self._time
        steps = []
        for t in enabled:
            self._contract(t, "preconditions", event)
            self._contract(t, "invariants", event)
            sent = list(evaluator.execute_action(t, event))
            self._contract(t, "postconditions", event)
            self._contract(t, "invariants", event)
            self._idle_time[t.source] = now
            self._queue(sent)
            steps.append(MicroStep(event=event, transition=t, sent_events=sent))
        steps[0].exited_states = exits
        steps[0].sent_events[:0] = left
        more = self._enter(tree, enabled, event)
        steps[-1].entered_states = more[0].entered_states
        steps[-1].sent_events.extend(more[0].sent_events)
        return [*steps, *more[1:]]

    def _enter(self, tree: Tree, enabled: list[ScxmlTransition], event: Event | None, *,
               initial: bool = False) -> list[MicroStep]:
        if initial:
            # The document's initial transition targets the root state.
            enabled = [ScxmlTransition.__new__(ScxmlTransition)]
            enabled[0].targets, enabled[0].internal_type = (tree.root,), False
            enabled[0]._source = tree.root
        order, histories = self._entry_set(tree, enabled)
        config = self._configuration
        evaluator = self._evaluator
        now = self._time
        sent: list[Event] = []
        halt = False
        for s in order:
            state = self._statechart._states[s]
            self._contract(state, "preconditions", event)
            config.add(s)
            self._entry_time[s] = now
            self._idle_time[s] = now
            raised = list(evaluator.execute_on_entry(state))
            if s in tree.final:
                parent = tree.parent[s]
                if parent == tree.root and parent in tree.compound:
                    halt = True  # the root stands for the document: the chart is done
                elif parent is not None:
                    raised.append(InternalEvent(f"done.state.{parent}"))
                    grand = tree.parent[parent]
                    if grand is not None and grand in tree.parallel and self._in_final(
                            tree, grand):
                        raised.append(InternalEvent(f"done.state.{grand}"))
            self._queue(raised)
            sent.extend(raised)
        steps = [MicroStep(event=event, entered_states=order, sent_events=sent)]
        if histories:
            # As sismic shows a history state: entered and left for what it remembered (so
            # that coverage counts it), though it is never active.
            steps.append(MicroStep(event=event, entered_states=histories,
                                   exited_states=histories))
        if halt:
            ended = tree.sort(config, reverse=True)
            left: list[Event] = []
            for s in ended:
                left.extend(evaluator.execute_on_exit(self._statechart._states[s]))
                config.remove(s)
            self._queue(left)
            steps.append(MicroStep(exited_states=ended, sent_events=left))
        return steps

    def _queue(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, InternalEvent):
                self._queue_event(e)
            self._sent_events.append(e)

    def _contract(self, obj: Any, kind: str, event: Event | None = None) -> None:
        if not self._ignore_contract:
            self._evaluate_contract_conditions(obj, kind, MicroStep(event=event))
