"""Stack config: which ToolHive release runs, and where its images come from (`toolhive:images`)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from components import bundle
from components.config.base import ImageRef, KeyedError, Model, RegistryPrefix


class ImageOverrides(Model):
    """Replace single images of the release (full references). The mirror still applies to them."""

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
    mirror: Optional[RegistryPrefix] = Field(
        None,
        description="Registry prefix that replaces the registry host of every image (private registry, ECR "
        "pull-through cache), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr.",
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
        return self

