"""The images a stack deploys: the bundled release, per-image overrides, registry mirrors, optional digests.

Order of resolution: the release's images -> single-image overrides -> the mirror of the image's source
registry (`images.mirrors`: ghcr.io -> the ghcr pull-through prefix; images of unlisted registries and
images already on a mirror stay as they are) -> with digestSource ecr, each tag resolved to
`image@sha256:...` by Amazon ECR describe-images. All of it happens before any resource is registered, so a missing image
fails preview with its name and nothing is half-applied.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Protocol

from components import bundle
from components.config import ImagesConfig
from components.config.base import parse_image
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
        """Docker's reading: `nginx:1` is docker.io/library/nginx:1, `org/app` is docker.io/org/app, and the
        first component is a registry only with '.' or ':' in it, or as localhost."""
        parsed = parse_image(ref)
        return cls(parsed.domain(), parsed.path(), parsed["tag"], parsed["digest"])

    def __str__(self) -> str:
        ref = f"{self.registry}/{self.repository}"
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref


def mirrored(ref: str, mirrors: dict[str, str]) -> str:
    """The reference through the mirror of its source registry: with {ghcr.io: m.example/ghcr},
    ghcr.io/a/b:t -> m.example/ghcr/a/b:t. Other registries, and images already under a mirror
    prefix, are returned unchanged."""
    parsed = ImageRef.parse(ref)
    name = f"{parsed.registry}/{parsed.repository}"
    if any(name.startswith(prefix + "/") for prefix in mirrors.values()):
        return ref
    prefix = mirrors.get(parsed.registry)
    if prefix is None:
        return ref
    host, _, path = prefix.partition("/")
    repository = f"{path}/{parsed.repository}" if path else parsed.repository
    return str(ImageRef(host, repository, parsed.tag, parsed.digest))


def image_references(cfg: ImagesConfig) -> dict[str, str]:
    """Tag references of every image (before digest resolution), keyed like the bundle."""
    refs = bundle.release_images(cfg.release)
    overrides = cfg.overrides.model_dump(by_alias=True)
    mirrors = cfg.registry_mirrors
    return {key: mirrored(overrides.get(key) or ref, mirrors) for key, ref in refs.items()}


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
        if not ref.tag:  # never an implicit latest: what gets pinned must be the version that was named
            raise ValueError("has no tag to look up")
        region = host.group("region")
        client = self._clients.setdefault(region, self._client_factory(region))
        try:
            found = client.describe_images(
                registryId=host.group("account"),
                repositoryName=ref.repository,
                imageIds=[{"imageTag": ref.tag}],
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
                              lambda key: f"toolhive:images.overrides.{key}" if overridden.get(key) else "toolhive:images.mirrors")


def resolve_references(refs: dict, cfg: ImagesConfig, resolver: DigestResolver | None,
                       key_of: Callable) -> dict:
    """The references through the stack's mirrors, pinned to digests when the stack asks for it;
    `key_of(key)` names the config key (or server file and field) that chose an image, for the error
    message. Every image the stack deploys goes through here (the bundle's, the registry's, the
    servers'). Each distinct reference is looked up once, however many servers run it."""
    mirrors = cfg.registry_mirrors
    refs = {key: mirrored(ref, mirrors) for key, ref in refs.items()}
    if cfg.digest_source == "none":
        return refs
    resolver = resolver or EcrDigestResolver()
    problems, resolved, digests = [], {}, {}
    for key, ref in refs.items():
        parsed = ImageRef.parse(ref)
        if parsed.digest:
            resolved[key] = ref
            continue
        if not _ECR_HOST.match(parsed.registry):
            problems.append(
                f"{key_of(key)}: {ref} is not in an Amazon ECR registry, which "
                f"toolhive:images.digestSource 'ecr' needs; map {parsed.registry} to an ECR registry in toolhive:images.mirrors"
            )
            continue
        if ref not in digests:
            try:
                digests[ref] = resolver(parsed)
            except Exception as error:  # an AWS error (credentials, throttling) names the image it was for
                digests[ref] = error
        digest = digests[ref]
        if isinstance(digest, Exception):
            problems.append(f"toolhive:images.digestSource: could not look up {ref} ({key_of(key)}) in Amazon ECR: {digest}")
            continue
        if digest is None:
            problems.append(
                f"toolhive:images.digestSource: image {ref} ({key_of(key)}) not found in Amazon ECR "
                f"(repository {parsed.repository}, tag {parsed.tag}); push or pull it through the mirror first"
            )
            continue
        resolved[key] = str(ImageRef(parsed.registry, parsed.repository, parsed.tag, digest))
    if problems:
        raise ConfigError(problems)
    return resolved
