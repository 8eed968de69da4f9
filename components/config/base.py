"""The building blocks of every config model: the base model, keyed errors and validated scalar types.

Keys are camelCase in YAML (`toolhive:operator.rbac.scope`), snake_case in Python. A cross-field rule
that belongs to one key raises `KeyedError` with that key's path relative to the model it is raised
from, so the error names the key the user has to change. Syntax rules are the API server's
(components/k8s/validation.py, components/k8s/quantity.py), so what validates here is admitted there.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Callable

from docker_image import reference as docker_reference
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from components.k8s import validation
from components.k8s.quantity import parse_go_memlimit, parse_quantity

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_PSA_VERSION = re.compile(r"^(latest|v1\.[0-9]+)$")

# Namespaces the cluster owns: a tenant, the operator or a watched namespace there would mix the
# platform's objects (quota, default-deny policies, RoleBindings) into the cluster's own.
RESERVED_NAMESPACE_PREFIX = "kube-"
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

# Groups (and the user) that stand for "anyone": binding a tenant role to them opens it to every caller.
FORBIDDEN_SUBJECTS = frozenset({"system:unauthenticated", "system:authenticated", "system:serviceaccounts",
                                "system:anonymous"})


class KeyedError(ValueError):
    """A validation error that belongs to a key below the model it is raised from."""

    def __init__(self, path: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _matches(pattern: re.Pattern, what: str):
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def _no_problems(check: Callable[[str], list[str]], what: str):
    def validate(value: str) -> str:
        if problems := check(value):
            raise ValueError(f"{value!r} is not {what}: {'; '.join(problems)}")
        return value

    return validate


def _not_reserved_namespace(value: str) -> str:
    if value in RESERVED_NAMESPACES or value.startswith(RESERVED_NAMESPACE_PREFIX):
        raise ValueError(f"{value!r} is reserved for the cluster itself (default, kube-*); use a namespace of your own")
    return value


def _quantity(value: str) -> str:
    if parse_quantity(value) < 0:
        raise ValueError(f"{value!r} is negative; a resource amount is at least 0")
    return value


def _go_memlimit(value: str) -> str:
    parse_go_memlimit(value)
    return value


def _cidr(value: str) -> str:
    """A CIDR as the API server will keep accepting it: parsed by `ipaddress`, IPv4 or IPv6, with a
    prefix length and no host bits. Kubernetes 1.33 still accepts `10.0.0.5/24` (as 10.0.0.0/24), but
    it reads like one host while it opens the whole /24, and strict CIDR validation (KEP-4858) refuses
    it; IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) is refused for the same reason."""
    invalid = f"{value!r} is not a valid CIDR"
    address, slash, length = value.partition("/")
    if not slash:
        raise ValueError(f"{invalid}: it needs a prefix length, e.g. {address}/32 for one IPv4 address")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{invalid}: {address!r} is not an IPv4 or IPv6 address") from None
    bits = ip.max_prefixlen
    if not re.fullmatch(r"[0-9]{1,3}", length) or int(length) > bits:
        raise ValueError(f"{invalid}: the prefix length must be a number from 0 to {bits} for IPv{ip.version}")
    if ip.version == 6 and ip.ipv4_mapped is not None:
        raise ValueError(f"{invalid}: IPv4-mapped IPv6 is ambiguous; write the IPv4 CIDR")
    network = ipaddress.ip_network(value, strict=False)
    if network.network_address != ip:
        raise ValueError(f"{invalid}: host bits are set; the network is {network} (or use /{bits} for one address)")
    return value


def parse_image(value: str):
    """Docker's reading of an image reference (distribution/reference, via docker-image-py): the first
    path component is a registry only if it has '.' or ':' or is localhost; bare names are docker.io/library/."""
    try:
        return docker_reference.Reference.parse_normalized_named(value)
    except docker_reference.InvalidReference as error:
        raise ValueError(f"{value!r} is not an image reference such as ghcr.io/org/image:tag ({error})") from None


def _pinned_image(value: str) -> str:
    parsed = parse_image(value)
    if not parsed["tag"] and not parsed["digest"]:
        raise ValueError(f"{value!r} has neither a tag nor a digest; name the version (image:tag or image@sha256:...), "
                         "never an implicit latest")
    return value


def _image_pinned(value: str) -> str:
    last = value.rsplit("/", 1)[-1]
    tag = last.split("@", 1)[0].partition(":")[2]
    if "@sha256:" not in value and not tag:
        raise ValueError(f"{value!r} has no tag or digest; pin a release tag (image:1.2.3) or a digest (image@sha256:...)")
    if tag == "latest" and "@sha256:" not in value:
        raise ValueError(f"{value!r} uses the moving tag 'latest'; pin a release tag or a digest")
    return value


def _registry_host(value: str) -> str:
    """A source registry as Docker names it after normalisation (docker.io, ghcr.io, localhost:5000)."""
    try:
        parsed = docker_reference.Reference.parse_normalized_named(f"{value}/probe")
    except docker_reference.InvalidReference:
        parsed = None
    if parsed is None or parsed.domain() != value:
        raise ValueError(f"{value!r} is not a registry host such as ghcr.io, docker.io or registry.example.com:5000 "
                         "(no scheme, no path; Docker Hub is docker.io)")
    return value


def _registry_prefix(value: str) -> str:
    """A registry host with an optional path (where a mirror keeps the images), no scheme, no trailing '/'."""
    host, _, path = value.partition("/")
    try:
        _registry_host(host)
        if path:
            docker_reference.Reference.parse(f"{host}/{path}")
    except (ValueError, docker_reference.InvalidReference):
        raise ValueError(f"{value!r} is not a registry prefix such as registry.example.com/mirror "
                         "(a registry host with '.' or ':', optional lowercase path; no scheme, no trailing '/')") from None
    return value


def _mirror_map(value: dict[str, str]) -> dict[str, str]:
    for host, prefix in value.items():
        try:
            _registry_host(host)
        except ValueError as error:
            raise KeyedError((host,), f"key {error}") from None
        try:
            _registry_prefix(prefix)
        except ValueError as error:
            raise KeyedError((host,), str(error)) from None
    return value


def _subject(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty user or group name")
    if value != value.strip():
        raise ValueError(f"{value!r} has leading or trailing spaces; no authenticator issues such a name")
    if value in FORBIDDEN_SUBJECTS:
        raise ValueError(f"{value!r} stands for every caller ({', '.join(sorted(FORBIDDEN_SUBJECTS))} are refused); "
                         "name the team's own group or users")
    return value


def _label_map(value: dict[str, str]) -> dict[str, str]:
    for (key, part), problems in validation.labels(value).items():
        shown = key if part == "key" else value[key]
        raise KeyedError((key,), f"{part} {shown!r} {problems[0]}")
    return value


def _annotation_map(value: dict[str, str]) -> dict[str, str]:
    for (key, part), problems in validation.annotations(value).items():
        raise KeyedError((key,) if key else (), f"key {key!r} {problems[0]}" if key else problems[0])
    return value


def unique(what: str = "", key: Callable = lambda item: item):
    """An after-validator for name-keyed lists: the API server (server-side apply) refuses duplicates."""
    def check(items: list) -> list:
        seen = set()
        for index, item in enumerate(items):
            name = key(item)
            if name in seen:
                path = (index, what) if what else (index,)
                raise KeyedError(path, f"{name!r} is listed twice; each entry must be unique")
            seen.add(name)
        return items

    return AfterValidator(check)


Name = Annotated[str, AfterValidator(_no_problems(validation.dns1123_label, "a valid name"))]
ObjectName = Annotated[str, AfterValidator(_no_problems(validation.dns1123_subdomain, "a valid name"))]
NamespaceName = Annotated[Name, AfterValidator(_not_reserved_namespace)]
Quantity = Annotated[str, AfterValidator(_quantity)]
SecretKey = Annotated[str, Field(min_length=1), AfterValidator(_no_problems(validation.secret_key, "a valid Secret key"))]
StorageClassName = Annotated[str, AfterValidator(_no_problems(validation.storage_class_name, "a valid storage class name"))]
IngressHost = Annotated[str, Field(min_length=1), AfterValidator(_no_problems(validation.ingress_host, "a valid Ingress host"))]
IngressClassName = Annotated[str, AfterValidator(_no_problems(validation.ingress_class_name, "a valid IngressClass name"))]
GoMemLimit = Annotated[str, AfterValidator(_go_memlimit)]
ImageRef = Annotated[str, AfterValidator(_pinned_image)]
#: An image the stack runs beside the release's (MCP servers, session store, registry setup and database):
#: a reference with a tag or digest, never the moving tag `latest`.
PinnedImage = Annotated[ImageRef, AfterValidator(_image_pinned)]
RegistryHost = Annotated[str, AfterValidator(_registry_host)]
RegistryPrefix = Annotated[str, AfterValidator(_registry_prefix)]
RegistryMirrors = Annotated[dict[str, str], AfterValidator(_mirror_map)]
Cidr = Annotated[str, AfterValidator(_cidr)]
EnvName = Annotated[str, AfterValidator(_matches(_ENV_NAME, "an environment variable name (letters, digits, '_')"))]
Port = Annotated[int, Field(ge=1, le=65535)]
Subject = Annotated[str, AfterValidator(_subject)]
Labels = Annotated[dict[str, str], AfterValidator(_label_map)]
Annotations = Annotated[dict[str, str], AfterValidator(_annotation_map)]


class Model(BaseModel):
    """Base for every config model: camelCase keys, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )
