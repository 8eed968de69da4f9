"""Offline policy checker: the CrossGuard policies over Kubernetes YAML or a rendered resources.json.

Usage::

    python -m policies.check [--config FILE] [--json] [--jobs N] PATH...

PATH is a YAML file (multi-document; empty documents skipped; ``kind: List`` expanded), a directory
(searched recursively for *.yaml / *.yml, hidden directories skipped), or a ``.json`` file: a
``resources.json`` written by the offline renderer (a list of registered resources with ``urn``,
``type``, ``name``, ``protect``, ``retain_on_delete``, ``inputs`` ...; entries whose type does not
start with ``kubernetes:`` are skipped; resource options are known, so the protection policy
applies) or a Kubernetes object / List in JSON. ``--config`` takes the JSON accepted by
``pulumi preview --policy-pack-config`` (e.g. policies/config/prod.json).

Output: one line per violation (``file: Kind namespace/name: [policy] enforcement: message``), or
with ``--json`` a JSON list of objects with keys file, kind, namespace, name, policy, enforcement,
message. Exit status: 1 if any mandatory violation, 0 otherwise, 2 for unreadable input or a bad
config. Inputs of a megabyte or more of YAML are parsed and checked on ``--jobs`` processes
(default: the cores available; large files are cut between documents), with the same output as one.

In-process API (the renderer uses the second form to write policy-report.json)::

    from policies.check import check_objects, check_paths, views_from_resources, load_config
    result = check_paths(["render-out/prod"], load_config("policies/config/prod.json"), jobs=2)
    views = views_from_resources(json.load(open("resources.json")), source="resources.json")
    violations = check_objects(views, load_config("policies/config/prod.json"))
    report = [v.to_dict() for v in violations]        # the --json shape
    failed = has_mandatory(violations)
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import yaml

from .core import (
    ConfigError, PolicySettings, ResourceOptions, ResourceView, Violation, check_objects, has_mandatory,
    resolve_config, run_resource_policies, run_stack_policies, stack_reads,
)
from .registry import all_policies
from .typetokens import is_kubernetes_type

__all__ = [
    "CheckResult", "ConfigError", "InputError", "ResourceView", "Violation", "check_objects", "check_paths", "has_mandatory",
    "load_config", "main", "report_for_render", "split_documents", "views_from_manifests",
    "views_from_resources",
]

YAML_SUFFIXES = (".yaml", ".yml")
#: libyaml's C parser when PyYAML has it (parsing was 96% of a check in pure Python).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InputError(Exception):
    """An input that cannot be read; the message names the file and the reason."""


def _warn(message: str) -> None:
    print(f"policies.check: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Building views
# ---------------------------------------------------------------------------------------------

def _opt_bool(value: Any) -> Optional[bool]:
    return None if value is None else bool(value)


def views_from_resources(entries: Iterable[Mapping[str, Any]], source: str = "resources.json") -> list[ResourceView]:
    """Views of a resources.json-shaped list (one entry per registered Pulumi resource with keys
    urn, type, name, parent, dependencies, protect, retain_on_delete, ignore_changes, inputs).
    Entries whose type does not start with ``kubernetes:`` (components, providers, the stack) are
    skipped. Resource options are taken from ``protect`` / ``retain_on_delete``."""
    views = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InputError(f"{source}: entry {index} is not an object")
        token = entry.get("type")
        if not is_kubernetes_type(token):
            continue
        inputs = entry.get("inputs")
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, Mapping):
            raise InputError(f"{source}: entry {index} ({entry.get('urn') or token}): inputs is not an object")
        views.append(ResourceView(
            type=token,
            props=dict(inputs),
            name=str(entry.get("name") or ""),
            urn=str(entry.get("urn") or ""),
            opts=ResourceOptions(protect=_opt_bool(entry.get("protect")),
                                 retain_on_delete=_opt_bool(entry.get("retain_on_delete"))),
            source=source,
        ))
    return views


def views_from_manifests(documents: Iterable[Any], source: str = "",
                         warnings: Optional[list[str]] = None) -> list[ResourceView]:
    """Views of Kubernetes objects (manifest dicts; None documents skipped; Lists expanded).
    Documents that are not objects raise InputError; objects without apiVersion/kind are skipped
    with a warning (printed, or added to `warnings` when given)."""
    views = []
    for index, doc in enumerate(documents, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError(f"{source}: document {index} is a {type(doc).__name__}, not a Kubernetes object")
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            message = f"{source}: document {index} has no apiVersion/kind; skipped"
            if warnings is None:
                _warn(message)
            else:
                warnings.append(message)
            continue
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            views += views_from_manifests(doc["items"], source, warnings)
            continue
        views.append(ResourceView.from_manifest(doc, source=source))
    return views


# ---------------------------------------------------------------------------------------------
# Reading inputs
# ---------------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None


class _ManifestLoader(YAML_LOADER):
    """Resolves each distinct plain scalar once (manifests repeat the same values thousands of times)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:  # the tag depends on the text alone
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{name}" for name in ("str", "map", "seq"))
_SCALARS = {f"tag:yaml.org,2002:{name}": yaml.constructor.SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
            for name in ("int", "float", "bool", "null", "timestamp")}


