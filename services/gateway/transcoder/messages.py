"""Proto JSON in and out: a request message from the path variables, the query
string and the body, as grpc-gateway builds it; a reply as proto JSON with the
protos' field names and enums by name."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

from services.gateway.transcoder.catalog import Binding, field_path

Json = dict[str, Any]
FieldType = descriptor.FieldDescriptor
_FLOATS = frozenset({FieldType.TYPE_FLOAT, FieldType.TYPE_DOUBLE})
# Query parameters that are the gateway's own, never a request field.
RESERVED_QUERY = frozenset({"token"})


class BadRequest(ValueError):
    """Input that does not make the RPC's request message: a 422."""


def build_request(
    binding: Binding,
    path_values: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: bytes,
) -> Message:
    tree: Json = {}
    if binding.body == "*":
        tree = _json_object(body)
    elif binding.body and body.strip():
        tree[binding.body] = _json(body)
    covered = {binding.body} if binding.body else set()
    for dotted, text in path_values.items():
        _put(tree, binding, dotted, text, from_query=False)
    if binding.body != "*":
        for dotted, text in query:
            top = dotted.split(".", 1)[0]
            if dotted in RESERVED_QUERY or top in covered or dotted in path_values:
                continue
            _put(tree, binding, dotted, text, from_query=True)
    if _plain_strings(binding.request_descriptor, tree):
        return binding.request_class(**tree)
    request = binding.request_class()
    try:
        json_format.ParseDict(tree, request, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        raise BadRequest(str(error)) from None
    return request


def _plain_strings(message: Any, tree: Json) -> bool:
    """True when every value is text for a singular string field: then the message
    is built directly, which is what ParseDict would do, at a fraction of the cost
    (a task's id from the path; a create's type and content)."""
    fields = message.fields_by_name
    for name, value in tree.items():
        field = fields.get(name)
        if (
            field is None
            or field.type != FieldType.TYPE_STRING
            or field.is_repeated
            or field.containing_oneof is not None
            or not isinstance(value, str)
        ):
            return False
    return True


def reply_json(binding: Binding, reply: Message) -> Any:
    """The reply (or its `response_body` field) as proto JSON."""
    tree = to_json(reply)
    return tree.get(binding.response_body) if binding.response_body else tree


def to_json(message: Message) -> Json:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None


def _json_object(body: bytes) -> Json:
    if not body.strip():
        return {}
    value = _json(body)
    if value is None:  # `null`: no fields, as an empty body
        return {}
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


def _put(tree: Json, binding: Binding, dotted: str, text: str, *, from_query: bool) -> None:
    """Set the field a path variable or query parameter names, converted from text
    by the field's type; unknown query parameters are ignored, as grpc-gateway does."""
    try:
        fields = field_path(binding.request_descriptor, dotted)
    except KeyError:
        if from_query:
            return
        raise BadRequest(f"the path names no field {dotted!r}") from None
    leaf = fields[-1]
    if leaf.message_type is not None and not _is_scalar_message(leaf.message_type):
        raise BadRequest(f"{dotted!r} is a message; send it in the body")
    node = tree
    for step in fields[:-1]:
        child = node.setdefault(step.name, {})
        if not isinstance(child, dict):
            raise BadRequest(f"{dotted!r} conflicts with another value")
        node = child
    value = _from_text(leaf, text, dotted)
    if _is_repeated(leaf):
        if not from_query:
            raise BadRequest(f"the path variable {dotted!r} names a repeated field")
        node.setdefault(leaf.name, []).append(value)
    else:
        node[leaf.name] = value


def _is_repeated(field: descriptor.FieldDescriptor) -> bool:
    return bool(field.is_repeated)


# Well-known messages whose JSON form is a single string or number.
_SCALAR_MESSAGES = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
        "google.protobuf.BoolValue",
        "google.protobuf.Int32Value",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.FloatValue",
        "google.protobuf.DoubleValue",
    }
)


def _is_scalar_message(message: descriptor.Descriptor) -> bool:
    return message.full_name in _SCALAR_MESSAGES


def _from_text(field: descriptor.FieldDescriptor, text: str, name: str) -> Any:
    kind = field.type
    wrapped = field.message_type.full_name if field.message_type is not None else ""
    if kind == FieldType.TYPE_BOOL or wrapped == "google.protobuf.BoolValue":
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise BadRequest(f"{name!r} must be true or false, not {text!r}")
    if kind in _FLOATS or wrapped in ("google.protobuf.FloatValue", "google.protobuf.DoubleValue"):
        try:
            number = float(text)
        except ValueError:
            raise BadRequest(f"{name!r} must be a number, not {text!r}") from None
        if not math.isfinite(number):
            return text  # proto JSON spells these "NaN", "Infinity"
        return number
    if kind == FieldType.TYPE_ENUM and text.lstrip("-").isdigit():
        return int(text)
    # Strings, bytes, enum names, integers (proto JSON takes them as strings and
    # checks their range), timestamps and durations: ParseDict reads the text.
    return text
