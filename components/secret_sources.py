"""Secret references: config names where a secret lives, the program reads it at deploy time.

A reference is one string:

    aws-sm://<name or arn>[#<json key>]     AWS Secrets Manager, read with boto3 (GetSecretValue)
    pulumi-config://<namespace>:<key>        a Pulumi config secret (pulumi config set --secret ns:key ...)
    k8s-secret://<secret>#<key>              a Secret that already exists beside the workload (not read)

`resolve_secrets` reads every reference before any resource is registered and fails with every
missing secret or key at once, naming who asked for it. Values come back as Pulumi secrets, so they
are encrypted in state and masked in every output; they are only ever written into a Kubernetes
Secret. The offline renderer passes `offline_secret_reader`, which never calls AWS.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Callable, Iterable, Protocol

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import AfterValidator

from components.errors import ConfigError
from components.k8s import validation

AWS_SM, PULUMI_CONFIG, K8S_SECRET = "aws-sm", "pulumi-config", "k8s-secret"
_ARN_REGION = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):[0-9]{12}:secret:.+$")
_SM_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_CONFIG_KEY = re.compile(r"^(?P<ns>[A-Za-z0-9_-]+):(?P<key>[A-Za-z0-9_.-]+)$")


@dataclass(frozen=True)
class SecretReference:
    scheme: str
    name: str  # secret name/ARN, config "ns:key", or Secret name
    key: str | None
    text: str

    @property
    def region(self) -> str | None:
        match = _ARN_REGION.match(self.name)
        return match.group("region") if match else None

    @property
    def read_at_deploy(self) -> bool:
        return self.scheme != K8S_SECRET


def parse_reference(text: str) -> SecretReference:
    """The parsed reference, or ValueError saying which forms are allowed.

    The message never quotes the text: a password pasted where a reference belongs must not reach a
    terminal or a CI log. It names the form that was expected (the caller names the position)."""
    scheme, sep, rest = text.partition("://")
    body, _, key = rest.partition("#")
    if sep and scheme == AWS_SM:
        if not (_ARN_REGION.match(body) or _SM_NAME.match(body)):  # a name has no ':', so a bad ARN is no name
            raise ValueError("aws-sm://: not a Secrets Manager secret name or ARN (aws-sm://<name or arn>[#key])")
        return SecretReference(AWS_SM, body, key or None, text)
    if sep and scheme == PULUMI_CONFIG:
        match = _CONFIG_KEY.match(rest)
        if not match:
            raise ValueError("pulumi-config://: expected pulumi-config://<namespace>:<key>")
        if match.group("ns") == "toolhive":
            raise ValueError("pulumi-config://toolhive:...: the toolhive: namespace holds settings, not secrets; use "
                             "another namespace such as mcp-secrets:<key>")
        return SecretReference(PULUMI_CONFIG, rest, None, text)
    if sep and scheme == K8S_SECRET:
        if validation.dns1123_subdomain(body) or not key or validation.secret_key(key):
            raise ValueError("k8s-secret://: expected k8s-secret://<secret name>#<key>")
        return SecretReference(K8S_SECRET, body, key, text)
    raise ValueError("is not a secret reference (the value is not shown: it may be a secret); use "
                     "aws-sm://<name or arn>[#key], pulumi-config://<namespace>:<key> or k8s-secret://<secret>#<key>")


def existing_secret_name(text: str) -> str | None:
    """The Kubernetes Secret a `k8s-secret://` reference reads (None for values read at deploy time)."""
    ref = parse_reference(text)
    return None if ref.read_at_deploy else ref.name


def _valid_reference(text: str) -> str:
    parse_reference(text)
    return text


#: A secret reference in a config model (validated; the value is read later by resolve_secrets).
SecretRef = Annotated[str, AfterValidator(_valid_reference)]


class SecretMissing(Exception):
    """The reference points nowhere: no such secret, or no such key in it."""


class SecretReader(Protocol):
    def __call__(self, ref: SecretReference) -> str:
        """The secret's text, or SecretMissing."""


class AwsSecretsManagerReader:
    """GetSecretValue, one boto3 client per region, each secret fetched once per run."""

    def __init__(self, client_factory: Callable[[str | None], object] | None = None):
        self._client_factory = client_factory or _boto3_client
        self._clients: dict[str | None, object] = {}
        self._cache: dict[str, str] = {}

    def __call__(self, ref: SecretReference) -> str:
        if ref.name not in self._cache:
            region = ref.region or pulumi.Config("aws").get("region")
            if region not in self._clients:
                self._clients[region] = self._client_factory(region)
            client = self._clients[region]
            try:
                found = client.get_secret_value(SecretId=ref.name)
            except client.exceptions.ResourceNotFoundException:
                raise SecretMissing("no such secret in AWS Secrets Manager") from None
            if "SecretString" not in found:
                raise SecretMissing("the secret holds binary data; store it as a string")
            self._cache[ref.name] = found["SecretString"]
        text = self._cache[ref.name]
        if ref.key is None:
            return text
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise SecretMissing(f"the secret is not JSON, so it has no key {ref.key!r}") from None
        if not isinstance(document, dict) or ref.key not in document:
            raise SecretMissing(f"the secret has no key {ref.key!r}")
        return str(document[ref.key])


def offline_secret_reader(ref: SecretReference) -> str:
    """The offline renderer's stand-in: never calls AWS; the value is masked as a secret anyway."""
    return f"offline-placeholder-for-{ref.text}"


def _boto3_client(region: str | None):
    import boto3

    return boto3.client("secretsmanager", region_name=region)


def _pulumi_config_secret(ref: SecretReference) -> str:
    value = runtime_config.get_config(ref.name)
    if value is None:
        raise SecretMissing(f"config key {ref.name} is not set: pulumi config set --secret {ref.name} <value>")
    if not runtime_config.is_config_secret(ref.name):
        raise SecretMissing(f"config key {ref.name} is set in plaintext; set it with pulumi config set --secret")
    return value


def resolve_secrets(requests: Iterable[tuple[str, str]], reader: SecretReader | None = None
                    ) -> dict[str, pulumi.Output]:
    """{reference text: secret Output} for every (owner, reference) that is read at deploy time.

    `owner` names who asked ("server mcp-dev/github: spec.secrets[0].ref") for the error message.
    """
    reader = reader or AwsSecretsManagerReader()
    values: dict[str, pulumi.Output] = {}
    problems: list[str] = []
    for owner, text in requests:
        ref = parse_reference(text)
        if not ref.read_at_deploy or text in values:
            continue
        try:
            value = _pulumi_config_secret(ref) if ref.scheme == PULUMI_CONFIG else reader(ref)
        except SecretMissing as missing:
            problems.append(f"{owner}: {text}: {missing}")
            continue
        except Exception as error:  # credentials, throttling: still name the reference it was for
            problems.append(f"{owner}: {text}: could not read it from AWS Secrets Manager: {error}")
            continue
        values[text] = pulumi.Output.secret(value)
    if problems:
        raise ConfigError(problems)
    return values
