"""Server secrets: read from AWS Secrets Manager (moto) or Pulumi config secrets at deploy time, written
into a Secret as Pulumi secrets, wired through spec.secrets — never in plaintext anywhere."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from components.errors import ConfigError
from components.images import offline_digest_resolver
from components.program import run
from components.secret_sources import AwsSecretsManagerReader, offline_secret_reader, parse_reference
from tests.conftest import TEST_CLUSTER, Rendered
from tests.servers.conftest import NS, config_with, server
from tools import render as render_tool
from tools.mock_runtime import SECRET_PLACEHOLDER, ProgramRun, run_program

TOKEN = "ghp_test-token-1234567890"
HEADER_KEY = "remote-api-key-0987654321"
REDIS_PASSWORD = "redis-pass-5555"
CONFIG_TOKEN = "config-secret-value-4242"
REGION = "eu-west-1"


def github_config(ref: str = "aws-sm://mcp/github#token") -> dict:
    return config_with(
        servers=[server("github", transport="stdio", env={"GITHUB_API_URL": "https://api.github.com"},
                        secrets=[{"targetEnvName": "GITHUB_PERSONAL_ACCESS_TOKEN", "ref": ref},
                                 {"targetEnvName": "EXTRA_TOKEN", "ref": "pulumi-config://mcp-secrets:extra"}]),
                 server("web", transport="streamable-http", mcpPort=8080, replicas=2,
                        sessionStorage={"provider": "redis", "address": "valkey:6379", "password": "aws-sm://mcp/redis"}),
                 server("shared", secrets=[{"targetEnvName": "API_TOKEN", "ref": "k8s-secret://team-creds#api"}])],
        remote=[{"name": "remote", "namespace": NS, "spec": {
            "remoteUrl": "https://mcp.example.com/mcp",
            "headers": {"plaintext": {"X-Team": "a"}, "fromSecrets": [{"headerName": "X-API-Key", "ref": "aws-sm://mcp/remote#key"}]}}}],
    )


def program_run(config: dict, preview: bool, reader, stack: str = "dev", into: ProgramRun | None = None) -> Rendered:
    full = {f"toolhive:{k}": v for k, v in config.items()}
    full.setdefault("toolhive:cluster", TEST_CLUSTER)
    full["aws:region"] = REGION
    full["mcp-secrets:extra"] = CONFIG_TOKEN
    return Rendered(run_program(lambda: run(digest_resolver=offline_digest_resolver, secret_reader=reader),
                                config=full, secret_keys=["mcp-secrets:extra"], stack=stack, preview=preview,
                                result=into), full)


@pytest.fixture
def aws():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        client.create_secret(Name="mcp/github", SecretString=json.dumps({"token": TOKEN}))
        client.create_secret(Name="mcp/remote", SecretString=json.dumps({"key": HEADER_KEY}))
        client.create_secret(Name="mcp/redis", SecretString=REDIS_PASSWORD)
        yield client


@pytest.fixture
def rendered(aws, preview):
    return program_run(github_config(), preview, AwsSecretsManagerReader())


def test_aws_values_land_in_a_secret_per_value_as_pulumi_secrets(rendered):
    assert rendered.object("Secret", "github-secret-github-personal-access-token", NS)["stringData"] == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": SECRET_PLACEHOLDER}
    assert rendered.object("Secret", "github-secret-extra-token", NS)["stringData"] == {"EXTRA_TOKEN": SECRET_PLACEHOLDER}
    assert rendered.object("Secret", "web-secret-redis-password", NS)["stringData"] == {"redis-password": SECRET_PLACEHOLDER}
    assert rendered.object("Secret", "remote-secret-header-x-api-key", NS)["stringData"] == {"header-x-api-key": SECRET_PLACEHOLDER}


def test_the_mcpserver_references_the_secret_through_spec_secrets(rendered):
    spec = rendered.object("MCPServer", "github", NS)["spec"]
    assert spec["secrets"] == [
        {"name": "github-secret-github-personal-access-token", "key": "GITHUB_PERSONAL_ACCESS_TOKEN", "targetEnvName": "GITHUB_PERSONAL_ACCESS_TOKEN"},
        {"name": "github-secret-extra-token", "key": "EXTRA_TOKEN", "targetEnvName": "EXTRA_TOKEN"},
    ]
    assert spec["env"] == [{"name": "GITHUB_API_URL", "value": "https://api.github.com"}]
    server_resource = rendered.resource("MCPServer", "github", NS)
    for secret in ("github-secret-github-personal-access-token", "github-secret-extra-token"):
        assert rendered.resource("Secret", secret, NS).urn in server_resource.dependencies


def test_two_env_secrets_from_one_existing_secret_are_refused_naming_the_entry():
    """spec.secrets is a list keyed by Secret name: the API server would refuse the second entry."""
    from components.config.loader import parse_stack_config

    spec = {"image": "ghcr.io/org/srv:1", "secrets": [
        {"targetEnvName": "A_TOKEN", "ref": "k8s-secret://team-creds#a"},
        {"targetEnvName": "B_TOKEN", "ref": "k8s-secret://team-creds#b"}]}
    with pytest.raises(ConfigError) as raised:
        parse_stack_config({"namespaces": [{"name": NS}],
                            "servers": {"mcpServers": [{"name": "two", "namespace": NS, "spec": spec}]}})
    assert raised.value.problems == [
        "toolhive:servers.mcpServers[0].spec.secrets[1].ref: reads Secret 'team-creds' again; the MCPServer CRD keys "
        "spec.secrets by Secret name, so each entry needs a Secret of its own"]


def test_redis_password_and_remote_headers_come_from_the_secret_too(rendered):
    assert rendered.object("MCPServer", "web", NS)["spec"]["sessionStorage"]["passwordRef"] == {
        "name": "web-secret-redis-password", "key": "redis-password"}
    assert rendered.object("MCPRemoteProxy", "remote", NS)["spec"]["headerForward"] == {
        "addPlaintextHeaders": {"X-Team": "a"},
        "addHeadersFromSecret": [{"headerName": "X-API-Key",
                                  "valueSecretRef": {"name": "remote-secret-header-x-api-key", "key": "header-x-api-key"}}]}


def test_an_existing_kubernetes_secret_is_referenced_not_copied(rendered):
    assert rendered.object("MCPServer", "shared", NS)["spec"]["secrets"] == [
        {"name": "team-creds", "key": "api", "targetEnvName": "API_TOKEN"}]
    assert not [o for o in rendered.objects("Secret") if o["metadata"]["name"].startswith("shared-secret-")]


def test_no_secret_value_appears_in_resources_or_outputs(rendered, tmp_path):
    render_tool.write_outputs(rendered.run, tmp_path)
    produced = "".join(path.read_text() for path in tmp_path.iterdir())
    produced += json.dumps([r.as_json() for r in rendered.resources]) + json.dumps(rendered.outputs)
    for value in (TOKEN, HEADER_KEY, REDIS_PASSWORD, CONFIG_TOKEN):
        assert value not in produced


@pytest.mark.parametrize("ref, reason", [
    ("aws-sm://mcp/nope#token", "no such secret in AWS Secrets Manager"),
    ("aws-sm://mcp/github#nope", "the secret has no key 'nope'"),
])
def test_a_missing_aws_secret_or_key_fails_preview_naming_server_and_reference(aws, ref, reason):
    into = ProgramRun()
    with pytest.raises(ConfigError) as raised:
        program_run(github_config(ref), True, AwsSecretsManagerReader(), into=into)
    assert raised.value.problems == [
        f"MCPServer mcp-dev/github (toolhive:servers.mcpServers[0].spec.secrets[0].ref): {ref}: {reason}"]
    assert [r.type for r in into.resources] == ["pulumi:pulumi:Stack"]


def test_an_arn_is_read_in_its_own_region(aws):
    arn = boto3.client("secretsmanager", region_name="us-east-2").create_secret(
        Name="elsewhere", SecretString=json.dumps({"token": TOKEN}))["ARN"]
    assert AwsSecretsManagerReader()(parse_reference(f"aws-sm://{arn}#token")) == TOKEN


def test_a_pulumi_config_secret_must_be_set_and_set_as_a_secret(aws):
    config = github_config()
    full = {f"toolhive:{k}": v for k, v in config.items()} | {"aws:region": REGION, "mcp-secrets:extra": CONFIG_TOKEN,
                                                                "toolhive:cluster": TEST_CLUSTER}
    with pytest.raises(ConfigError) as raised:
        run_program(lambda: run(digest_resolver=offline_digest_resolver, secret_reader=AwsSecretsManagerReader()),
                    config=full, secret_keys=[], stack="dev")
    assert raised.value.problems == [
        "MCPServer mcp-dev/github (toolhive:servers.mcpServers[0].spec.secrets[1].ref): pulumi-config://mcp-secrets:extra: "
        "config key mcp-secrets:extra is set in plaintext; set it with pulumi config set --secret"]
    del full["mcp-secrets:extra"]
    with pytest.raises(ConfigError, match="config key mcp-secrets:extra is not set"):
        run_program(lambda: run(digest_resolver=offline_digest_resolver, secret_reader=AwsSecretsManagerReader()),
                    config=full, secret_keys=[], stack="dev")


@pytest.mark.parametrize("ref", ["hunter2", "aws-sm://", "pulumi-config://toolhive:x", "k8s-secret://name"])
def test_references_must_have_a_known_form(ref):
    with pytest.raises(ValueError):
        parse_reference(ref)


def test_the_offline_renderer_never_calls_aws(monkeypatch, preview):
    def no_aws(*args, **kwargs):
        raise AssertionError("the offline renderer called AWS")

    monkeypatch.setattr(boto3, "client", no_aws)
    result = render_tool.render({**{f"toolhive:{k}": v for k, v in github_config().items()},
                                 "mcp-secrets:extra": SECRET_PLACEHOLDER,
                                 "toolhive:cluster": TEST_CLUSTER}, ["mcp-secrets:extra"], stack="dev", preview=preview)
    secret = Rendered(result, {"toolhive:cluster": TEST_CLUSTER}).object("Secret", "github-secret-github-personal-access-token", NS)
    assert secret["stringData"]["GITHUB_PERSONAL_ACCESS_TOKEN"] == SECRET_PLACEHOLDER
    assert offline_secret_reader(parse_reference("aws-sm://mcp/github#token")).startswith("offline-placeholder")


def test_resolved_values_are_pulumi_secrets_before_any_resource_sees_them(aws):
    """The Secret resource also marks its data secret; the value must be secret before it gets there."""
    import pulumi

    from components.secret_sources import resolve_secrets

    def program():
        values = resolve_secrets([("test", "aws-sm://mcp/github#token")], AwsSecretsManagerReader())
        pulumi.export("is_secret", values["aws-sm://mcp/github#token"].is_secret())

    result = run_program(program, config={"aws:region": REGION})
    assert result.outputs["is_secret"] is True


@pytest.mark.parametrize("text, scheme, name, key", [
    ("aws-sm://mcp/github#token", "aws-sm", "mcp/github", "token"),
    ("aws-sm://mcp/redis", "aws-sm", "mcp/redis", None),
    ("aws-sm://arn:aws:secretsmanager:us-east-2:123456789012:secret:db-AbCdEf#url://x", "aws-sm",
     "arn:aws:secretsmanager:us-east-2:123456789012:secret:db-AbCdEf", "url://x"),
    ("pulumi-config://mcp-secrets:extra", "pulumi-config", "mcp-secrets:extra", None),
    ("k8s-secret://team-creds#api", "k8s-secret", "team-creds", "api"),
])
def test_each_form_parses_to_its_scheme_name_key_and_its_own_text(text, scheme, name, key):
    """A JSON key may itself hold `://`: only the first one separates the scheme."""
    ref = parse_reference(text)
    assert (ref.scheme, ref.name, ref.key, ref.text) == (scheme, name, key, text)
    assert ref.read_at_deploy is (scheme != "k8s-secret")


GENERIC = ("is not a secret reference (the value is not shown: it may be a secret); use "
           "aws-sm://<name or arn>[#key], pulumi-config://<namespace>:<key> or k8s-secret://<secret>#<key>")


@pytest.mark.parametrize("text, message", [
    ("aws-sm://my secret", "aws-sm://: not a Secrets Manager secret name or ARN (aws-sm://<name or arn>[#key])"),
    ("aws-sm://arn:aws:iam::123456789012:role/x", "aws-sm://: not a Secrets Manager secret name or ARN "
                                                  "(aws-sm://<name or arn>[#key])"),
    ("pulumi-config://extra", "pulumi-config://: expected pulumi-config://<namespace>:<key>"),
    ("pulumi-config://toolhive:token", "pulumi-config://toolhive:...: the toolhive: namespace holds settings, not "
                                       "secrets; use another namespace such as mcp-secrets:<key>"),
    ("k8s-secret://Team_Creds#api", "k8s-secret://: expected k8s-secret://<secret name>#<key>"),
    ("k8s-secret://team-creds#an api key", "k8s-secret://: expected k8s-secret://<secret name>#<key>"),
    ("k8s-secret://team-creds", "k8s-secret://: expected k8s-secret://<secret name>#<key>"),
    ("https://vault.example.com/token", GENERIC),
    ("hunter2", GENERIC),
])
def test_a_refused_reference_says_which_form_is_expected(text, message):
    with pytest.raises(ValueError) as raised:
        parse_reference(text)
    assert str(raised.value) == message


class FailingReader:
    """A reader whose AWS calls fail (credentials, throttling), and one secret that does not exist."""

    def __call__(self, ref):
        from components.secret_sources import SecretMissing

        if ref.name == "gone":
            raise SecretMissing("no such secret in AWS Secrets Manager")
        raise RuntimeError(f"throttled reading {ref.name}")


def test_every_reference_that_cannot_be_read_is_reported_at_once_naming_who_asked():
    from components.secret_sources import resolve_secrets

    with pytest.raises(ConfigError) as raised:
        resolve_secrets([("server a", "aws-sm://one"), ("server b", "aws-sm://gone"), ("server c", "aws-sm://two")],
                        FailingReader())
    assert raised.value.problems == [
        "server a: aws-sm://one: could not read it from AWS Secrets Manager: throttled reading one",
        "server b: aws-sm://gone: no such secret in AWS Secrets Manager",
        "server c: aws-sm://two: could not read it from AWS Secrets Manager: throttled reading two"]


def test_each_region_gets_a_client_of_its_own():
    """Secrets named by ARN are read in the ARN's region, each region through its own client."""
    made = []

    class Client:
        class exceptions:
            ResourceNotFoundException = KeyError

        def __init__(self, region):
            self.region = region

        def get_secret_value(self, SecretId):
            return {"SecretString": json.dumps({"region": self.region})}

    def factory(region):
        made.append(region)
        return Client(region)

    reader = AwsSecretsManagerReader(factory)
    east = "arn:aws:secretsmanager:us-east-2:123456789012:secret:a-AbCdEf"
    west = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:b-AbCdEf"
    assert reader(parse_reference(f"aws-sm://{east}#region")) == "us-east-2"
    assert reader(parse_reference(f"aws-sm://{west}#region")) == "eu-west-1"
    assert reader(parse_reference(f"aws-sm://{east.replace('a-AbCdEf', 'c-AbCdEf')}#region")) == "us-east-2"
    assert made == ["us-east-2", "eu-west-1"]


def test_a_binary_or_non_json_secret_is_missing_with_the_reason(aws):
    from components.secret_sources import SecretMissing

    aws.create_secret(Name="mcp/binary", SecretBinary=b"\x00\x01")
    aws.create_secret(Name="mcp/plain", SecretString="not json")
    reader = AwsSecretsManagerReader(lambda region: boto3.client("secretsmanager", region_name=region or REGION))
    with pytest.raises(SecretMissing) as raised:
        reader(parse_reference("aws-sm://mcp/binary"))
    assert str(raised.value) == "the secret holds binary data; store it as a string"
    with pytest.raises(SecretMissing) as raised:
        reader(parse_reference("aws-sm://mcp/plain#token"))
    assert str(raised.value) == "the secret is not JSON, so it has no key 'token'"
    with pytest.raises(SecretMissing) as raised:
        reader(parse_reference("aws-sm://mcp/github#nope"))
    assert str(raised.value) == "the secret has no key 'nope'"
    assert reader(parse_reference("aws-sm://mcp/plain")) == "not json"
