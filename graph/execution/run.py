"""Runs a plan breadth-first: a whole level of the response at a time.

Each level is a few groups, one per selection, each holding every object the level has for that
selection. Getter fields are copied parent by parent with no coroutine; batch fields are called
once per group with every parent (one `load_many` per relation per level) and the level's
batches run concurrently, so the loaders batch as they do under graphql-core. Objects are
written straight into the response's dicts, created with their keys in selection order.

Errors follow the spec: every field error raised is reported with the field's path and
location, the field is null, and a null in a non-null position makes the nearest nullable
ancestor null (the `Slot` chain records where each object sits and whether that place may be
null). graphql-core stops completing a list once one of its items has made it null, so it may
report fewer of the errors raised below that null; this executor completes the level anyway
and reports them all, as the spec asks.
"""

import asyncio
from collections.abc import Coroutine, Generator, Sequence
from typing import Any

from graphql import GraphQLError, located_error

from graph.execution.fields import type_of
from graph.execution.plan import Bound, Compiler, Plan, Selection, Step

# Where an object (or a list) of the response sits and whether that place may be null:
# (container, index, nullable, parent slot or None). A tuple: a level makes one per object,
# and an instance of a class with __init__ cost 7% of a large response.
Slot = tuple[Any, Any, bool, Any]


async def gathered(coroutines: Sequence[Coroutine[Any, None, Any]]) -> list[Any]:
    """`asyncio.gather(*coroutines, return_exceptions=True)`, with each coroutine's first step
    run here, in turn, as a task's would be on the next turn: one that ends there (a batch
    whose values were primed: a product page's category, variants and images, all brought by
    the product's statement) needs no task and no turn of the loop (two tasks and a turn were
    a twentieth of such a page). Those that wait are awaited together, each resumed as its
    own task would resume it."""
    results: list[Any] = [None] * len(coroutines)
    waiting: list[tuple[int, Coroutine[Any, None, Any], Any]] = []
    for index, coroutine in enumerate(coroutines):
        try:
            awaited = coroutine.send(None)
        except StopIteration as done:
            results[index] = done.value
        except BaseException as error:  # as gather(return_exceptions=True) gives it
            results[index] = error
        else:
            waiting.append((index, coroutine, awaited))
    if waiting:
        finished = await asyncio.gather(
            *(_resumed(coroutine, awaited) for _, coroutine, awaited in waiting),
            return_exceptions=True,
        )
        for (index, _, _), result in zip(waiting, finished, strict=True):
            results[index] = result
    return results


class _Awaited:
    """What a suspended coroutine awaits (the future it yielded, or None for a bare turn),
    yielded again to the task that now runs it: the task wakes when that is done, throwing in
    the future's exception (or its own cancellation), which `_resumed` hands on."""

    __slots__ = ("awaited",)

    def __init__(self, awaited: Any) -> None:
        self.awaited = awaited

    def __await__(self) -> Generator[Any, None, None]:
        yield self.awaited


async def _resumed(coroutine: Coroutine[Any, None, Any], awaited: Any) -> Any:
    """The rest of `coroutine`, whose first step ran elsewhere and yielded `awaited`: resumed
    when that is done, or handed what the task met instead (a failed future's exception, a
    cancellation), as its own task would have handed it."""
    while True:
        try:
            await _Awaited(awaited)
        except BaseException as error:
            try:
                awaited = coroutine.throw(error)
            except StopIteration as done:
                return done.value
            continue
        try:
            awaited = coroutine.send(None)
        except StopIteration as done:
            return done.value


def path_of(slot: Slot) -> list[str | int]:
    segments: list[str | int] = []
    at: Slot | None = slot
    while at is not None and at[3] is not None:
        segments.append(at[1])
        at = at[3]
    segments.reverse()
    return segments


class Group:
    __slots__ = ("outs", "selection", "slots", "values")

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.values: list[Any] = []
        self.outs: list[dict[str, Any]] = []
        self.slots: list[Slot] = []