class _Unusual(Exception):
    """A node the direct build leaves to PyYAML's SafeConstructor (merge key, recursive alias, binary...):
    any tag but str, map, seq and the plain scalars."""


def _build(node, loader, open_nodes: set) -> Any:
    """What SafeConstructor builds from `node`, for the plain nodes manifests consist of, minus its bookkeeping."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag in _SCALARS:
        return _SCALARS[tag](loader, node)
    if (tag != _MAP and tag != _SEQ) or id(node) in open_nodes:
        raise _Unusual
    open_nodes.add(id(node))
    if tag == _SEQ:
        value: Any = [_build(item, loader, open_nodes) for item in node.value]
    else:
        value = {}
        for key_node, value_node in node.value:
            key, item = _build(key_node, loader, open_nodes), _build(value_node, loader, open_nodes)
            try:
                if key in value:  # kubectl (sigs.k8s.io/yaml) refuses it; PyYAML would keep the last silently
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is set twice; remove one", key_node.start_mark)
                value[key] = item
            except TypeError:  # an unhashable key: SafeConstructor's error names it
                raise _Unusual from None
    open_nodes.discard(id(node))
    return value


def load_yaml_documents(text: str) -> list[Any]:
    """yaml.safe_load_all(text), the same values, ~2x faster than CSafeLoader alone on large manifests.

    The cyclic garbage collector is paused meanwhile: parsing creates only acyclic trees, and the
    collector's passes over them, as they grow, were an eighth of the time."""
    loader = _ManifestLoader(text)
    documents = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                documents.append(_build(node, loader, set()))
            except _Unusual:
                documents.append(loader.construct_document(node))
    finally:
        loader.dispose()
        if collecting:
            gc.enable()
    return documents


def _views_from_yaml_text(text: str, path: Path, warnings: Optional[list[str]] = None) -> list[ResourceView]:
    try:
        documents = load_yaml_documents(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None)
        if mark is not None and problem:
            reason = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        else:
            reason = " ".join(str(error).split())
        raise InputError(f"{path}: invalid YAML: {reason}") from None
    return views_from_manifests(documents, str(path), warnings)


def _load_json_file(path: Path) -> list[ResourceView]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: invalid JSON: {error}") from None
    if isinstance(data, list):
        if all(isinstance(e, Mapping) and "type" in e for e in data):
            return views_from_resources(data, str(path))
        return views_from_manifests(data, str(path))
    if isinstance(data, dict):
        return views_from_manifests([data], str(path))
    raise InputError(f"{path}: expected a resources.json list or a Kubernetes object, got {type(data).__name__}")


