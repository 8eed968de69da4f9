"""The image bundle: release pins, overrides, the mirror, and ECR digest pinning (tested with moto)."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from components.config.loader import parse_stack_config
from components.errors import ConfigError
from components.images import EcrDigestResolver, ImageRef, resolve_images, with_mirror
from tests.conftest import deployment_env, render_config
from tools.mock_runtime import ProgramRun

MIRROR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr"
ECR_REPOSITORIES = ("ghcr/stacklok/toolhive/operator", "ghcr/stacklok/toolhive/proxyrunner",
                    "ghcr/stacklok/toolhive/vmcp", "ghcr/stacklok/thv-registry-api")


def images_of(images_config: dict, resolver=None) -> dict[str, str]:
    return resolve_images(parse_stack_config({"images": images_config}).images, resolver)


def test_bundle_pins_the_release_images():
    assert images_of({}) == {
        "operator": "ghcr.io/stacklok/toolhive/operator:v0.44.0",
        "proxyRunner": "ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0",
        "vmcp": "ghcr.io/stacklok/toolhive/vmcp:v0.44.0",
        "registryApi": "ghcr.io/stacklok/thv-registry-api:v1.3.0",
    }


def test_a_single_image_can_be_overridden():
    images = images_of({"overrides": {"vmcp": "registry.example.com/custom/vmcp:v1"}})
    assert images["vmcp"] == "registry.example.com/custom/vmcp:v1"
    assert images["operator"] == "ghcr.io/stacklok/toolhive/operator:v0.44.0"


def test_mirror_rewrites_every_image_including_overrides():
    images = images_of({"mirror": MIRROR, "overrides": {"vmcp": "quay.io/custom/vmcp:v1"}})
    assert images == {
        "operator": f"{MIRROR}/stacklok/toolhive/operator:v0.44.0",
        "proxyRunner": f"{MIRROR}/stacklok/toolhive/proxyrunner:v0.44.0",
        "vmcp": f"{MIRROR}/custom/vmcp:v1",
        "registryApi": f"{MIRROR}/stacklok/thv-registry-api:v1.3.0",
    }


def test_mirror_without_a_path_replaces_only_the_host():
    assert with_mirror("ghcr.io/a/b:1", "registry.local:5000") == "registry.local:5000/a/b:1"


def test_mirrored_images_reach_the_operator_and_the_outputs(preview):
    rendered = render_config({"images": {"mirror": MIRROR}}, preview=preview)
    deployment = rendered.object("Deployment", "toolhive-operator", "toolhive-system")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == f"{MIRROR}/stacklok/toolhive/operator:v0.44.0"
    env = deployment_env(deployment)
    assert env["TOOLHIVE_RUNNER_IMAGE"]["value"] == f"{MIRROR}/stacklok/toolhive/proxyrunner:v0.44.0"
    assert env["VMCP_IMAGE"]["value"] == f"{MIRROR}/stacklok/toolhive/vmcp:v0.44.0"
    assert env["TOOLHIVE_REGISTRY_API_IMAGE"]["value"] == f"{MIRROR}/stacklok/thv-registry-api:v1.3.0"
    assert rendered.outputs["images"]["operator"] == f"{MIRROR}/stacklok/toolhive/operator:v0.44.0"
    assert rendered.outputs["release"] == "v0.44.0"
    assert rendered.outputs["operatorNamespace"] == "toolhive-system"


def test_invalid_mirror_names_the_key():
    with pytest.raises(ConfigError) as caught:
        images_of({"mirror": "https://registry.example.com/"})
    assert caught.value.problems[0].startswith("toolhive:images.mirror: 'https://registry.example.com/' is not a registry prefix")


@pytest.fixture
def ecr():
    """A moto ECR with the mirror's repositories; push(repo, tag) returns the image digest."""
    with mock_aws():
        client = boto3.client("ecr", region_name="eu-west-1")
        for repository in ECR_REPOSITORIES:
            client.create_repository(repositoryName=repository)

        def push(repository: str, tag: str) -> str:
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "config": {"digest": f"sha256:{'0' * 64}", "size": 1, "mediaType": "application/vnd.docker.container.image.v1+json"},
                        "layers": [], "tag": f"{repository}:{tag}"}
            image = client.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
            return image["image"]["imageId"]["imageDigest"]

        yield push


