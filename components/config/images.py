"""Stack config: which ToolHive release runs, and where its images come from (`toolhive:images`)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from components import bundle
from components.config.base import ImageRef, KeyedError, Model, RegistryMirrors, RegistryPrefix

GHCR = "ghcr.io"


class ImageOverrides(Model):
    """Replace single images of the release: full references with a tag or a digest. A mirror of their
    registry (toolhive:images.mirrors) still applies to them."""

    operator: Optional[ImageRef] = Field(None, description="The operator (controller) image.")
    proxy_runner: Optional[ImageRef] = Field(None, description="The proxy runner image the operator gives MCP servers.")
    vmcp: Optional[ImageRef] = Field(None, description="The Virtual MCP server image the operator gives VirtualMCPServers.")
    registry_api: Optional[ImageRef] = Field(None, description="The registry API image the operator gives MCPRegistries.")


class ImagesConfig(Model):
    """Which ToolHive release runs, and where its images are pulled from."""

    release: str = Field(
        default_factory=bundle.default_release,
        description="The ToolHive release to install: one of the releases in components/bundle/releases.yaml.",
    )
    overrides: ImageOverrides = Field(default_factory=ImageOverrides, description="Replace single images of the release.")
    mirrors: RegistryMirrors = Field(
        default_factory=dict,
        description="Source registry -> mirror prefix (private registry, ECR pull-through cache), e.g. "
        "{ghcr.io: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr, docker.io: "
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub}. Only images of a listed registry are "
        "rewritten (ghcr.io/a/b:t -> <prefix>/a/b:t; Docker Hub names as docker.io/library/...); images "
        "already on a mirror or from other registries stay as they are.",
    )
    mirror: Optional[RegistryPrefix] = Field(
        None,
        description="Shorthand for mirrors: {ghcr.io: <prefix>} (every release image is on ghcr.io).",
    )
    digest_source: Literal["none", "ecr"] = Field(
        "none",
        description="Resolve every image tag to its digest at deploy time and deploy image@sha256:...; "
        "'ecr' asks Amazon ECR (describe-images) and needs every image in an ECR registry.",
    )

    @model_validator(mode="after")
    def _release_is_bundled(self) -> "ImagesConfig":
        releases = bundle.releases()
        if self.release not in releases:
            raise KeyedError(("release",), f"must be one of {', '.join(sorted(releases))} (the bundled releases)")
        if self.mirror and GHCR in self.mirrors:
            raise KeyedError(("mirror",), f"conflicts with toolhive:images.mirrors.{GHCR}; set one of them")
        return self

    @property
    def registry_mirrors(self) -> dict[str, str]:
        """Source registry -> mirror prefix, the `mirror` shorthand included."""
        return {**({GHCR: self.mirror} if self.mirror else {}), **self.mirrors}
