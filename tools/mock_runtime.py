"""Runs the Pulumi program in-process under Pulumi's mock runtime and records what it registers.

This is how Pulumi documents testing (pulumi.runtime.set_mocks): the real components run, but the
resource monitor is a recorder. Besides what the mocks see, the recorder keeps the resource options
the engine would get (parent, dependencies, protect, retainOnDelete, ignoreChanges), so tests and the
offline renderer can assert on them. Each run happens in a fresh context, so runs never share state.
"""
from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2, resource_pb2, source_pb2
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

SECRET_PLACEHOLDER = "[secret]"
UNKNOWN_PLACEHOLDER = "[unknown]"


@dataclass
class RegisteredResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    inputs: dict[str, Any]
    #: Former URNs of this resource (the engine's resolution of the `aliases` option).
    aliases: list[str] = field(default_factory=list)
    #: URN of the provider resource this resource uses ("" = the engine's default provider).
    provider: str = ""
    #: The deleteBeforeReplace option as given (None: not given, the provider decides). Not written to resources.json.
    delete_before_replace: bool | None = field(default=None, compare=False)
    #: The inputs as the engine got them: secrets still in Pulumi's secret wrapper with their values (tests
    #: check that a secret travels only inside it). Never written anywhere.
    wire_inputs: Any = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "protect": self.protect,
            "retain_on_delete": self.retain_on_delete,
            "ignore_changes": self.ignore_changes,
            "aliases": self.aliases,
            "provider": self.provider,
            "inputs": self.inputs,
        }


@dataclass
class ProgramRun:
    resources: list[RegisteredResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: URNs whose outputs were registered (every component must call register_outputs).
    outputs_registered: set[str] = field(default_factory=set)
    #: What the program logged (pulumi.log.*), as the engine would show it under each resource.
    logs: list["LogEntry"] = field(default_factory=list)
    #: The stack outputs with secrets still in Pulumi's secret wrapper (see RegisteredResource.wire_inputs).
    wire_outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def warnings(self) -> list["LogEntry"]:
        return [entry for entry in self.logs if entry.severity == "warning"]


@dataclass
class LogEntry:
    severity: str  # debug, info, warning, error
    message: str
    urn: str  # the resource the message is about ("" for none)

    def as_json(self) -> dict[str, str]:
        return {"severity": self.severity, "message": self.message, "urn": self.urn}


class _RecordingEngine(pulumi_mocks.MockEngine):
    """The mock engine, keeping what pulumi.log sends it (with the resource's URN) instead of dropping it."""

    _SEVERITIES = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info", engine_pb2.WARNING: "warning",
                   engine_pb2.ERROR: "error"}

    def __init__(self, logs: list[LogEntry]):
        super().__init__(None)
        self.logs = logs

    def Log(self, request):
        self.logs.append(LogEntry(self._SEVERITIES.get(request.severity, "info"), request.message, request.urn))


def plain(value: Any) -> Any:
    """Wire values as a manifest would hold them: secrets and unknowns as placeholders, ints as ints."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _masked(value.get("value"))
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return UNKNOWN_PLACEHOLDER
    return value


def _masked(value: Any) -> Any:
    """A secret keeps its shape (so manifests stay valid and show which keys are set), never its text."""
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return SECRET_PLACEHOLDER


def _stand_in_password(args: pulumi.runtime.MockResourceArgs) -> dict:
    """random.RandomPassword computes `result` in its provider; a fixed stand-in of the asked length, one of its
    own per resource (so a test can tell which password went where)."""
    length = int(args.inputs.get("length", 16))
    unit = f"offline-stand-in-{args.name}-"
    return {"result": (unit * (length // len(unit) + 1))[:length]}


# Outputs that only a provider computes, for the few resource types the program reads them from.
PROVIDER_OUTPUTS = {"random:index/randomPassword:RandomPassword": _stand_in_password}


class _EchoMocks(pulumi.runtime.Mocks):
    """Resources come back as their inputs. In preview the id is unknown, as with a real create."""

    def __init__(self, preview: bool):
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        computed = PROVIDER_OUTPUTS.get(args.typ)
        outputs = {**args.inputs, **computed(args)} if computed else args.inputs
        return ["" if self.preview else f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


STACK_TYPE = "pulumi:pulumi:Stack"
#: Large plain-data inputs and their echoed outputs (the CRDs) are serialized, deserialized and translated once per
#: process, not once per run (_serialize_memoized, _deserialized, _resolve_outputs_memoized); tests compare both ways.
MEMOIZE_PLAIN_INPUTS = True
#: Below this many bytes a struct costs less to convert than to look up.
_MEMO_FLOOR = 4096
_UNKNOWN_BYTES = rpc.UNKNOWN.encode()


def engine_urn(stack: str, project: str, parent_urn: str, type_: str, name: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type chain>::<name>`, as the engine builds it.

    The type chain is the parent's chain plus this type, joined by `$`; the root Stack is left out.
    """
    chain = type_
    if parent_urn:
        parent_chain = urn_type_chain(parent_urn)
        if parent_chain != STACK_TYPE:
            chain = f"{parent_chain}${type_}"
    return f"urn:pulumi:{stack}::{project}::{chain}::{name}"


