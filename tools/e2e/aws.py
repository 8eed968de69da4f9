"""Amazon ECR and Secrets Manager for the staging and prod runs: moto's standalone server on loopback.

Those stacks pin their images to ECR digests (`toolhive:images.digestSource: ecr`) and read server secrets
from `aws-sm://` references while the program runs. Here the program's own AWS code runs unchanged
(components/images.py EcrDigestResolver, components/secret_sources.py AwsSecretsManagerReader): boto3 is
pointed at `moto_server` with `AWS_ENDPOINT_URL`, which is seeded first with every image tag and secret the
stack references. What it references is what the program asks for: the stack is run once offline with
resolvers that record the requests (`stack_needs`).

Seeded images get a manifest of their own, so each reference has a distinct digest the run can compare
(`expected_digests`); seeded secrets get generated values, JSON documents when a reference names a key.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.e2e.controlplane import wait_until
from tools.e2e.toolchain import log

REGION_DEFAULT = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e-not-a-secret"}


@dataclass
class AwsNeeds:
    """What a stack reads from AWS while its program runs."""

    images: list = field(default_factory=list)  # components.images.ImageRef, ECR-hosted, tagged
    secrets: list = field(default_factory=list)  # components.secret_sources.SecretReference, aws-sm
    region: str = REGION_DEFAULT


def stack_needs(stack: str, project_root: Path) -> AwsNeeds:
    """Run the stack's program offline once, recording every ECR lookup and Secrets Manager read."""
    from components.images import ImageRef, offline_digest_resolver
    from components.program import run
    from components.secret_sources import AWS_SM, SecretReference, offline_secret_reader
    from tools.mock_runtime import run_program
    from tools.render import PROJECT, read_stack_file

    config, secret_keys = read_stack_file(project_root / f"Pulumi.{stack}.yaml")
    needs = AwsNeeds(region=str(config.get("aws:region") or REGION_DEFAULT))

    def digest(ref: ImageRef) -> str:
        needs.images.append(ref)
        return offline_digest_resolver(ref)

    def secret(ref: SecretReference) -> str:
        if ref.scheme == AWS_SM:
            needs.secrets.append(ref)
        return offline_secret_reader(ref)

    run_program(lambda: run(digest_resolver=digest, secret_reader=secret), config=config, secret_keys=secret_keys,
                project=PROJECT, stack=stack, preview=False)
    needs.images = list({str(ref): ref for ref in needs.images}.values())
    needs.secrets = list({ref.text: ref for ref in needs.secrets}.values())
    return needs


def manifest(ref) -> str:
    """A distinct image manifest for one reference (moto's digest is the sha256 of these bytes)."""
    config = hashlib.sha256(f"config {ref}".encode()).hexdigest()
    layer = hashlib.sha256(f"layer {ref}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                    "digest": f"sha256:{layer}"}],
    })


def secret_values(refs: list) -> dict[tuple[str | None, str], str]:
    """{(region, secret name): a generated SecretString}: a JSON document of every key the references name
    in that secret, or a plain value when they name none."""
    keys: dict[tuple[str | None, str], set] = {}
    for ref in refs:
        keys.setdefault((ref.region, ref.name), set()).update([ref.key] if ref.key else [])
    return {where: json.dumps({key: secrets.token_urlsafe(24) for key in sorted(names)}) if names
            else secrets.token_urlsafe(24) for where, names in keys.items()}


class MotoServer:
    """`moto_server` on a free loopback port, until stop()."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        log_file = open(self.workdir / "moto.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=log_file, stderr=subprocess.STDOUT)
        wait_until("moto_server answers", self._answers, 60, interval=0.2, proc=self.proc, log=self.workdir / "moto.log")

    def _answers(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                return True
        except OSError:
            return False

    def env(self, region: str) -> dict[str, str]:
        """What boto3 needs to reach this server instead of AWS."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": region, **CREDENTIALS}

    def client(self, service: str, region: str):
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.endpoint,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def seed(self, needs: AwsNeeds) -> dict[str, str]:
        """Every image tag and secret the stack reads; returns {image reference: the digest ECR will give}."""
        from components.images import _ECR_HOST

        digests = {}
        for ref in needs.images:
            region = _ECR_HOST.match(ref.registry).group("region")
            ecr = self.client("ecr", region)
            try:
                ecr.create_repository(repositoryName=ref.repository)
            except ecr.exceptions.RepositoryAlreadyExistsException:
                pass
            body = manifest(ref)
            found = ecr.put_image(repositoryName=ref.repository, imageManifest=body, imageTag=ref.tag)
            digests[str(ref)] = found["image"]["imageId"]["imageDigest"]
        for (region, name), value in secret_values(needs.secrets).items():
            # Names, not ARNs: an ARN carries a random suffix AWS (and moto) chooses.
            self.client("secretsmanager", region or needs.region).create_secret(Name=name, SecretString=value)
        log(f"moto: seeded {len(needs.images)} ECR image tags and {len(needs.secrets)} Secrets Manager secrets")
        return digests

    def stop(self) -> None:
        if self.proc is not None:
            from tools.e2e.controlplane import stop_process

            stop_process(self.proc)
            self.proc = None