class Run:
    def __init__(self, plan: Plan, context: Any, built: Bound, compiler: Compiler) -> None:
        self.plan = plan
        self.context = context
        self.built = built
        self.compiler = compiler
        self.errors: list[GraphQLError] = []
        self.holder: dict[str, Any] = {"data": None}
        # The actual cost, counted as values complete (the same model as cost.Plan.actual).
        self.cost = 0

    async def execute(self) -> tuple[Any, list[GraphQLError]]:
        root = self.plan.root
        data = dict.fromkeys(root.keys)
        self.holder["data"] = data
        first = Group(root)
        first.values.append(None)
        first.outs.append(data)
        first.slots.append((self.holder, "data", True, None))
        level = [first]
        while level:
            level = await self._level(level)
        return self.holder["data"], self.errors

    async def _level(self, level: list[Group]) -> list[Group]:
        following: dict[int, Group] = {}
        batches: list[tuple[Step, Group]] = []
        for group in level:
            for step in group.selection.steps:
                spec = step.spec
                if spec is None:
                    for out in group.outs:
                        out[step.key] = step.typename
                elif spec.get is not None:
                    self._copy(step, spec.get, group, following)
                else:
                    batches.append((step, group))
        if batches:
            results = await self._batches(batches)
            for (step, group), result in zip(batches, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception):
                        raise result
                    for out, slot in zip(group.outs, group.slots, strict=True):
                        self._fail(step, out, slot, result)
                    continue
                for value, out, slot in zip(result, group.outs, group.slots, strict=True):
                    if isinstance(value, Exception):
                        self._fail(step, out, slot, value)
                    else:
                        self._complete(step, value, out, slot, following)
        return list(following.values())

    def _copy(self, step: Step, get: Any, group: Group, following: dict[int, Group]) -> None:
        if step.is_list or step.abstract:
            self._copy_objects(step, get, group, following, general=True)
        elif step.serialize is not None:
            self._copy_leaves(step, get, group)
        else:
            self._copy_objects(step, get, group, following)

    def _copy_leaves(self, step: Step, get: Any, group: Group) -> None:
        """`_copy` then `_complete` for a scalar field, in one loop: most of a response's
        fields are these, and a call per field was a third of their cost."""
        key, serialize, non_null, same = step.key, step.serialize, step.non_null, step.same
        assert serialize is not None
        completed = 0
        for value, out, slot in zip(group.values, group.outs, group.slots, strict=True):
            try:
                result = get(value)
                if result is None:
                    out[key] = None
                    if non_null:
                        self._null(step, slot, [*path_of(slot), key])
                    continue
                out[key] = result if result.__class__ is same else serialize(result)
            except Exception as error:
                self._fail(step, out, slot, error)
                continue
            completed += 1
        self.cost += step.weight * completed

    def _copy_objects(
        self,
        step: Step,
        get: Any,
        group: Group,
        following: dict[int, Group],
        general: bool = False,
    ) -> None:
        """`_copy`, `_complete` and `_object` for a field of one object type, in one loop: an
        edge's node, a price range, its amounts; two calls per object were a tenth of a
        large response's cost. `general`: any other getter field (a list, an abstract type),
        each value completed by `_complete`. Each parent's value is read in this loop: a
        generator's resume per parent was three Python calls per row of a listing."""
        selection: Selection | None = None
        keys: Sequence[str] = ()
        if not general:
            assert step.children is not None
            selection = next(iter(step.children.values()))
            keys = selection.keys
        key, non_null = step.key, step.non_null
        nullable = not non_null
        children: Group | None = None
        completed = 0
        for value, out, slot in zip(group.values, group.outs, group.slots, strict=True):
            try:
                result = get(value)
            except Exception as error:  # a getter that raises is the field's error
                self._fail(step, out, slot, error)
                continue
            if selection is None:
                self._complete(step, result, out, slot, following)
                continue
            if result is None:
                out[key] = None
                if non_null:
                    self._null(step, slot, [*path_of(slot), key])
                continue
            if children is None:
                children = following.get(id(selection))
                if children is None:
                    children = following[id(selection)] = Group(selection)
            child = out[key] = dict.fromkeys(keys)
            children.values.append(result)
            children.outs.append(child)
            children.slots.append((out, key, nullable, slot))
            completed += 1
        self.cost += step.weight * completed

    async def _batches(self, batches: list[tuple[Step, Group]]) -> list[Any]:
        """Each batch's values, or the exception it raised. The level's batches run together
        so that their loads share statements; one alone is awaited as it is (a task for it
        cost 5% of a small request)."""
        if len(batches) == 1:
            step, group = batches[0]
            loaders = self.context.loaders
            assert step.spec is not None
            loaders.alone = step.spec.one_key
            try:
                return [await self._batch(step, group)]
            except Exception as error:
                return [error]
            finally:
                loaders.alone = False
        return await gathered([self._batch(step, group) for step, group in batches])

    async def _batch(self, step: Step, group: Group) -> list[Any]:
        arguments = step.static_arguments
        if arguments is None:
            arguments = self.compiler.arguments(step, self.built) if step.uses_variables else {}
        assert step.spec is not None
        assert step.spec.batch is not None
        return await step.spec.batch(self.context, group.values, arguments, step.selected)

    def _complete(
        self, step: Step, value: Any, out: dict[str, Any], slot: Slot, following: dict[int, Group]
    ) -> None:
        key = step.key
        if value is None:
            out[key] = None
            if step.non_null:
                self._null(step, slot, [*path_of(slot), key])
            return
        serialize = step.serialize
        if serialize is not None:
            try:
                if step.is_list:
                    out[key] = self._leaves(step, value, out, slot)
                    self.cost += step.weight * len(value)
                else:
                    out[key] = serialize(value)
                    self.cost += step.weight
            except Exception as error:
                self._fail(step, out, slot, error)
            return
        if not step.is_list:
            self._object(step, value, out, key, (out, key, not step.non_null, slot), following)
            return
        items: list[Any] = [None] * len(value)
        out[key] = items
        list_slot = (out, key, not step.non_null, slot)
        self._objects(step, value, items, list_slot, not step.item_non_null, following)

    def _objects(
        self,
        step: Step,
        value: Sequence[Any],
        items: list[Any],
        list_slot: Slot,
        item_nullable: bool,
        following: dict[int, Group],
    ) -> None:
        """`_object` for every item of a list, in one loop: lists of objects are most of a large
        response, and a call per item was a tenth of its cost. Items of an abstract type, whose
        selection depends on each one's type, still go through `_object`."""
        assert step.children is not None
        selection = next(iter(step.children.values()))
        keys = selection.keys
        group: Group | None = None
        completed = 0
        for index, item in enumerate(value):
            if item is None:
                if not item_nullable:
                    self._null(step, list_slot, [*path_of(list_slot), index])
                continue
            item_slot = (items, index, item_nullable, list_slot)
            if isinstance(item, Exception):  # an item's own error (`_entities`)
                self._raise_at(step, item_slot, item)
                continue
            if step.abstract:
                self._object(step, item, items, index, item_slot, following)
                continue
            if group is None:
                group = following.get(id(selection))
                if group is None:
                    group = following[id(selection)] = Group(selection)
            child = dict.fromkeys(keys)
            items[index] = child
            group.values.append(item)
            group.outs.append(child)
            group.slots.append(item_slot)
            completed += 1
        self.cost += step.weight * completed

    def _leaves(
        self, step: Step, value: Sequence[Any], out: dict[str, Any], slot: Slot
    ) -> list[Any]:
        serialize = step.serialize
        assert serialize is not None
        return [None if item is None else serialize(item) for item in value]

    def _object(
        self,
        step: Step,
        value: Any,
        container: Any,
        index: Any,
        slot: Slot,
        following: dict[int, Group],
    ) -> None:
        children = step.children
        assert children is not None
        if step.abstract:
            name = type_of(value)
            selection = children.get(name) if name is not None else None
            if selection is None:
                container[index] = None
                self._raise_at(step, slot, TypeError(f"no object type for {type(value).__name__}"))
                return
        else:
            selection = next(iter(children.values()))
        child = dict.fromkeys(selection.keys)
        container[index] = child
        self.cost += step.weight
        group = following.get(id(selection))
        if group is None:
            group = following[id(selection)] = Group(selection)
        group.values.append(value)
        group.outs.append(child)
        group.slots.append(slot)

    # Errors

    def _fail(self, step: Step, out: dict[str, Any], slot: Slot, error: Exception) -> None:
        out[step.key] = None
        self._record(step, [*path_of(slot), step.key], error)
        if step.non_null:
            self._bubble(slot)

    def _raise_at(self, step: Step, slot: Slot, error: Exception) -> None:
        """An error at `slot` itself (an object that could not be completed)."""
        self._record(step, path_of(slot), error)
        if not slot[2]:
            self._bubble(slot[3])

    def _null(self, step: Step, slot: Slot, path: list[str | int]) -> None:
        name = f"{step.parent_type}.{step.name}"
        self._record(step, path, TypeError(f"Cannot return null for non-nullable field {name}."))
        self._bubble(slot)

    def _record(self, step: Step, path: list[str | int], error: Exception) -> None:
        self.errors.append(located_error(error, step.nodes, path))

    def _bubble(self, slot: Slot | None) -> None:
        """Makes the nearest nullable place at or above `slot` null."""
        while slot is not None and not slot[2]:
            slot = slot[3]
        if slot is not None:
            slot[0][slot[1]] = None
