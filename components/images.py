"""The images a stack deploys: the bundled release, per-image overrides, a mirror, optional digests.

Order of resolution: the release's images -> single-image overrides -> the mirror prefix (rewrites the
registry host of every image) -> with digestSource ecr, each tag resolved to `image@sha256:...` by
Amazon ECR describe-images. All of it happens before any resource is registered, so a missing image
fails preview with its name and nothing is half-applied.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Protocol

from components import bundle
from components.config import ImagesConfig
from components.errors import ConfigError

_ECR_HOST = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> "ImageRef":
        rest, _, digest = ref.partition("@")
        registry, _, path = rest.partition("/")
        repository, tag = path, None
        if ":" in path.rsplit("/", 1)[-1]:
            repository, tag = path.rsplit(":", 1)
        return cls(registry, repository, tag, digest or None)

    def __str__(self) -> str:
        ref = f"{self.registry}/{self.repository}"
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref


def with_mirror(ref: str, mirror: str | None) -> str:
    """Replace the registry host with the mirror prefix: ghcr.io/a/b:t -> mirror/a/b:t."""
    if not mirror:
        return ref
    parsed = ImageRef.parse(ref)
    host, _, prefix = mirror.partition("/")
    repository = f"{prefix}/{parsed.repository}" if prefix else parsed.repository
    return str(ImageRef(host, repository, parsed.tag, parsed.digest))


def image_references(cfg: ImagesConfig) -> dict[str, str]:
    """Tag references of every image (before digest resolution), keyed like the bundle."""
    refs = bundle.release_images(cfg.release)
    overrides = cfg.overrides.model_dump(by_alias=True)
    return {key: with_mirror(overrides.get(key) or ref, cfg.mirror) for key, ref in refs.items()}


class DigestResolver(Protocol):
    def __call__(self, ref: ImageRef) -> str | None:
        """The image's digest (sha256:...), or None if the registry does not have it."""


class EcrDigestResolver:
    """Looks tags up with ECR describe-images; one boto3 client per region, made on first use."""

    def __init__(self, client_factory: Callable[[str], object] | None = None):
        self._client_factory = client_factory or _boto3_ecr_client
        self._clients: dict[str, object] = {}

    def __call__(self, ref: ImageRef) -> str | None:
        host = _ECR_HOST.match(ref.registry)
        if host is None:
            raise ValueError("not an Amazon ECR registry")
        region = host.group("region")
        client = self._clients.setdefault(region, self._client_factory(region))
        try:
            found = client.describe_images(
                registryId=host.group("account"),
                repositoryName=ref.repository,
                imageIds=[{"imageTag": ref.tag or "latest"}],
            )
        except client.exceptions.RepositoryNotFoundException:
            return None
        except client.exceptions.ImageNotFoundException:
            return None
        details = found.get("imageDetails") or []
        return details[0]["imageDigest"] if details else None


def offline_digest_resolver(ref: ImageRef) -> str:
    """The offline renderer's stand-in: no network, a stable fake digest derived from the reference."""
    return "sha256:" + hashlib.sha256(f"offline:{ref}".encode()).hexdigest()


def _boto3_ecr_client(region: str):
    import boto3

    return boto3.client("ecr", region_name=region)


def resolve_images(cfg: ImagesConfig, resolver: DigestResolver | None = None) -> dict[str, str]:
    """The image references to deploy, keyed operator/proxyRunner/vmcp/registryApi."""
    overridden = cfg.overrides.model_dump(by_alias=True)
    return resolve_references(image_references(cfg), cfg, resolver,
                              lambda key: f"toolhive:images.overrides.{key}" if overridden.get(key) else "toolhive:images.mirror")


def resolve_references(refs: dict[str, str], cfg: ImagesConfig, resolver: DigestResolver | None,
                       key_of: Callable[[str], str]) -> dict[str, str]:
    """Mirrored references pinned to digests when the stack asks for it; `key_of(key)` names the config key
    that chose an image, for the error message. Components with images of their own use it too."""
    if cfg.digest_source == "none":
        return dict(refs)
    resolver = resolver or EcrDigestResolver()
    problems, resolved = [], {}
    for key, ref in refs.items():
        parsed = ImageRef.parse(ref)
        if parsed.digest:
            resolved[key] = ref
            continue
        if not _ECR_HOST.match(parsed.registry):
            problems.append(
                f"{key_of(key)}: {ref} is not in an Amazon ECR registry, which "
                "toolhive:images.digestSource 'ecr' needs; set toolhive:images.mirror to an ECR registry"
            )
            continue
        try:
            digest = resolver(parsed)
        except Exception as error:  # an AWS error (credentials, throttling) names the image it was for
            problems.append(f"toolhive:images.digestSource: could not look up {ref} in Amazon ECR: {error}")
            continue
        if digest is None:
            problems.append(
                f"toolhive:images.digestSource: image {ref} not found in Amazon ECR "
                f"(repository {parsed.repository}, tag {parsed.tag}); push or pull it through the mirror first"
            )
            continue
        resolved[key] = str(ImageRef(parsed.registry, parsed.repository, parsed.tag, digest))
    if problems:
        raise ConfigError(problems)
    return resolved