def _files_under(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in YAML_SUFFIXES:
            found.append(path)
    return found


@dataclass
class _File:
    """One input file of one PATH argument: YAML text to parse, or the views of a JSON file."""

    argument: int
    path: Path
    text: Optional[str] = None
    views: Optional[list[ResourceView]] = None


def _read_files(paths: Sequence[str | Path]) -> tuple[list[_File], dict[int, str]]:
    """Every input file in order (JSON files already read), and a message per unreadable argument
    (by its index: an argument's first unreadable file ends it)."""
    files: list[_File] = []
    errors: dict[int, str] = {}
    for argument, raw in enumerate(paths):
        path = Path(raw)
        try:
            if path.is_dir():
                mine = [_File(argument, file, text=_read_text(file)) for file in _files_under(path)]
            elif not path.exists():
                raise InputError(f"{path}: no such file or directory")
            elif path.suffix.lower() == ".json":
                mine = [_File(argument, path, views=_load_json_file(path))]
            else:
                mine = [_File(argument, path, text=_read_text(path))]
        except InputError as error:
            errors[argument] = str(error)
            continue
        files += mine
    return files, errors


def load_config(path: str | Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` JSON file. Raises ConfigError naming the file and the reason
    (validation against the policies happens in check_objects / resolve_config)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{path}: {reason}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object mapping policy names to settings")
    return data


# ---------------------------------------------------------------------------------------------
# Checking, on one process or several
# ---------------------------------------------------------------------------------------------

#: Less YAML than this is checked in one process: a second one would cost more than it saves.
PARALLEL_MIN_BYTES = 1 << 20
#: The YAML one task of a parallel check parses: small enough that the processes finish together.
PART_BYTES = 256 << 10


def default_jobs() -> int:
    """The processes a check may use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def split_documents(text: str, pieces: int) -> list[str]:
    """`text` cut into at most `pieces` parts of similar size, each a stream of whole documents.

    Cuts fall only before a line that starts with ``---`` and a blank: such a line starts a
    document wherever it appears (YAML forbids it inside scalars), and anchors do not cross
    documents, so the parts parse to the documents of the whole, in order. A stream with
    directives (``%YAML``, ``%TAG``) is not cut, because a directive belongs to the document after it."""
    if pieces < 2 or text.startswith("%") or "\n%" in text:
        return [text]
    parts, start = [], 0
    for k in range(1, pieces):
        cut = _document_start(text, max(start, len(text) * k // pieces))
        if cut is None:
            break
        if cut > start:
            parts.append(text[start:cut])
            start = cut
    parts.append(text[start:])
    return parts


def _document_start(text: str, position: int) -> Optional[int]:
    """Where the first line at or after `position` that is a document-start marker begins."""
    while True:
        found = text.find("\n---", position)
        if found < 0:
            return None
        after = found + 4
        if after == len(text) or text[after] in " \t\r\n":
            return found + 1
        position = after


@dataclass
class _Part:
    """One piece of one YAML file, parsed and checked by one process."""

    file: int  # the index of its file among the inputs
    path: Path
    text: str
    whole: bool  # the file's whole text (document numbers and line numbers are the file's own)


#: A part's outcome: how many resources it holds, the ones a stack policy reads, its warnings and its
#: resource-policy violations; None when it could not be read (the file is then read again whole, so
#: the error names the file's own line and document).
_PartResult = Optional[tuple[int, list[ResourceView], list[str], list[Violation]]]


def _check_parts(parts: Sequence[_Part], settings: Mapping[str, PolicySettings]) -> list[_PartResult]:
    """Parse `parts` and run the resource policies over them (in a worker process, or the parent);
    `settings` are the config resolved once, by the parent."""
    policies = all_policies()
    stack_reads_view = stack_reads(policies, settings)
    results: list[_PartResult] = []
    for part in parts:
        warnings: list[str] = []
        try:
            views = _views_from_yaml_text(part.text, part.path, warnings)
        except InputError:
            results.append(None)
            continue
        if warnings and not part.whole:
            results.append(None)
            continue
        results.append((len(views), [view for view in views if stack_reads_view(view)], warnings,
                        run_resource_policies(views, policies, settings)))
    return results


def _fork_context():
    import multiprocessing  # only for large inputs: its import is a tenth of a small check

    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform
        return None


@dataclass
class CheckResult:
    """What :func:`check_paths` found: how many resources it checked, the violations (resource
    policies in resource order, then stack policies) and a message per unreadable input (then
    nothing was checked)."""

    resources: int
    violations: list[Violation]
    errors: list[str]
    processes: int = 1


def check_paths(paths: Sequence[str | Path], config: Optional[Mapping[str, Any]] = None, jobs: int = 1
                ) -> CheckResult:
    """Every policy over the PATH arguments: the resource policies' violations in input order, then the
    stack policies'. Unreadable inputs are all reported, and then nothing is checked. From
    PARALLEL_MIN_BYTES of YAML up, parsing and the resource policies run on up to `jobs` processes,
    with the same result. Raises ConfigError for a bad config, before any file is read."""
    config = dict(config or {})
    policies = all_policies()
    settings = resolve_config(policies, config)
    files, errors = _read_files(paths)
    yaml_bytes = sum(len(file.text or "") for file in files)
    context = _fork_context() if jobs > 1 and yaml_bytes >= PARALLEL_MIN_BYTES else None
    parts = _parts(files, cut=context is not None)
    results, processes = _check_in_processes(parts, settings, jobs, context) if context is not None else (None, 1)
    if results is None:
        results = _check_parts(parts, settings)
    by_file: dict[int, list[_PartResult]] = {}
    for part, result in zip(parts, results):
        by_file.setdefault(part.file, []).append(result)

    resources = 0
    read: list[ResourceView] = []  # what the stack policies look at
    violations: list[Violation] = []
    stack_reads_view = stack_reads(policies, settings)
    for index, file in enumerate(files):
        mine = by_file.get(index, [])
        if file.argument in errors:
            continue  # an argument's first unreadable file ends it
        if file.views is None and all(result is not None for result in mine):
            for count, part_read, warnings, part_violations in mine:
                for warning in warnings:
                    _warn(warning)
                resources += count
                read += part_read
                violations += part_violations
            continue
        if file.views is not None:  # a JSON file, read in this process
            file_views = file.views
        else:  # a part failed: read the file again whole, so the error numbers lines as the file does
            try:
                file_views = _views_from_yaml_text(file.text, file.path)
            except InputError as error:
                errors[file.argument] = str(error)
                continue
        resources += len(file_views)
        read += [view for view in file_views if stack_reads_view(view)]
        violations += run_resource_policies(file_views, policies, settings)
    if errors:
        return CheckResult(resources, [], [errors[argument] for argument in sorted(errors)], processes)
    return CheckResult(resources, violations + run_stack_policies(read, policies, settings), [], processes)


def _check_in_processes(parts: list[_Part], settings: Mapping[str, PolicySettings], jobs: int, context
                        ) -> tuple[Optional[list[_PartResult]], int]:
    """The parts' results from up to `jobs` forked processes, each taking a task when done with the last;
    (None, 1) when a process died (killed, out of memory): the caller then checks in this process."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    tasks = _tasks(parts)
    processes = min(jobs, len(tasks))
    try:
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            return [result for task in pool.map(partial(_check_parts, settings=settings), tasks)
                    for result in task], processes
    except BrokenProcessPool:
        _warn("a checking process died; checking in one process instead")
        return None, 1


def _parts(files: Sequence[_File], cut: bool) -> list[_Part]:
    """The YAML files' texts, each whole or (`cut`) cut between documents into parts of about PART_BYTES."""
    parts: list[_Part] = []
    for index, file in enumerate(files):
        if file.text is not None:
            pieces = split_documents(file.text, -(-len(file.text) // PART_BYTES)) if cut else [file.text]
            parts += [_Part(index, file.path, piece, whole=len(pieces) == 1) for piece in pieces]
    return parts


def _tasks(parts: Sequence[_Part]) -> list[list[_Part]]:
    """Consecutive parts grouped into tasks of about PART_BYTES (small files together)."""
    tasks: list[list[_Part]] = [[]]
    size = 0
    for part in parts:
        if size >= PART_BYTES:
            tasks.append([])
            size = 0
        tasks[-1].append(part)
        size += len(part.text)
    return tasks


# ---------------------------------------------------------------------------------------------
# Renderer integration
# ---------------------------------------------------------------------------------------------

def report_for_render(resources: Sequence[Mapping[str, Any]], config_path: Optional[str | Path],
                      report_path: str | Path, *, render_dir: Optional[str | Path] = None,
                      sources: Optional[Callable[[str], Optional[str]]] = None) -> int:
    """Check a render (resources.json-shaped entries) and write ``report_path`` (policy-report.json:
    the ``--json`` list). Violations are listed on stderr. Returns the checker's exit status: 1 if
    any violation is mandatory, 0 otherwise, 2 (nothing written) for a bad config or malformed
    entries. ``sources`` (URN -> the config that produced the resource, given by the renderer) adds a
    ``source`` to each finding and names it first on stderr."""
    report_path = Path(report_path)
    # Where the render finally lands (a renderer writes the report while the render is staged elsewhere).
    final_dir = Path(render_dir) if render_dir is not None else report_path.parent
    source = str(final_dir / "resources.json")
    try:
        config = load_config(config_path) if config_path else {}
        violations = check_objects(views_from_resources(resources, source=source), config)
    except ConfigError as error:
        where = f"{config_path}: " if config_path and not str(error).startswith(str(config_path)) else ""
        print(f"policies: bad policy config: {where}{error}", file=sys.stderr)
        return 2
    except InputError as error:
        print(f"policies: cannot check the render: {error}", file=sys.stderr)
        return 2
    report_path.parent.mkdir(parents=True, exist_ok=True)
    with open(report_path, "w", encoding="utf-8") as handle:
        json.dump([{**v.to_dict(), "source": _source(sources, v)} if sources else v.to_dict() for v in violations],
                  handle, indent=2)
        handle.write("\n")
    for violation in violations:
        source = _source(sources, violation) if sources else ""
        print(f"policy {source + ': ' if source else ''}{violation.format()}", file=sys.stderr)
    mandatory = sum(1 for v in violations if v.mandatory)
    print(f"policies: {len(violations)} violations ({mandatory} mandatory) -> {final_dir / report_path.name}",
          file=sys.stderr)
    return 1 if mandatory else 0


def _source(sources: Callable[[str], Optional[str]], violation: Violation) -> str:
    return (sources(violation.urn) if violation.urn else None) or ""


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, 1 or more, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m policies.check",
        description="Run the ToolHive platform policies over Kubernetes YAML or a rendered resources.json.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="policy config in the `pulumi preview --policy-pack-config` JSON format")
    parser.add_argument("--json", action="store_true", help="print violations as a JSON list")
    parser.add_argument("--jobs", type=_positive_int, default=default_jobs(), metavar="N",
                        help="processes for large inputs (default: the cores available, here %(default)s); "
                             "1 checks in this process alone")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="YAML file, directory (recursive *.yaml/*.yml) or resources.json")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)

    config: dict[str, Any] = {}
    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as error:
            print(f"policies.check: bad --config: {error}", file=sys.stderr)
            return 2

    try:
        result = check_paths(args.paths, config, jobs=args.jobs)
    except ConfigError as error:
        where = f"{args.config}: " if args.config else ""
        print(f"policies.check: bad --config: {where}{error}", file=sys.stderr)
        return 2
    violations = result.violations
    if result.errors:
        for message in result.errors:
            print(f"policies.check: cannot read {message}", file=sys.stderr)
        return 2

    if args.json:
        json.dump([v.to_dict() for v in violations], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for violation in violations:
            print(violation.format())
    mandatory = sum(1 for v in violations if v.mandatory)
    where = f" on {result.processes} processes" if result.processes > 1 else ""
    print(f"policies.check: {result.resources} resources checked{where}, {len(violations)} violations "
          f"({mandatory} mandatory)", file=sys.stderr)
    return 1 if has_mandatory(violations) else 0


if __name__ == "__main__":
    sys.exit(main())
