"""Each rule of a server entry (components/config/servers.py), one row per refusal, the problem exactly as the
user reads it: the key, and what is allowed. The rules that need the whole stack are in
tests/servers/test_declaring_servers.py; their effect on rendered objects in the other files here."""
from __future__ import annotations

import pytest

from components.config.loader import parse_stack_config
from components.errors import ConfigError

IMAGE = "ghcr.io/stackloklabs/gofetch/server:1.0.1"
REDIS = {"provider": "redis", "address": "valkey.cache:6379", "passwordRef": {"name": "a", "key": "b"}}
HTTP = {"transport": "sse", "mcpPort": 8080}
LIMIT = {"maxTokens": 1, "refillPeriod": "1m"}
PREFIX = "toolhive:servers."


def problems(key: str, entry: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config({"namespaces": [{"name": "mcp-dev"}], "servers": {key: [entry]}})
    return [p.removeprefix(PREFIX) for p in raised.value.problems]


def mcp(**spec) -> tuple[str, dict]:
    return "mcpServers", {"name": "web", "namespace": "mcp-dev", "spec": {"image": IMAGE, **spec}}


def remote(**spec) -> tuple[str, dict]:
    return "remoteProxies", {"name": "r", "namespace": "mcp-dev", "spec": {"remoteUrl": "https://mcp.example.com/mcp", **spec}}


def vmcp(**spec) -> tuple[str, dict]:
    return "virtualServers", {"name": "v", "namespace": "mcp-dev", "spec": {"group": "g", **spec}}


HEADER_RULE = ("header Host is restricted: the proxy runner refuses to forward Host, hop-by-hop and request-framing headers "
               "and client identity (Connection, Content-Length, Forwarded, Host, Http2-Settings, Keep-Alive, Proxy-Authenticate, "
               "Proxy-Authorization, Proxy-Connection, Te, Trailer, Transfer-Encoding, Upgrade, X-Forwarded-For, X-Forwarded-Host, "
               "X-Forwarded-Proto, X-Real-Ip)")
ONE_PASSWORD = ("mcpServers[0].spec.sessionStorage.passwordRef: set exactly one of passwordRef (an existing Secret) or password "
                "(a secret reference) when provider is redis; never a literal")
SEVERAL = "cannot be mounted by several backend replicas (backendReplicas > 1 or autoscaling.backend); use ReadWriteMany"

CASES = {
    "redis without an address": (mcp(sessionStorage={"provider": "redis", "passwordRef": {"name": "a", "key": "b"}}),
                                 "mcpServers[0].spec.sessionStorage.address: is required when provider is redis (host:port)"),
    "redis without a password": (mcp(sessionStorage={"provider": "redis", "address": "v:6379"}), ONE_PASSWORD),
    "redis with two passwords": (mcp(sessionStorage={**REDIS, "password": "aws-sm://x#y"}), ONE_PASSWORD),
    "a password for memory": (mcp(sessionStorage={"provider": "memory", "passwordRef": {"name": "a", "key": "b"}}),
                              "mcpServers[0].spec.sessionStorage.provider: a password only applies to provider redis"),
    "a password reference for memory": (mcp(sessionStorage={"provider": "memory", "password": "aws-sm://x#y"}),
                                        "mcpServers[0].spec.sessionStorage.provider: a password only applies to provider redis"),
    "a key prefix without a colon": (mcp(sessionStorage={**REDIS, "keyPrefix": "thv"}),
                                     "mcpServers[0].spec.sessionStorage.keyPrefix: must end with ':' (e.g. thv:fetch:), or be "
                                     "left unset for the default; the proxy refuses to start otherwise"),
    "a tool limit without a bucket": (mcp(**HTTP, sessionStorage=REDIS, rateLimiting={"tools": [{"name": "t"}]}),
                                      "mcpServers[0].spec.rateLimiting.tools[0].shared: set shared or perUser (or both)"),
    "rate limiting without a limit": (mcp(**HTTP, sessionStorage=REDIS, rateLimiting={}),
                                      "mcpServers[0].spec.rateLimiting.shared: set shared, perUser or tools"),
    "an autoscaler's range upside down": (mcp(**HTTP, autoscaling={"proxy": {"minReplicas": 3, "maxReplicas": 2}}),
                                          "mcpServers[0].spec.autoscaling.proxy.maxReplicas: must be at least minReplicas (3)"),
    "an empty allow list": (mcp(tools={"allow": []}),
                            "mcpServers[0].spec.tools.allow: is empty, which filters nothing: the operator then exposes every "
                            "tool. List the tools to expose (the operator has no way to expose none: remove the server instead), "
                            "or drop allow to expose them all"),
    "a tool allowed twice": (mcp(tools={"allow": ["a", "a"]}), "mcpServers[0].spec.tools.allow[1]: 'a' is listed twice"),
    "an allowed tool renamed away": (mcp(tools={"allow": ["a"], "rename": {"a": {"name": "b"}}}),
                                     "mcpServers[0].spec.tools.allow[0]: 'a' is renamed to 'b' by rename; allow lists the names "
                                     "clients see (the proxy filters after renaming): write 'b'"),
    "an allowed tool with a comma": (mcp(tools={"allow": ["a,b"]}),
                                     "mcpServers[0].spec.tools.allow[0]: must not contain a comma, newline or carriage return "
                                     "(the operator refuses such tool names)"),
    "a renamed tool with a comma": (mcp(tools={"rename": {"a,b": {"name": "c"}}}),
                                    "mcpServers[0].spec.tools.rename.a,b: key must not contain a comma, newline or carriage "
                                    "return (the operator refuses such tool names)"),
    "a new tool name with a comma": (mcp(tools={"rename": {"a": {"name": "b,c"}}}),
                                     "mcpServers[0].spec.tools.rename.a.name: must not contain a comma, newline or carriage "
                                     "return (the operator refuses such tool names)"),
    "a rename with a title alone": (mcp(tools={"rename": {"a": {"title": "T"}}}),
                                    "mcpServers[0].spec.tools.rename.a.name: set name or description (or both): the proxy runner "
                                    "refuses an override with neither, and a title alone is not passed on to it"),
    "a client namespace twice": (mcp(network={"allowFrom": ["x", "x"]}), "mcpServers[0].spec.network.allowFrom[1]: 'x' is listed twice"),
    "storage on /tmp": (mcp(storage={"size": "1Gi", "mountPath": "/tmp/"}),
                        "mcpServers[0].spec.storage.mountPath: '/tmp/' is not allowed (/ is the image, /tmp the scratch volume)"),
    "storage on /": (mcp(storage={"size": "1Gi", "mountPath": "/"}),
                     "mcpServers[0].spec.storage.mountPath: '/' is not allowed (/ is the image, /tmp the scratch volume)"),
    "an HPA beside replicas": (mcp(**HTTP, replicas=2, autoscaling={"proxy": {"maxReplicas": 3}}),
                               "mcpServers[0].spec.autoscaling.proxy: conflicts with replicas: an HPA owns the replica count; "
                               "leave replicas unset or remove autoscaling.proxy"),
    "rate limits without redis": (mcp(**HTTP, rateLimiting={"shared": LIMIT}),
                                  "mcpServers[0].spec.rateLimiting: needs sessionStorage with provider redis (rate limits are "
                                  "counted in Redis)"),
    "per-user limits without a user": (mcp(**HTTP, sessionStorage=REDIS, rateLimiting={"perUser": LIMIT}),
                                       "mcpServers[0].spec.rateLimiting: per-user limits need to know the user: set oidcConfigRef "
                                       "or externalAuthConfigRef"),
    "a proxy mode for an HTTP server": (mcp(**HTTP, proxyMode="sse"), "mcpServers[0].spec.proxyMode: only applies to transport stdio"),
    "an MCP port for stdio": (mcp(mcpPort=8080),
                              "mcpServers[0].spec.mcpPort: does not apply to transport stdio (the proxy attaches to the process)"),
    "an HTTP server without its port": (mcp(transport="streamable-http"),
                                        "mcpServers[0].spec.mcpPort: is required for transport streamable-http: the port the "
                                        "server listens on, which the proxy calls and the server's NetworkPolicy opens"),
    "one-node storage under two backends": (mcp(**HTTP, backendReplicas=2, storage={"size": "1Gi"}),
                                            f"mcpServers[0].spec.storage.accessMode: ReadWriteOnce {SEVERAL}"),
    "one-pod storage under an autoscaled backend": (
        mcp(**HTTP, autoscaling={"backend": {"maxReplicas": 3}}, storage={"size": "1Gi", "accessMode": "ReadWriteOncePod"}),
        f"mcpServers[0].spec.storage.accessMode: ReadWriteOncePod {SEVERAL}"),
    "an env value on two lines": (mcp(env={"A": "x\ny"}),
                                  "mcpServers[0].spec.env.A: contains a newline or carriage return, which the operator refuses in "
                                  "env values (write the value on one line)"),
    "a secret in env": (mcp(env={"API_TOKEN": "x"}),
                        "mcpServers[0].spec.env.API_TOKEN: looks like a secret; env holds non-secret literals only, move it to "
                        "secrets ({targetEnvName, ref})"),
    "a secret's variable twice": (mcp(secrets=[{"targetEnvName": "A", "ref": "aws-sm://x#a"}, {"targetEnvName": "A", "ref": "aws-sm://x#b"}]),
                                  "mcpServers[0].spec.secrets[1].targetEnvName: 'A' is set twice"),
    "a secret's variable also in env": (mcp(env={"A": "1"}, secrets=[{"targetEnvName": "A", "ref": "aws-sm://x#a"}]),
                                        "mcpServers[0].spec.secrets[0].targetEnvName: 'A' is also a literal in env"),
    "one existing Secret read twice": (mcp(secrets=[{"targetEnvName": "A", "ref": "k8s-secret://s#a"},
                                                    {"targetEnvName": "B", "ref": "k8s-secret://s#b"}]),
                                       "mcpServers[0].spec.secrets[1].ref: reads Secret 's' again; the MCPServer CRD keys "
                                       "spec.secrets by Secret name, so each entry needs a Secret of its own"),
    "an autoscaled stdio proxy": (mcp(autoscaling={"proxy": {"maxReplicas": 3}}),
                                  "mcpServers[0].spec.autoscaling.proxy: a stdio server runs one proxy (the operator caps it at "
                                  "1); only sse and streamable-http servers scale"),
    "an autoscaled stdio backend": (mcp(autoscaling={"backend": {"maxReplicas": 3}}),
                                    "mcpServers[0].spec.autoscaling.backend: a stdio server runs one backend; only sse and "
                                    "streamable-http backends scale"),
    "an HPA beside backend replicas": (mcp(**HTTP, backendReplicas=1, autoscaling={"backend": {"maxReplicas": 3}}),
                                       "mcpServers[0].spec.autoscaling.backend: conflicts with backendReplicas: an HPA owns the "
                                       "replica count; leave backendReplicas unset or remove autoscaling.backend"),
    "a loopback remote": (remote(remoteUrl="http://127.0.0.1/mcp"),
                          "remoteProxies[0].spec.remoteUrl: host 127.0.0.1 is in 127.0.0.0/8 (loopback, link-local, private or "
                          "unspecified); the operator refuses it: remote proxies reach servers outside the cluster"),
    "a restricted plaintext header": (remote(headers={"plaintext": {"Host": "x"}}),
                                      f"remoteProxies[0].spec.headers.plaintext.Host: {HEADER_RULE}"),
    "a header value on two lines": (remote(headers={"plaintext": {"X-A": "a\nb"}}),
                                    "remoteProxies[0].spec.headers.plaintext.X-A: value contains a newline or carriage return, "
                                    "which no HTTP request can carry"),
    "a credential header in plaintext": (remote(headers={"plaintext": {"Authorization": "x"}}),
                                         "remoteProxies[0].spec.headers.plaintext.Authorization: carries a credential; use "
                                         "fromSecrets ({headerName, ref})"),
    "a secret-looking header in plaintext": (remote(headers={"plaintext": {"X-Api-Token": "x"}}),
                                             "remoteProxies[0].spec.headers.plaintext.X-Api-Token: carries a credential; use "
                                             "fromSecrets ({headerName, ref})"),
    "a restricted header from a secret": (remote(headers={"fromSecrets": [{"headerName": "Host", "ref": "aws-sm://x#y"}]}),
                                          f"remoteProxies[0].spec.headers.fromSecrets[0].headerName: {HEADER_RULE}"),
    "a remote proxy's HPA beside replicas": (remote(replicas=2, autoscaling={"proxy": {"maxReplicas": 3}}),
                                             "remoteProxies[0].spec.autoscaling.proxy: conflicts with replicas: an HPA owns the "
                                             "replica count; leave replicas unset or remove autoscaling.proxy"),
    "a vMCP's HPA beside replicas": (vmcp(incomingAuth={"type": "anonymous"}, replicas=2, autoscaling={"proxy": {"maxReplicas": 3}}),
                                     "virtualServers[0].spec.autoscaling.proxy: conflicts with replicas: an HPA owns the replica "
                                     "count; leave replicas unset or remove autoscaling.proxy"),
    "oidc without its config": (vmcp(incomingAuth={"type": "oidc"}),
                                "virtualServers[0].spec.incomingAuth.oidcConfigRef: is required with type oidc, and only then"),
    "anonymous with an oidc config": (vmcp(incomingAuth={"type": "anonymous", "oidcConfigRef": {"name": "o", "audience": "a"}}),
                                      "virtualServers[0].spec.incomingAuth.oidcConfigRef: is required with type oidc, and only then"),
    "published without a description": (("mcpServers", {"name": "web", "namespace": "mcp-dev", "publish": True, "spec": {"image": IMAGE}}),
                                         "mcpServers[0].description: is required with publish: true (the registry refuses "
                                         "servers without one)"),
    "a reserved name": (("mcpServers", {"name": "mcpserver", "namespace": "mcp-dev", "spec": {"image": IMAGE}}),
                        "mcpServers[0].name: 'mcpserver' is reserved: a server with this name makes the operator's pod "
                        "selectors ambiguous (never mcpserver, mcpremoteproxy, virtualmcpserver)"),
    "a name too long for the operator's Services": (
        ("mcpServers", {"name": "a" * 51, "namespace": "mcp-dev", "spec": {"image": IMAGE}}),
        f"mcpServers[0].name: {'a' * 51!r} is longer than 50 characters: the operator's Service mcp-<name>-headless must be a "
        "DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 "
        "characters"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_server_entry_is_refused_naming_its_key_and_what_is_allowed(case):
    (key, entry), expected = CASES[case]
    assert problems(key, entry) == [expected]


@pytest.mark.parametrize(("key", "entry"), [
    mcp(**HTTP, sessionStorage=REDIS, rateLimiting={"perUser": LIMIT}, oidcConfigRef={"name": "o", "audience": "a"}),
    mcp(**HTTP, sessionStorage=REDIS, rateLimiting={"tools": [{"name": "t", "perUser": LIMIT}]}, externalAuthConfigRef={"name": "x"}),
    mcp(**HTTP, backendReplicas=1, storage={"size": "1Gi"}), mcp(**HTTP, backendReplicas=2, storage={"size": "1Gi", "accessMode": "ReadWriteMany"}),
    mcp(**HTTP, autoscaling={"proxy": {"minReplicas": 2, "maxReplicas": 2}}), mcp(storage={"size": "1Gi", "mountPath": "/tmpdata"}),
    mcp(tools={"allow": ["b"], "rename": {"a": {"name": "b"}, "c": {"description": "d"}}}),
    mcp(sessionStorage={**REDIS, "keyPrefix": "thv:web:"}), mcp(secrets=[{"targetEnvName": "A", "ref": "k8s-secret://s#a"},
                                                                        {"targetEnvName": "B", "ref": "k8s-secret://t#b"}]),
    remote(headers={"plaintext": {"X-Team": "a"}, "fromSecrets": [{"headerName": "Authorization", "ref": "aws-sm://x#y"}]}),
    vmcp(incomingAuth={"type": "oidc", "oidcConfigRef": {"name": "o", "audience": "a"}}),
    ("mcpServers", {"name": "a" * 50, "namespace": "mcp-dev", "publish": True, "description": "d", "spec": {"image": IMAGE}}),
])
def test_entries_inside_every_rule_are_accepted(key, entry):
    parse_stack_config({"namespaces": [{"name": "mcp-dev"}], "servers": {key: [entry]}})


def test_a_size_preset_or_explicit_resources_size_the_mcp_container():
    config = parse_stack_config({"namespaces": [{"name": "mcp-dev"}], "servers": {"mcpServers": [
        mcp(size="medium")[1], mcp(resources={"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}})[1]]}})
    sized, explicit = (entry.spec.mcp_resources() for entry in config.servers.mcp_servers)
    assert sized == {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    assert explicit == {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}
