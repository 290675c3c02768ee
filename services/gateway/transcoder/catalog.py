"""The REST bindings of the upstreams' RPCs, built from their file descriptors.

Each RPC with a `google.api.http` rule (and each of its additional bindings)
becomes one `Binding`: HTTP method, path template, body rule, and the message
classes to build and read. Messages the gateway was compiled with use their
generated classes (so a reply is the same class a hand-kept route would get);
anything else (an RPC newer than the gateway) gets a class made from the
descriptor at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from services.gateway.transcoder.templates import PathTemplate, TemplateError, parse

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


class CatalogError(ValueError):
    """An http rule the transcoder cannot serve."""


@dataclass(frozen=True)
class Binding:
    """One REST route of one RPC."""

    upstream: str
    method: descriptor.MethodDescriptor
    http_method: str
    template: PathTemplate
    body: str
    response_body: str
    request_class: type[Message]
    response_class: type[Message]
    path_fields: frozenset[str] = field(default=frozenset())

    @property
    def path(self) -> str:
        """The template, as the metrics label the route."""
        return self.template.template

    @property
    def request_descriptor(self) -> Any:
        """The request message's descriptor (typed loosely: stubs and upb differ)."""
        return self.request_class.DESCRIPTOR

    @property
    def response_descriptor(self) -> Any:
        return self.response_class.DESCRIPTOR

    @property
    def full_method(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def server_streaming(self) -> bool:
        return bool(self.method.server_streaming)


@dataclass
class Catalog:
    """Every binding, in the order the upstreams and their rules were declared."""

    pool: descriptor_pool.DescriptorPool
    bindings: list[Binding]


def build(
    services: Mapping[str, Iterable[str]],
    files: Mapping[str, descriptor_pb2.FileDescriptorProto],
) -> Catalog:
    """`services`: upstream -> the services it serves; `files`: every file they need."""
    pool = descriptor_pool.DescriptorPool()
    for proto in _in_import_order(files):
        pool.Add(proto)
    seen: set[str] = set()
    bindings: list[Binding] = []
    for upstream, names in services.items():
        for name in names:
            if name in seen:
                continue  # the first upstream serving a service answers for it
            seen.add(name)
            service = pool.FindServiceByName(name)
            service_proto = _service_proto(files[service.file.name], service.name)
            for method, method_proto in zip(service.methods, service_proto.method, strict=True):
                bindings.extend(_bindings(upstream, method, method_proto.options, files))
    return Catalog(pool, bindings)


def _bindings(
    upstream: str,
    method: descriptor.MethodDescriptor,
    options: descriptor_pb2.MethodOptions,
    files: Mapping[str, descriptor_pb2.FileDescriptorProto],
) -> list[Binding]:
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    request_class = message_class(method.input_type, files)
    response_class = message_class(method.output_type, files)
    found = []
    for one in (rule, *rule.additional_bindings):
        http_method, template = _pattern(one, method)
        fields = frozenset(template.variables)
        found.append(
            Binding(
                upstream,
                method,
                http_method,
                template,
                one.body,
                one.response_body,
                request_class,
                response_class,
                fields,
            )
        )
    return found


def _pattern(
    rule: http_pb2.HttpRule, method: descriptor.MethodDescriptor
) -> tuple[str, PathTemplate]:
    kind = rule.WhichOneof("pattern")
    if kind in HTTP_METHODS:
        verb, path = kind.upper(), str(getattr(rule, kind))
    elif kind == "custom":
        verb, path = rule.custom.kind.upper(), rule.custom.path
    else:
        raise CatalogError(f"{method.full_name}: an http rule without a pattern")
    try:
        return verb, parse(path)
    except TemplateError as error:
        raise CatalogError(f"{method.full_name}: {error}") from None


def message_class(
    message: descriptor.Descriptor, files: Mapping[str, descriptor_pb2.FileDescriptorProto]
) -> type[Message]:
    """The generated class when the gateway has the same definition compiled in,
    else one made from the upstream's descriptor."""
    try:
        compiled = descriptor_pool.Default().FindMessageTypeByName(message.full_name)
    except KeyError:
        compiled = None
    if compiled is not None:
        same = descriptor_pb2.FileDescriptorProto.FromString(compiled.file.serialized_pb)
        if same == files.get(message.file.name):
            cls: type[Message] = message_factory.GetMessageClass(compiled)
            return cls
    made: type[Message] = message_factory.GetMessageClass(message)
    return made


def _service_proto(
    file: descriptor_pb2.FileDescriptorProto, name: str
) -> descriptor_pb2.ServiceDescriptorProto:
    for service in file.service:
        if service.name == name:
            return service
    raise CatalogError(f"{file.name}: no service {name}")


def _in_import_order(
    files: Mapping[str, descriptor_pb2.FileDescriptorProto],
) -> list[descriptor_pb2.FileDescriptorProto]:
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in files:
            return
        placed.add(name)
        for dependency in files[name].dependency:
            place(dependency)
        ordered.append(files[name])

    for name in files:
        place(name)
    return ordered


def field_path(message: Any, dotted: str) -> list[Any]:
    """The fields a dotted path (`task.task_id`) walks through; KeyError if unknown."""
    fields = []
    current: Any = message
    for part in dotted.split("."):
        if current is None:
            raise KeyError(dotted)
        found = current.fields_by_name[part]
        fields.append(found)
        current = found.message_type
    return fields
