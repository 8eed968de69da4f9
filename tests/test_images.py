"""The image bundle: release pins, overrides, registry mirrors, and ECR digest pinning (tested with moto)."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from components.config.loader import parse_stack_config
from components.errors import ConfigError
from components.images import EcrDigestResolver, ImageRef, mirrored, resolve_images
from components.program import run
from components.servers.catalog import load_servers
from components.servers.images import SESSION_STORE, server_images
from tests.conftest import PROJECT_ROOT, TEST_CLUSTER, deployment_env, render_config
from tools.mock_runtime import ProgramRun, run_program
from tools.render import read_stack_file

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
MIRROR = f"{ECR}/ghcr"
HUB_MIRROR = f"{ECR}/docker-hub"
GHCR_MIRROR = {"ghcr.io": MIRROR}
ECR_REPOSITORIES = ("ghcr/stacklok/toolhive/operator", "ghcr/stacklok/toolhive/proxyrunner",
                    "ghcr/stacklok/toolhive/vmcp", "ghcr/stacklok/thv-registry-api")


def images_of(images_config: dict, resolver=None) -> dict[str, str]:
    return resolve_images(parse_stack_config({"images": images_config}).images, resolver)


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw)
    return caught.value.problems


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


def test_mirror_rewrites_the_images_of_its_registry_including_overrides():
    images = images_of({"mirrors": GHCR_MIRROR, "overrides": {"vmcp": "ghcr.io/custom/vmcp:v1"}})
    assert images == {
        "operator": f"{MIRROR}/stacklok/toolhive/operator:v0.44.0",
        "proxyRunner": f"{MIRROR}/stacklok/toolhive/proxyrunner:v0.44.0",
        "vmcp": f"{MIRROR}/custom/vmcp:v1",
        "registryApi": f"{MIRROR}/stacklok/thv-registry-api:v1.3.0",
    }


def test_mirror_shorthand_stands_for_the_ghcr_mirror():
    assert images_of({"mirror": MIRROR}) == images_of({"mirrors": GHCR_MIRROR})


def test_mirror_shorthand_and_a_ghcr_mirror_conflict():
    assert problems_of({"images": {"mirror": MIRROR, "mirrors": GHCR_MIRROR}}) == [
        "toolhive:images.mirror: conflicts with toolhive:images.mirrors.ghcr.io; set one of them"]


def test_an_override_already_on_the_mirror_is_left_alone():
    on_mirror = f"{MIRROR}/stacklok/toolhive/vmcp:v0.44.1"
    images = images_of({"mirrors": GHCR_MIRROR, "overrides": {"vmcp": on_mirror}})
    assert images["vmcp"] == on_mirror  # never .../ghcr/ghcr/...


def test_an_image_under_a_mirror_on_its_own_source_registry_is_not_mirrored_twice():
    # A mirror may live on the registry it mirrors (an organisation's copies on ghcr.io itself).
    mirrors = {"ghcr.io": "ghcr.io/acme/mirror"}
    assert mirrored("ghcr.io/acme/mirror/stacklok/toolhive/vmcp:v1", mirrors) == "ghcr.io/acme/mirror/stacklok/toolhive/vmcp:v1"
    assert mirrored("ghcr.io/stacklok/toolhive/vmcp:v1", mirrors) == "ghcr.io/acme/mirror/stacklok/toolhive/vmcp:v1"


def test_an_image_of_an_unmapped_registry_is_left_alone():
    images = images_of({"mirrors": GHCR_MIRROR, "overrides": {"vmcp": "quay.io/custom/vmcp:v1",
                                                              "operator": "docker.io/stacklok/operator:v1"}})
    assert images["vmcp"] == "quay.io/custom/vmcp:v1"
    assert images["operator"] == "docker.io/stacklok/operator:v1"  # not sent to the ghcr cache


def test_each_registry_goes_to_its_own_mirror():
    images = images_of({"mirrors": {"ghcr.io": MIRROR, "docker.io": HUB_MIRROR},
                        "overrides": {"vmcp": "docker.io/custom/vmcp:v1"}})
    assert images["vmcp"] == f"{HUB_MIRROR}/custom/vmcp:v1"
    assert images["operator"] == f"{MIRROR}/stacklok/toolhive/operator:v0.44.0"


@pytest.mark.parametrize(("ref", "expected"), [
    ("nginx:1.27", f"{HUB_MIRROR}/library/nginx:1.27"),          # a bare name is docker.io/library/...
    ("bitnami/redis:7", f"{HUB_MIRROR}/bitnami/redis:7"),        # 'bitnami' has no '.', so it is no registry
    ("index.docker.io/org/app:1", f"{HUB_MIRROR}/org/app:1"),    # Docker Hub's legacy name
    ("localhost/app:1", "localhost/app:1"),                      # localhost is a registry
    ("registry.local:5000/app:1", "registry.local:5000/app:1"),  # ':' makes a registry
    ("ghcr.io/a/b@sha256:" + "a" * 64, f"{MIRROR}/a/b@sha256:" + "a" * 64),
])
def test_image_references_are_read_as_docker_reads_them(ref, expected):
    assert mirrored(ref, {"ghcr.io": MIRROR, "docker.io": HUB_MIRROR}) == expected


def test_mirror_without_a_path_replaces_only_the_host():
    assert mirrored("ghcr.io/a/b:1", {"ghcr.io": "registry.local:5000"}) == "registry.local:5000/a/b:1"


@pytest.mark.parametrize("override", ["ghcr.io/custom/vmcp", "nginx", f"{MIRROR}/stacklok/toolhive/vmcp"])
def test_an_override_must_name_a_tag_or_a_digest(override):
    (problem,) = problems_of({"images": {"overrides": {"vmcp": override}}})
    assert problem.startswith(f"toolhive:images.overrides.vmcp: {override!r} has neither a tag nor a digest")


@pytest.mark.parametrize("override", ["ghcr.io/Org/vmcp:1", "ghcr.io/org/vmcp:", "https://ghcr.io/org/vmcp:1",
                                      "ghcr.io/org/vmcp@sha256:short"])
def test_a_malformed_override_is_rejected(override):
    (problem,) = problems_of({"images": {"overrides": {"vmcp": override}}})
    assert problem.startswith(f"toolhive:images.overrides.vmcp: {override!r} is not an image reference")


@pytest.mark.parametrize(("mirrors", "message"), [
    ({"https://ghcr.io": MIRROR}, "toolhive:images.mirrors.https://ghcr.io: key 'https://ghcr.io' is not a registry host"),
    ({"ghcr": MIRROR}, "toolhive:images.mirrors.ghcr: key 'ghcr' is not a registry host"),
    ({"ghcr.io/stacklok": MIRROR}, "toolhive:images.mirrors.ghcr.io/stacklok: key 'ghcr.io/stacklok' is not a registry host"),
    ({"index.docker.io": HUB_MIRROR}, "toolhive:images.mirrors.index.docker.io: key 'index.docker.io' is not a registry host"),
    ({"ghcr.io": MIRROR + "/"}, f"toolhive:images.mirrors.ghcr.io: '{MIRROR}/' is not a registry prefix"),
    ({"ghcr.io": "mirror/ghcr"}, "toolhive:images.mirrors.ghcr.io: 'mirror/ghcr' is not a registry prefix"),
])
def test_invalid_mirror_mapping_names_the_key(mirrors, message):
    (problem,) = problems_of({"images": {"mirrors": mirrors}})
    assert problem.startswith(message)


def test_mirrored_images_reach_the_operator_and_the_outputs(preview):
    rendered = render_config({"images": {"mirrors": GHCR_MIRROR}}, preview=preview)
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
    images = images_of({"mirrors": GHCR_MIRROR, "digestSource": "ecr"}, EcrDigestResolver())
    assert images["operator"] == f"{MIRROR}/stacklok/toolhive/operator:v0.44.0@{digests['operator']}"
    for key, ref in images.items():
        assert ImageRef.parse(ref).digest == digests[key]
        assert digests[key].startswith("sha256:")


def test_ecr_pins_an_override_that_is_already_on_the_mirror(ecr):
    for repository, tag in (("ghcr/stacklok/toolhive/operator", "v0.44.0"), ("ghcr/stacklok/toolhive/proxyrunner", "v0.44.0"),
                            ("ghcr/stacklok/thv-registry-api", "v1.3.0")):
        ecr(repository, tag)
    digest = ecr("ghcr/stacklok/toolhive/vmcp", "v0.44.1")
    images = images_of({"mirrors": GHCR_MIRROR, "digestSource": "ecr",
                        "overrides": {"vmcp": f"{MIRROR}/stacklok/toolhive/vmcp:v0.44.1"}}, EcrDigestResolver())
    assert images["vmcp"] == f"{MIRROR}/stacklok/toolhive/vmcp:v0.44.1@{digest}"


def test_ecr_lookup_never_falls_back_to_latest(ecr):
    ecr("ghcr/stacklok/toolhive/vmcp", "latest")
    with pytest.raises(ValueError, match="no tag"):
        EcrDigestResolver()(ImageRef(ECR, "ghcr/stacklok/toolhive/vmcp", None, None))


def test_ecr_image_missing_from_the_mirror_fails_naming_it(ecr):
    ecr("ghcr/stacklok/toolhive/operator", "v0.44.0")
    ecr("ghcr/stacklok/toolhive/proxyrunner", "v0.44.0")
    ecr("ghcr/stacklok/thv-registry-api", "v1.3.0")
    with pytest.raises(ConfigError) as caught:
        images_of({"mirrors": GHCR_MIRROR, "digestSource": "ecr"}, EcrDigestResolver())
    assert caught.value.problems == [
        f"toolhive:images.digestSource: image {MIRROR}/stacklok/toolhive/vmcp:v0.44.0 (toolhive:images.mirrors) "
        "not found in Amazon ECR "
        "(repository ghcr/stacklok/toolhive/vmcp, tag v0.44.0); push or pull it through the mirror first"
    ]


def test_ecr_missing_repository_is_reported_like_a_missing_image(ecr):
    with pytest.raises(ConfigError) as caught:
        images_of({"mirrors": {"ghcr.io": f"{ECR}/elsewhere"}, "digestSource": "ecr"},
                  EcrDigestResolver())
    assert len(caught.value.problems) == 4
    assert all("not found in Amazon ECR" in problem for problem in caught.value.problems)


def test_missing_image_fails_preview_before_any_resource(ecr, preview):
    from components.program import run
    from tools.mock_runtime import run_program

    registered = ProgramRun()
    with pytest.raises(ConfigError):
        run_program(lambda: run(EcrDigestResolver()), preview=preview, result=registered,
                    config={"toolhive:images": {"mirrors": GHCR_MIRROR, "digestSource": "ecr"},
                            "toolhive:cluster": TEST_CLUSTER})
    assert [r.type for r in registered.resources] == ["pulumi:pulumi:Stack"]


def test_digest_pinning_needs_images_in_ecr():
    with pytest.raises(ConfigError) as caught:
        images_of({"digestSource": "ecr"}, resolver=lambda ref: pytest.fail("must not look up a non-ECR image"))
    assert caught.value.problems[0].startswith(
        "toolhive:images.mirrors: ghcr.io/stacklok/toolhive/operator:v0.44.0 is not in an Amazon ECR registry")


def test_overridden_image_outside_ecr_names_its_override_key():
    ecr_ref = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/toolhive/{}:v0.44.0"
    overrides = {"operator": ecr_ref.format("operator"), "proxyRunner": ecr_ref.format("proxyrunner"),
                 "registryApi": ecr_ref.format("registry-api"), "vmcp": "quay.io/x/vmcp:1"}
    with pytest.raises(ConfigError) as caught:
        images_of({"digestSource": "ecr", "overrides": overrides}, resolver=lambda ref: "sha256:" + "1" * 64)
    assert caught.value.problems == [
        "toolhive:images.overrides.vmcp: quay.io/x/vmcp:1 is not in an Amazon ECR registry, which "
        "toolhive:images.digestSource 'ecr' needs; map quay.io to an ECR registry in toolhive:images.mirrors"
    ]


def test_offline_render_stubs_digests_without_network(preview):
    rendered = render_config({"images": {"mirrors": GHCR_MIRROR, "digestSource": "ecr"}}, preview=preview)
    assert all("@sha256:" in ref for ref in rendered.outputs["images"].values())


# ---------------------------------------------------------------------------------------------
# The servers' own images: MCPServer spec.image and the session store's Valkey
# ---------------------------------------------------------------------------------------------

SERVER_IMAGE = "ghcr.io/stackloklabs/gofetch/server:1.0.1"
PINNED_IMAGES = {"mirrors": GHCR_MIRROR, "digestSource": "ecr"}


def server_entry(name: str, image: str = SERVER_IMAGE) -> dict:
    return {"name": name, "namespace": "mcp-dev", "spec": {"image": image}}


def fleet_config(*servers: dict, images: dict | None = None, **servers_block) -> dict:
    return {"namespaces": [{"name": "mcp-dev"}], "images": images or PINNED_IMAGES,
            "servers": {"mcpServers": list(servers), **servers_block}}


def own_images(raw: dict, resolver) -> dict:
    config = parse_stack_config(raw)
    return server_images(load_servers(config, stack="dev"), config, resolver)


def test_ecr_pins_each_server_image_to_its_digest(ecr, preview):
    for repository, tag in (("ghcr/stacklok/toolhive/operator", "v0.44.0"), ("ghcr/stacklok/toolhive/proxyrunner", "v0.44.0"),
                            ("ghcr/stacklok/toolhive/vmcp", "v0.44.0"), ("ghcr/stacklok/thv-registry-api", "v1.3.0")):
        ecr(repository, tag)
    boto3.client("ecr", region_name="eu-west-1").create_repository(repositoryName="ghcr/stackloklabs/gofetch/server")
    digest = ecr("ghcr/stackloklabs/gofetch/server", "1.0.1")
    config = {f"toolhive:{key}": value for key, value in fleet_config(server_entry("fetch")).items()}
    registered = ProgramRun()
    run_program(lambda: run(EcrDigestResolver()), preview=preview, result=registered,
                config={**config, "toolhive:cluster": TEST_CLUSTER})
    [server] = [r.inputs for r in registered.resources if r.type.endswith(":MCPServer")]
    assert server["spec"]["image"] == f"{MIRROR}/stackloklabs/gofetch/server:1.0.1@{digest}"


def test_a_server_image_missing_from_ecr_fails_naming_the_server_before_any_resource(ecr):
    registered = ProgramRun()
    config = {f"toolhive:{key}": value for key, value in fleet_config(server_entry("fetch")).items()}
    with pytest.raises(ConfigError) as caught:
        run_program(lambda: run(EcrDigestResolver()), result=registered,
                    config={**config, "toolhive:cluster": TEST_CLUSTER})
    assert (f"toolhive:images.digestSource: image {MIRROR}/stackloklabs/gofetch/server:1.0.1 "
            f"(toolhive:servers.mcpServers[0].spec.image) not found in Amazon ECR") in " ".join(caught.value.problems)
    assert [r.type for r in registered.resources] == ["pulumi:pulumi:Stack"]


def test_each_distinct_server_image_is_looked_up_once():
    looked_up = []
    images = own_images(fleet_config(*(server_entry(f"s{index}") for index in range(5))),
                        lambda ref: looked_up.append(str(ref)) or "sha256:" + "1" * 64)
    assert looked_up == [f"{MIRROR}/stackloklabs/gofetch/server:1.0.1"]
    assert set(images.values()) == {f"{MIRROR}/stackloklabs/gofetch/server:1.0.1@sha256:{'1' * 64}"}


def test_a_server_image_written_with_a_digest_is_deployed_as_written():
    pinned = f"{SERVER_IMAGE}@sha256:{'2' * 64}"
    images = own_images(fleet_config(server_entry("fetch", pinned)), lambda ref: pytest.fail("must not look it up"))
    assert images["mcp-dev", "fetch"] == f"{MIRROR}/stackloklabs/gofetch/server:1.0.1@sha256:{'2' * 64}"


def test_a_server_image_outside_ecr_names_the_server_key():
    with pytest.raises(ConfigError) as caught:
        own_images(fleet_config(server_entry("fetch"), server_entry("quay", "quay.io/org/mcp:2")),
                   lambda ref: "sha256:" + "1" * 64)
    assert caught.value.problems == [
        "toolhive:servers.mcpServers[1].spec.image: quay.io/org/mcp:2 is not in an Amazon ECR registry, which "
        "toolhive:images.digestSource 'ecr' needs; map quay.io to an ECR registry in toolhive:images.mirrors"]


def test_a_shipped_server_file_is_named_with_its_field():
    raw, _ = read_stack_file(PROJECT_ROOT / "Pulumi.prod.yaml")
    config = parse_stack_config({key.split(":", 1)[1]: value for key, value in raw.items() if key.startswith("toolhive:")})
    with pytest.raises(ConfigError) as caught:
        server_images(load_servers(config, stack="prod"), config, lambda ref: None)
    assert any(problem.startswith("toolhive:images.digestSource: image ") and
               "(servers/prod/fetch.yaml: spec.image) not found in Amazon ECR" in problem
               for problem in caught.value.problems)


def test_the_session_store_image_is_pinned_too():
    images = own_images(fleet_config(sessionStore={}, images={"mirrors": {"docker.io": HUB_MIRROR}, "digestSource": "ecr"}),
                        lambda ref: "sha256:" + "3" * 64)
    assert images[SESSION_STORE] == f"{HUB_MIRROR}/valkey/valkey:8.1.3-alpine@sha256:{'3' * 64}"


def test_the_session_store_image_outside_ecr_names_its_key():
    with pytest.raises(ConfigError) as caught:
        own_images(fleet_config(sessionStore={}), lambda ref: "sha256:" + "3" * 64)
    assert caught.value.problems[0].startswith("toolhive:servers.sessionStore.image: docker.io/valkey/valkey:")


def test_image_problems_of_the_platform_and_the_servers_are_reported_together():
    config = {f"toolhive:{key}": value for key, value in fleet_config(server_entry("quay", "quay.io/org/mcp:2")).items()}
    with pytest.raises(ConfigError) as caught:
        run_program(lambda: run(lambda ref: None), config={**config, "toolhive:cluster": TEST_CLUSTER})
    assert any(problem.startswith("toolhive:images.digestSource: image ") and "(toolhive:images.mirrors)" in problem
               for problem in caught.value.problems)
    assert any(problem.startswith("toolhive:servers.mcpServers[0].spec.image: quay.io/org/mcp:2")
               for problem in caught.value.problems)


def test_offline_render_deploys_pinned_server_and_session_store_images(preview):
    rendered = render_config(fleet_config(server_entry("fetch"), sessionStore={},
                                          images={"mirrors": {**GHCR_MIRROR, "docker.io": HUB_MIRROR}, "digestSource": "ecr"}),
                             preview=preview)
    assert "@sha256:" in rendered.object("MCPServer", "fetch", "mcp-dev")["spec"]["image"]
    [valkey] = rendered.objects("StatefulSet")
    assert all("@sha256:" in c["image"] for c in valkey["spec"]["template"]["spec"]["containers"])


# -- the registry's own images (components/registry/images.py) ----------------------------------------------------

REGISTRY = {"sources": [{"name": "cluster", "kubernetes": {"namespaces": ["mcp-dev"]}}]}


def registry_images_of(registry: dict, images: dict, resolver=lambda ref: "sha256:" + "4" * 64) -> dict[str, str]:
    from components.registry.images import registry_images

    config = parse_stack_config({"cluster": TEST_CLUSTER, "registry": registry, "images": images})
    return registry_images(config, resolver)


def test_the_registrys_postgres_and_setup_images_are_mirrored_and_pinned_like_the_bundles():
    images = registry_images_of({**REGISTRY, "database": {"inCluster": {}}},
                                {"mirrors": {"docker.io": HUB_MIRROR}, "digestSource": "ecr"})
    pinned = f"{HUB_MIRROR}/library/postgres:17.6-alpine@sha256:{'4' * 64}"
    assert images == {"registrySetup": pinned, "registryPostgres": pinned}


def test_an_external_database_needs_no_postgres_image():
    external = {"external": {"host": "db.example.com", "password": "pulumi-config://registry:dbPassword"}}
    database = {"external": external["external"], "caBundle": {"name": "db-ca", "key": "ca.pem"}}
    assert registry_images_of({**REGISTRY, "database": database, "existing": {"configMaps": ["db-ca"]}}, {}) == {
        "registrySetup": "docker.io/library/postgres:17.6-alpine"}


def test_a_registry_image_outside_ecr_names_its_key():
    with pytest.raises(ConfigError) as caught:
        registry_images_of({**REGISTRY, "database": {"inCluster": {}}, "setupImage": "quay.io/org/setup:1"},
                           {"mirrors": {"docker.io": HUB_MIRROR}, "digestSource": "ecr"})
    assert [p.split(": ", 1)[0] for p in caught.value.problems] == ["toolhive:registry.setupImage"]
    with pytest.raises(ConfigError) as caught:
        registry_images_of({**REGISTRY, "database": {"inCluster": {"image": "quay.io/org/postgres:17"}}},
                           {"mirrors": {"docker.io": HUB_MIRROR}, "digestSource": "ecr"})
    assert [p.split(": ", 1)[0] for p in caught.value.problems] == ["toolhive:registry.database.inCluster.image"]
