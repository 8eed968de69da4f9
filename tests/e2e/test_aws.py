"""The real run's AWS for staging and prod (tools/e2e/aws.py): what a stack reads from ECR and Secrets Manager,
and moto's standalone server seeded so the program's own boto3 code finds it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.images import EcrDigestResolver, ImageRef
from components.secret_sources import AwsSecretsManagerReader, parse_reference
from tools.e2e import aws

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_read_every_image_from_ecr_and_the_github_token_from_secrets_manager(stack):
    needs = aws.stack_needs(stack, ROOT)
    assert needs.region == "eu-west-1"
    assert len(needs.images) == 9 and all(".dkr.ecr.eu-west-1.amazonaws.com" in ref.registry and ref.tag
                                          for ref in needs.images)
    assert "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ghcr/stacklok/toolhive/operator:v0.44.0" in map(str, needs.images)
    assert [ref.text for ref in needs.secrets] == [f"aws-sm://{stack}/mcp/github#token"]


def test_dev_reads_nothing_from_aws():
    needs = aws.stack_needs("dev", ROOT)
    assert needs.images == [] and needs.secrets == []


def test_a_secret_holds_every_key_its_references_name():
    refs = [parse_reference(text) for text in ("aws-sm://team/mcp#token", "aws-sm://team/mcp#user", "aws-sm://plain")]
    values = aws.secret_values(refs)
    assert set(json.loads(values[(None, "team/mcp")])) == {"token", "user"}
    assert not values[(None, "plain")].startswith("{")


def test_each_image_gets_a_manifest_of_its_own():
    one, two = (ImageRef.parse(f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/{name}:1") for name in "bc")
    assert aws.manifest(one) != aws.manifest(two)


def test_the_seeded_server_answers_the_programs_own_lookups(tmp_path, monkeypatch):
    needs = aws.stack_needs("staging", ROOT)
    server = aws.MotoServer(tmp_path)
    server.start()
    try:
        digests = server.seed(needs)
        for key, value in server.env(needs.region).items():
            monkeypatch.setenv(key, value)
        resolver = EcrDigestResolver()
        assert {str(ref): resolver(ref) for ref in needs.images} == digests
        assert len(set(digests.values())) == len(digests)
        token = AwsSecretsManagerReader()(needs.secrets[0])
        assert len(token) >= 24
    finally:
        server.stop()
    assert server.proc is None
