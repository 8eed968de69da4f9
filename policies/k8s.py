"""Helpers over Kubernetes manifests shared by the policies: pod templates, containers, images."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from . import pod_security
from .core import ResourceView, as_dict, as_list
from .typetokens import TOOLHIVE_GROUP

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class PodTemplate:
    path: str          # path of the pod spec, e.g. "spec.template.spec"
    metadata: dict
    spec: dict
    partial: bool      # True for a ToolHive spec.podTemplateSpec (merged by the operator)


def pod_templates(view: ResourceView) -> list[PodTemplate]:
    """Every pod template of the object (Pod, pod controllers, PodTemplate, and the ToolHive
    spec.podTemplateSpec, which is partial: the operator merges it into the pod it generates)."""
    partial = view.group == TOOLHIVE_GROUP
    return [PodTemplate(path, as_dict(metadata), as_dict(spec), partial)
            for path, metadata, spec in pod_security.pod_templates(view.manifest)]


@dataclass(frozen=True)
class Container:
    path: str          # e.g. spec.template.spec.containers[0]
    name: str
    body: dict

    @property
    def label(self) -> str:
        """``spec.containers[0] ("app")``."""
        return f'{self.path} ("{self.name}")' if self.name else self.path


def containers(template: PodTemplate, lists: tuple[str, ...] = CONTAINER_LISTS) -> Iterator[Container]:
    for list_name in lists:
        for index, container in enumerate(as_list(template.spec.get(list_name))):
            container = as_dict(container)
            name = container.get("name")
            yield Container(f"{template.path}.{list_name}[{index}]", name if isinstance(name, str) else "",
                            container)


# ---------------------------------------------------------------------------------------------
# Image references
# ---------------------------------------------------------------------------------------------

_DIGEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference. ``registry`` is ``docker.io`` when the reference names none."""

    raw: str
    registry: str
    repository: str
    tag: Optional[str]
    digest: Optional[str]

    @property
    def location(self) -> str:
        """registry/repository, e.g. ``ghcr.io/stacklok/toolhive/operator``."""
        return f"{self.registry}/{self.repository}"

    @property
    def has_valid_digest(self) -> bool:
        return bool(self.digest and _DIGEST_RE.match(self.digest))


def parse_image(ref: str) -> ImageRef:
    """Split an image reference like the container runtime does: the first path component is a
    registry host when it contains '.' or ':' or is 'localhost'; the tag follows the last ':' of the
    last path component; the digest follows '@'."""
    raw = ref.strip()
    name, _, digest = raw.partition("@")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, remainder = first, rest
    else:
        registry, remainder = "docker.io", name
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        repository, tag = remainder[:colon], remainder[colon + 1:]
    else:
        repository, tag = remainder, None
    return ImageRef(raw, registry.lower(), repository, tag or None, digest or None)


def registry_allowed(image: ImageRef, allowed: list[str]) -> bool:
    """True when the image's registry/repository equals an allowed entry or lies under it: an entry
    is a registry host (``123456789012.dkr.ecr.eu-west-1.amazonaws.com``) or a host with a path
    prefix (``123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr``)."""
    location = image.location.lower()
    for entry in allowed:
        entry = str(entry).strip().rstrip("/").lower()
        if entry and (location == entry or location.startswith(entry + "/")):
            return True
    return False


def env_entries(container: dict) -> Iterator[tuple[int, dict]]:
    for index, item in enumerate(as_list(container.get("env"))):
        if isinstance(item, dict):
            yield index, item


def string_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None