def urn_type_chain(urn: str) -> str:
    """The `$`-joined type chain of a URN (names may contain `::`, types never do)."""
    return urn.split("::", 3)[2]


def provider_urn(reference: str) -> str:
    """A provider reference is `<urn>::<id>`; the id is unknown in preview."""
    return reference.rsplit("::", 1)[0] if reference else ""


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    #: Echo mocks skip MockMonitor's serialize/deserialize round trip (tests compare both paths).
    echo_fast_path = True

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []
        self.outputs_registered: set[str] = set()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(pulumi.get_stack(), pulumi.get_project(), parent, type_, name)

    def _alias_urns(self, request) -> list[str]:
        """Each alias of the request as the URN it stands for: a plain URN, or a spec resolved the
        way the engine resolves it (unset fields default to the resource's current ones)."""
        urns = list(getattr(request, "aliasURNs", []) or [])
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(engine_urn(spec.stack or pulumi.get_stack(), spec.project or pulumi.get_project(),
                                   parent, spec.type or request.type, spec.name or request.name))
        return urns

    def _echoes(self, request) -> bool:
        """Whether the response is the request's inputs as they are: echo mocks, no computed outputs
        for the type, no unknowns (the round trip drops those)."""
        return (self.echo_fast_path and isinstance(self.mocks, _EchoMocks) and request.type != STACK_TYPE
                and request.type not in PROVIDER_OUTPUTS and _UNKNOWN_BYTES not in request.object.SerializeToString())

    def _echo(self, request) -> tuple[Any, dict]:
        """MockMonitor.RegisterResource for mocks that echo inputs, without its round trip: it deserializes
        the inputs and serializes them straight back (see _echoes); the request's own struct is that state
        already. One deserialization serves the recording and the state getResource returns."""
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()  # deserializing resource references needs one, as in MockMonitor
        inputs = (_deserialized(request.object) if MEMOIZE_PLAIN_INPUTS
                  else rpc.deserialize_properties(request.object, keep_unknowns=True))
        id_, _ = self.mocks.new_resource(pulumi.runtime.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, inputs)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=request.object), inputs

    def RegisterResourceOutputs(self, request):
        self.outputs_registered.add(request.urn)
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request):
        if not self._echoes(request):
            response = super().RegisterResource(request)
            inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        else:
            response, inputs = self._echo(request)
        self.registered.append(RegisteredResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            dependencies=list(request.dependencies),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            ignore_changes=list(request.ignoreChanges),
            inputs=plain(inputs),
            wire_inputs=inputs,
            aliases=self._alias_urns(request),
            provider=provider_urn(request.provider),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
        ))
        return response


def run_program(program: Callable[[], Any], *, config: dict[str, Any] | None = None,
                secret_keys: list[str] | None = None, project: str = "toolhive", stack: str = "dev",
                preview: bool = False, result: ProgramRun | None = None) -> ProgramRun:
    """Run `program` as the engine would, with `config` ({'ns:key': value}) and record everything.

    Exceptions the program raises (e.g. ConfigError) propagate after the runtime has shut down; pass
    `result` to see what was registered before that.
    """
    result = result if result is not None else ProgramRun()

    def in_fresh_context() -> ProgramRun:
        pulumi_settings.ROOT.set(None)
        monitor = _RecordingMonitor(_EchoMocks(preview))
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        pulumi_settings.SETTINGS.engine = _RecordingEngine(result.logs)
        pulumi.runtime.set_all_config(
            {key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()},
            secret_keys or [],
        )
        result.resources = monitor.registered
        result.outputs_registered = monitor.outputs_registered

        def body() -> None:
            program()
            root = pulumi_settings.get_root_resource()
            exported = _sync_await(_exported(dict(getattr(root, "outputs", {}) or {})))
            result.wire_outputs.update(exported)
            result.outputs.update(plain(exported))

        _sync_await(run_pulumi_func(body))
        return result

    capture, serialize, resolve = pulumi_resource._get_stack_trace, rpc.serialize_properties, rpc.resolve_outputs
    pulumi_resource._get_stack_trace = _no_stack_trace
    if MEMOIZE_PLAIN_INPUTS:
        rpc.serialize_properties, rpc.resolve_outputs = _serialize_memoized, _resolve_outputs_memoized
    try:
        return contextvars.Context().run(in_fresh_context)
    finally:
        pulumi_resource._get_stack_trace, rpc.serialize_properties, rpc.resolve_outputs = capture, serialize, resolve


async def _exported(outputs: dict[str, Any]) -> dict[str, Any]:
    """The stack outputs resolved, a secret one in the secret wrapper (as the engine keeps it), so that
    outputs.json masks it like any other secret."""
    exported = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future()
        exported[key] = ({rpc._special_sig_key: rpc._special_secret_sig, "value": resolved}
                         if await output.is_secret() else resolved)
    return exported


def _no_stack_trace() -> source_pb2.StackTrace:
    """The SDK walks the Python stack at every registration for the engine's source positions
    (RegisterResourceRequest.stackTrace/sourcePosition); no mock reads them, so the recorder skips it."""
    return source_pb2.StackTrace()


_SERIALIZE_PROPERTIES = rpc.serialize_properties
#: Serialized plain-data inputs: (resource type, inputs as JSON, name translation, input type, flags) ->
#: (the Struct's bytes, the top-level property names, each of which has no dependency).
_SERIALIZED: dict[tuple, tuple[bytes, tuple[str, ...]]] = {}
_SERIALIZED_LIMIT = 512


