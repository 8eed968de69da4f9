"""What the ToolHive v0.44.0 operator and its proxy runner refuse in a server spec, as plain checks.

Facts read from github.com/stacklok/toolhive@v0.44.0 (file names below are relative to that module);
the config models (components/config/servers.py) call these so a spec the real system would refuse at
reconcile or at start-up is refused at preview, naming the server file and field. Each check returns a
message (what is allowed) or None; none of them echoes a value.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# --- env literals -------------------------------------------------------------------------------------
# cmd/thv-operator/controllers/mcpserver_runconfig.go, validateEnvironmentVariables: a value may not
# contain "\n" or "\r" (the RunConfig is refused and the MCPServer never runs).
ENV_VALUE_FORBIDDEN = "\n\r"


def env_value(value: str) -> str | None:
    if any(char in value for char in ENV_VALUE_FORBIDDEN):
        return ("contains a newline or carriage return, which the operator refuses in env values "
                "(write the value on one line)")
    return None


# --- tools ----------------------------------------------------------------------------------------------
# cmd/thv-operator/controllers/mcpserver_runconfig.go, validateToolsFilter: a filtered tool name is not
# empty and contains no ",", "\n" or "\r".
TOOL_NAME_FORBIDDEN = ",\n\r"


def tool_name(value: str) -> str | None:
    if not value:
        return "must not be empty"
    if any(char in value for char in TOOL_NAME_FORBIDDEN):
        return "must not contain a comma, newline or carriage return (the operator refuses such tool names)"
    return None


# pkg/mcp/tool_filter.go, WithToolsOverride: "override name and description cannot both be empty" (the
# proxy runner fails at start-up). The operator passes only name and description of an MCPToolConfig
# override to the runner (mcpserver_runconfig.go, mcpremoteproxy_runconfig.go resolveToolConfig), so an
# override with only annotations (a title) is such an empty override.
TOOL_OVERRIDE_NEEDS = "set name or description (or both): the proxy runner refuses an override with neither, " \
                      "and a title alone is not passed on to it"

# pkg/mcp/tool_filter.go, applyFilteringAndOverrides and processToolCallRequest: the filter is looked up
# by the name clients see, i.e. after renaming ("filters are expressed in terms of tool names as known to
# the user").


def allow_renamed_away(allow: list[str], renames: dict[str, str]) -> dict[int, str]:
    """Allow entries that name a tool by its actual name although a rename gives it another: index -> the
    name to write instead. `renames` is actual name -> new name (renames that change the name only)."""
    visible = set(renames.values())
    return {index: renames[name] for index, name in enumerate(allow)
            if name in renames and renames[name] != name and name not in visible}


# --- forwarded headers ----------------------------------------------------------------------------------
# pkg/transport/middleware/header_forward.go, RestrictedHeaders (canonical form): the proxy runner refuses
# to start when a forwarded header (plaintext or from a Secret, pkg/runner/middleware.go) is one of these.
RESTRICTED_HEADERS = frozenset({
    "Host",
    "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade", "Http2-Settings",
    "Proxy-Authorization", "Proxy-Authenticate", "Proxy-Connection",
    "Transfer-Encoding", "Content-Length",
    "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
})

# RFC 7230 token characters: Go's http.CanonicalHeaderKey leaves a name with any other byte unchanged, and
# Go's HTTP client refuses to send it ("invalid header field name").
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def canonical_header_key(name: str) -> str:
    """Go's net/http CanonicalHeaderKey: each '-'-separated word capitalised, the rest lowercase."""
    if not _TOKEN.match(name):
        return name
    return "-".join(word[:1].upper() + word[1:].lower() for word in name.split("-"))


def forwarded_header(name: str) -> str | None:
    if not _TOKEN.match(name):
        return ("is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, no spaces or colons); "
                "the proxy could not send it")
    canonical = canonical_header_key(name)
    if canonical in RESTRICTED_HEADERS:
        return (f"{canonical} is restricted: the proxy runner refuses to forward Host, hop-by-hop and "
                f"request-framing headers and client identity ({', '.join(sorted(RESTRICTED_HEADERS))})")
    return None


# --- session storage --------------------------------------------------------------------------------------
# pkg/transport/session/storage_redis.go, validateSessionInvariants: a key prefix must end with ':'
# (empty means the default, thv:proxy:session: / thv:vmcp:session:, pkg/runner/runner.go, pkg/vmcp/server).


def key_prefix(value: str) -> str | None:
    if value and not value.endswith(":"):
        return "must end with ':' (e.g. thv:fetch:), or be left unset for the default; the proxy refuses to start otherwise"
    return None


# --- remote URLs ------------------------------------------------------------------------------------------
# cmd/thv-operator/pkg/validation/url_validation.go, ValidateRemoteURL (MCPRemoteProxy reconcile): http or
# https with a host; a literal IP (IPv4-mapped IPv6 read as IPv4) inside one of INTERNAL_NETWORKS, or a
# hostname equal to one of BLOCKED_HOSTNAMES or ending in "." + one of them, is refused. No DNS lookup,
# and nothing else is refused (a name that merely starts with "kubernetes.default" is fine).
INTERNAL_NETWORKS = tuple(ipaddress.ip_network(cidr) for cidr in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "::/128", "::1/128", "fe80::/10", "fc00::/7"))
BLOCKED_HOSTNAMES = ("localhost", "kubernetes.default.svc.cluster.local", "kubernetes.default.svc",
                     "kubernetes.default", "cluster.local", "metadata.google.internal")


def _go_parse_ip(host: str):
    """Go's net.ParseIP: dotted IPv4 or IPv6 text, no zone; IPv4-mapped IPv6 comes back as IPv4 (To4)."""
    if "%" in host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def remote_url(url: str) -> str | None:
    # The CRD's pattern ^https?:// (api/v1beta1/mcpremoteproxy_types.go) is case-sensitive.
    if not url.startswith(("http://", "https://")):
        return "must be an http:// or https:// URL"
    if any(ord(char) < 0x21 or ord(char) == 0x7f for char in url):
        return "must not contain spaces or control characters"
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - Go's url.Parse refuses a port that is not a number
    except ValueError:
        return "has a port that is not a number"
    if not parts.netloc or not parts.hostname:
        return "must name a host (http(s)://host[:port]/path)"
    host = parts.hostname
    address = _go_parse_ip(host)
    if address is not None:
        for network in INTERNAL_NETWORKS:
            if address.version == network.version and address in network:
                return (f"host {address} is in {network} (loopback, link-local, private or unspecified); "
                        "the operator refuses it: remote proxies reach servers outside the cluster")
        return None
    lower = host.lower()
    for blocked in BLOCKED_HOSTNAMES:
        if lower == blocked or lower.endswith("." + blocked):
            return (f"host {host!r} is {blocked} or below it, which the operator refuses (blocked: "
                    f"{', '.join(BLOCKED_HOSTNAMES)}): remote proxies reach servers outside the cluster")
    return None