def test_ecr_digest_pinning_deploys_image_at_digest(ecr):
    digests = {
        "operator": ecr("ghcr/stacklok/toolhive/operator", "v0.44.0"),
        "proxyRunner": ecr("ghcr/stacklok/toolhive/proxyrunner", "v0.44.0"),
        "vmcp": ecr("ghcr/stacklok/toolhive/vmcp", "v0.44.0"),
        "registryApi": ecr("ghcr/stacklok/thv-registry-api", "v1.3.0"),
    }
    images = images_of({"mirror": MIRROR, "digestSource": "ecr"}, EcrDigestResolver())
    assert images["operator"] == f"{MIRROR}/stacklok/toolhive/operator:v0.44.0@{digests['operator']}"
    for key, ref in images.items():
        assert ImageRef.parse(ref).digest == digests[key]
        assert digests[key].startswith("sha256:")


def test_ecr_image_missing_from_the_mirror_fails_naming_it(ecr):
    ecr("ghcr/stacklok/toolhive/operator", "v0.44.0")
    ecr("ghcr/stacklok/toolhive/proxyrunner", "v0.44.0")
    ecr("ghcr/stacklok/thv-registry-api", "v1.3.0")
    with pytest.raises(ConfigError) as caught:
        images_of({"mirror": MIRROR, "digestSource": "ecr"}, EcrDigestResolver())
    assert caught.value.problems == [
        f"toolhive:images.digestSource: image {MIRROR}/stacklok/toolhive/vmcp:v0.44.0 not found in Amazon ECR "
        "(repository ghcr/stacklok/toolhive/vmcp, tag v0.44.0); push or pull it through the mirror first"
    ]


def test_ecr_missing_repository_is_reported_like_a_missing_image(ecr):
    with pytest.raises(ConfigError) as caught:
        images_of({"mirror": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/elsewhere", "digestSource": "ecr"},
                  EcrDigestResolver())
    assert len(caught.value.problems) == 4
    assert all("not found in Amazon ECR" in problem for problem in caught.value.problems)


def test_missing_image_fails_preview_before_any_resource(ecr, preview):
    from components.program import run
    from tools.mock_runtime import run_program

    registered = ProgramRun()
    with pytest.raises(ConfigError):
        run_program(lambda: run(EcrDigestResolver()), preview=preview, result=registered,
                    config={"toolhive:images": {"mirror": MIRROR, "digestSource": "ecr"}})
    assert [r.type for r in registered.resources] == ["pulumi:pulumi:Stack"]


def test_digest_pinning_needs_images_in_ecr():
    with pytest.raises(ConfigError) as caught:
        images_of({"digestSource": "ecr"}, resolver=lambda ref: pytest.fail("must not look up a non-ECR image"))
    assert caught.value.problems[0].startswith(
        "toolhive:images.mirror: ghcr.io/stacklok/toolhive/operator:v0.44.0 is not in an Amazon ECR registry")


def test_overridden_image_outside_ecr_names_its_override_key():
    ecr_ref = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/toolhive/{}:v0.44.0"
    overrides = {"operator": ecr_ref.format("operator"), "proxyRunner": ecr_ref.format("proxyrunner"),
                 "registryApi": ecr_ref.format("registry-api"), "vmcp": "quay.io/x/vmcp:1"}
    with pytest.raises(ConfigError) as caught:
        images_of({"digestSource": "ecr", "overrides": overrides}, resolver=lambda ref: "sha256:" + "1" * 64)
    assert caught.value.problems == [
        "toolhive:images.overrides.vmcp: quay.io/x/vmcp:1 is not in an Amazon ECR registry, which "
        "toolhive:images.digestSource 'ecr' needs; set toolhive:images.mirror to an ECR registry"
    ]


def test_offline_render_stubs_digests_without_network(preview):
    rendered = render_config({"images": {"mirror": MIRROR, "digestSource": "ecr"}}, preview=preview)
    assert all("@sha256:" in ref for ref in rendered.outputs["images"].values())
