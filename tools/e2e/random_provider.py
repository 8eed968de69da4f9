"""A stand-in for the `random` resource provider plugin, for the end-to-end run only.

Why: the Go module proxy these machines reach does not serve `github.com/pulumi/pulumi-random/provider/v4` (any
version), so the real plugin cannot be built here. The program uses one resource of it, `RandomPassword`, for the
generated passwords (the session store's and the in-cluster registry database's). This plugin speaks the real
provider protocol to the real engine and implements exactly that resource as pulumi-random does:

- `check` returns the inputs with pulumi-random's defaults (upper, lower, numeric, special all true, min* 0);
- `diff` replaces on a change of any input (pulumi-random marks every RandomPassword input ForceNew);
- `create` draws `length` characters with `secrets.choice` from the enabled classes, meeting each `min*`;
  `result` and `bcryptHash` come back as secrets; the ID is "none", as upstream;
- `read` returns the state it is given; `delete` does nothing.

A user who has the real `pulumi-resource-random` on PATH gets that one instead (tools/e2e/engine.py).
The engine starts the plugin as `pulumi-resource-random ENGINE_ADDRESS`; it prints its port and serves.
"""
from __future__ import annotations

import secrets
import string
import sys
from concurrent import futures

import grpc
from google.protobuf import empty_pb2, struct_pb2

from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

VERSION = "4.21.4"
PASSWORD = "random:index/randomPassword:RandomPassword"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"

DEFAULTS = {"upper": True, "lower": True, "numeric": True, "special": True,
            "minUpper": 0, "minLower": 0, "minNumeric": 0, "minSpecial": 0}
#: pulumi-random's default special characters.
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def generate(inputs: dict) -> str:
    """A password as pulumi-random's RandomPassword makes it (character classes, minimums, length)."""
    length = int(inputs["length"])
    classes = []
    for flag, minimum, chars in (("upper", "minUpper", string.ascii_uppercase),
                                 ("lower", "minLower", string.ascii_lowercase),
                                 ("numeric", "minNumeric", string.digits),
                                 ("special", "minSpecial", inputs.get("overrideSpecial") or DEFAULT_SPECIAL)):
        if inputs.get(flag, True):
            classes.append((chars, int(inputs.get(minimum, 0))))
    if not classes:
        raise ValueError("at least one of upper, lower, numeric and special must be true")
    chars = [secrets.choice(pool) for pool, minimum in classes for _ in range(minimum)]
    alphabet = "".join(pool for pool, _ in classes)
    chars += [secrets.choice(alphabet) for _ in range(max(0, length - len(chars)))]
    rng = secrets.SystemRandom()
    rng.shuffle(chars)
    return "".join(chars)


def secret_value(text: str) -> dict:
    return {SECRET_SIG: SECRET_MARK, "value": text}


def to_struct(value: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def from_struct(value: struct_pb2.Struct) -> dict:
    def plain(item):
        if isinstance(item, dict) and item.get(SECRET_SIG) == SECRET_MARK:
            return plain(item.get("value"))
        if isinstance(item, dict):
            return {key: plain(val) for key, val in item.items()}
        if isinstance(item, list):
            return [plain(val) for val in item]
        return item
    from google.protobuf.json_format import MessageToDict
    return plain(MessageToDict(value))


class RandomProvider(provider_pb2_grpc.ResourceProviderServicer):
    def Handshake(self, request, context):
        return provider_pb2.ProviderHandshakeResponse(accept_secrets=True, accept_resources=True)

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema='{"name":"random","version":"%s"}' % VERSION)

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request, context):
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True)

    def Check(self, request, context):
        self._require_password(request.type, context)
        inputs = {**DEFAULTS, **from_struct(request.news)}
        failures = []
        if not isinstance(inputs.get("length"), (int, float)) or inputs["length"] < 1:
            failures.append(provider_pb2.CheckFailure(property="length", reason="length must be at least 1"))
        return provider_pb2.CheckResponse(inputs=to_struct(inputs), failures=failures)

    def Diff(self, request, context):
        olds = {k: v for k, v in from_struct(request.olds).items() if k not in ("result", "bcryptHash")}
        news = from_struct(request.news)
        changed = sorted(key for key in set(olds) | set(news) if olds.get(key) != news.get(key))
        if not changed:
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_SOME, replaces=changed,
                                         diffs=changed, deleteBeforeReplace=False)

    def Create(self, request, context):
        self._require_password(request.type, context)
        inputs = from_struct(request.properties)
        outputs = dict(inputs)
        if request.preview:
            return provider_pb2.CreateResponse(id="", properties=to_struct(outputs))
        password = generate(inputs)
        outputs["result"] = secret_value(password)
        # pulumi-random stores a bcrypt hash too; the program never reads it, so a non-reversible stand-in.
        outputs["bcryptHash"] = secret_value("$2a$10$" + secrets.token_urlsafe(40)[:53])
        return provider_pb2.CreateResponse(id="none", properties=to_struct(outputs))

    def Read(self, request, context):
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Update(self, request, context):
        return provider_pb2.UpdateResponse(properties=request.olds)

    def Delete(self, request, context):
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    @staticmethod
    def _require_password(type_: str, context) -> None:
        if type_ != PASSWORD:
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"the e2e stand-in random provider implements only {PASSWORD}, not {type_}")


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(RandomProvider(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
    sys.exit(0)