async def _serialize_memoized(inputs, property_deps, resource_obj=None, input_transformer=None, typ=None,
                              keep_output_values=False, exclude_resource_refs_from_deps=False):
    """rpc.serialize_properties, once per process for the same plain-data inputs.

    Every render registers the same CustomResourceDefinitions (over 90% of a stack's input bytes) and the SDK
    walks each of their schemas node by node. Inputs that are plain JSON data (json.dumps refuses Outputs,
    resources, assets and input types) hold no dependency and serialize to the same Struct whatever else
    the program does, so the Struct is kept as bytes and parsed afresh for each request: the engine gets
    exactly what the SDK would have sent (tests/test_bench.py compares both ways).
    """
    try:
        text = json.dumps(inputs, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        text = None
    if text is None or len(text) < _MEMO_FLOOR:
        return await _SERIALIZE_PROPERTIES(inputs, property_deps, resource_obj, input_transformer, typ,
                                           keep_output_values, exclude_resource_refs_from_deps)
    key = (type(resource_obj), text, getattr(input_transformer, "__func__", input_transformer), typ,
           keep_output_values, exclude_resource_refs_from_deps)
    hit = _SERIALIZED.get(key)
    if hit is None:
        deps: dict[str, list] = {}
        struct = await _SERIALIZE_PROPERTIES(inputs, deps, resource_obj, input_transformer, typ,
                                             keep_output_values, exclude_resource_refs_from_deps)
        if any(deps.values()):  # cannot happen for plain data; never cache what it would get wrong
            property_deps.update(deps)
            return struct
        if len(_SERIALIZED) >= _SERIALIZED_LIMIT:
            _SERIALIZED.clear()
        hit = _SERIALIZED[key] = (struct.SerializeToString(deterministic=True), tuple(deps))
    struct = struct_pb2.Struct()
    struct.ParseFromString(hit[0])
    for name in hit[1]:
        property_deps[name] = []
    return struct


#: Deserialized plain-data inputs of large requests, as JSON text: each render gets its own copy (json.loads).
_DESERIALIZED: dict[bytes, str] = {}


def _deserialized(struct: struct_pb2.Struct) -> Any:
    """rpc.deserialize_properties(struct, keep_unknowns=True), once per process for a large plain-data struct
    (the CRDs again): the result is kept as JSON and parsed afresh, so no two runs share an object."""
    wire = struct.SerializeToString(deterministic=True)
    if len(wire) < _MEMO_FLOOR:
        return rpc.deserialize_properties(struct, keep_unknowns=True)
    text = _DESERIALIZED.get(wire)
    if text is not None:
        return json.loads(text)
    inputs = rpc.deserialize_properties(struct, keep_unknowns=True)
    try:
        text = json.dumps(inputs)
    except (TypeError, ValueError):  # resource references: not plain data
        return inputs
    if len(_DESERIALIZED) >= _SERIALIZED_LIMIT:
        _DESERIALIZED.clear()
    _DESERIALIZED[wire] = text
    return json.loads(text)


_RESOLVE_OUTPUTS = rpc.resolve_outputs
#: The SDK's translation of a large plain-data response into the resource's output values, per resource class.
_TRANSLATED: dict[tuple, dict[str, Any]] = {}


class _CapturedProperties(Exception):
    def __init__(self, properties: dict[str, Any]):
        super().__init__()
        self.properties = properties


def _resolve_outputs_memoized(res, serialized_props, outputs, deps, resolvers, custom,
                              transform_using_type_metadata=False, keep_unknowns=False,
                              resolve_missing_as_unknown=False):
    """rpc.resolve_outputs, with the translation of a large plain-data response (a CRD's echo: its whole
    schema turned into typed output objects) done once per process. The translated values are what the
    SDK computes for those bytes; they are handed to rpc.resolve_properties as the SDK does. Output values
    of such resources are shared between runs: the program never changes an output value in place."""
    wire = outputs.SerializeToString(deterministic=True)
    if len(wire) < _MEMO_FLOOR or any(deps.values()):
        return _RESOLVE_OUTPUTS(res, serialized_props, outputs, deps, resolvers, custom, transform_using_type_metadata,
                                keep_unknowns, resolve_missing_as_unknown)
    key = (type(res), wire, serialized_props.SerializeToString(deterministic=True), transform_using_type_metadata,
           keep_unknowns, pulumi_settings.is_dry_run(), pulumi_settings.is_legacy_apply_enabled())
    properties = _TRANSLATED.get(key)
    if properties is None:
        resolve_properties = rpc.resolve_properties

        def capture(_resolvers, all_properties, *_):
            raise _CapturedProperties(all_properties)

        rpc.resolve_properties = capture
        try:
            _RESOLVE_OUTPUTS(res, serialized_props, outputs, deps, resolvers, custom, transform_using_type_metadata,
                             keep_unknowns, resolve_missing_as_unknown)
            raise AssertionError("rpc.resolve_outputs no longer ends in rpc.resolve_properties")
        except _CapturedProperties as captured:
            properties = captured.properties
        finally:
            rpc.resolve_properties = resolve_properties
        if len(_TRANSLATED) >= _SERIALIZED_LIMIT:
            _TRANSLATED.clear()
        _TRANSLATED[key] = properties
    names = pulumi._types.resource_pulumi_to_py_names(type(res)) if transform_using_type_metadata else None
    translated_deps = {(names.get(name) or name) if names is not None else res.translate_output_property(name): value
                       for name, value in deps.items()}
    rpc.resolve_properties(resolvers, properties, translated_deps, custom, resolve_missing_as_unknown)
