"""The protos' comments, by full name, for the descriptions in OpenAPI.

Descriptors from reflection (and compiled stubs) carry no comments, so `make proto`
also writes taskflow/v1/taskflow.binpb, a descriptor set with source info; a
symbol it does not hold (an RPC newer than the gateway) has no description.
"""

from __future__ import annotations

from importlib import resources

from google.protobuf import descriptor_pb2

DESCRIPTOR_SET = "taskflow.binpb"
# Field numbers in descriptor.proto that source-info paths go through.
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM, _VALUE, _METHOD = 2, 3, 4, 2, 2
Path = tuple[int, ...]


def load() -> dict[str, str]:
    """Full name (`taskflow.v1.Task`, `taskflow.v1.Task.state`) -> its comment."""
    source = resources.files("taskflow.v1").joinpath(DESCRIPTOR_SET)
    if not source.is_file():
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(source.read_bytes())
    found: dict[str, str] = {}
    for file in files.file:
        _file_comments(file, found)
    return found


def _file_comments(file: descriptor_pb2.FileDescriptorProto, found: dict[str, str]) -> None:
    text = {
        tuple(location.path): location.leading_comments.strip()
        for location in file.source_code_info.location
        if location.leading_comments.strip()
    }
    prefix = f"{file.package}." if file.package else ""

    def note(name: str, path: Path) -> None:
        if path in text:
            found[name] = text[path]

    def message(proto: descriptor_pb2.DescriptorProto, name: str, path: Path) -> None:
        note(name, path)
        for i, field in enumerate(proto.field):
            note(f"{name}.{field.name}", (*path, _FIELD, i))
        for i, nested in enumerate(proto.nested_type):
            message(nested, f"{name}.{nested.name}", (*path, _NESTED, i))
        for i, nested_enum in enumerate(proto.enum_type):
            enum(nested_enum, f"{name}.{nested_enum.name}", (*path, _NESTED_ENUM, i))

    def enum(proto: descriptor_pb2.EnumDescriptorProto, name: str, path: Path) -> None:
        note(name, path)
        for i, value in enumerate(proto.value):
            note(f"{name}.{value.name}", (*path, _VALUE, i))

    for i, proto in enumerate(file.message_type):
        message(proto, prefix + proto.name, (_MESSAGE, i))
    for i, enum_proto in enumerate(file.enum_type):
        enum(enum_proto, prefix + enum_proto.name, (_ENUM, i))
    for i, service in enumerate(file.service):
        note(prefix + service.name, (_SERVICE, i))
        for j, method in enumerate(service.method):
            note(f"{prefix}{service.name}.{method.name}", (_SERVICE, i, _METHOD, j))
