"""The building blocks of every config model: the base model, keyed errors and validated scalar types.

Keys are camelCase in YAML (`toolhive:operator.rbac.scope`), snake_case in Python. A cross-field rule
that belongs to one key raises `KeyedError` with that key's path relative to the model it is raised
from, so the error names the key the user has to change.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_GO_MEMLIMIT = re.compile(r"^[0-9]+(B|KiB|MiB|GiB|TiB)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE_REF = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")
_REGISTRY_PREFIX = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_CIDR = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$|^[0-9a-fA-F:]+/[0-9]{1,3}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_PSA_VERSION = re.compile(r"^(latest|v1\.[0-9]+)$")


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


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a valid name: lowercase letters, digits and '-', at most 63 characters")
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(f"{value!r} is not a valid name: a lowercase DNS subdomain (letters, digits, '-', '.')")
    return value


Name = Annotated[str, AfterValidator(_dns_label)]
ObjectName = Annotated[str, AfterValidator(_dns_subdomain)]
Quantity = Annotated[str, AfterValidator(_matches(_QUANTITY, "a Kubernetes quantity such as 500m, 2, 128Mi or 1Gi"))]
ImageRef = Annotated[str, AfterValidator(_matches(_IMAGE_REF, "an image reference such as ghcr.io/org/image:tag"))]
RegistryPrefix = Annotated[str, AfterValidator(_matches(_REGISTRY_PREFIX, "a registry prefix such as registry.example.com/mirror (no scheme, no trailing '/')"))]
Cidr = Annotated[str, AfterValidator(_matches(_CIDR, "a CIDR such as 10.0.0.0/16"))]
EnvName = Annotated[str, AfterValidator(_matches(_ENV_NAME, "an environment variable name (letters, digits, '_')"))]
Port = Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    """Base for every config model: camelCase keys, unknown keys rejected."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )

