"""Hashes, HMACs and encodings (Base64, URL, hex), no account needed. A built-in (see
``builtins/__init__.py``).

Inputs are text of at most 1 MB in UTF-8; binary data comes in and goes out as hex or Base64
(``input_encoding`` / ``output_encoding``), since JSON strings cannot hold arbitrary bytes.
Decoding is strict: a character outside the alphabet, bad padding or bytes that are not UTF-8
text (when text is asked for) are refused with the field at fault, never guessed at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from server.connectors.base import ActionInputError, ActionSpec, ConnectorContext, ConnectorSpec
from server.connectors.builtins import utf8_bytes
from server.connectors.schemas import form

MAX_INPUT_BYTES = 1_048_576  # 1 MB
MAX_KEY_BYTES = 4096
ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
BYTE_ENCODINGS = ("utf8", "hex", "base64")
WHITESPACE = re.compile(r"[ \t\r\n]+")
LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

TEXT = {"type": "string", "maxLength": MAX_INPUT_BYTES, "description": "At most 1 MB in UTF-8."}
ENCODED = {"type": "string", "maxLength": MAX_INPUT_BYTES}
ALGORITHM = {"type": "string", "enum": list(ALGORITHMS), "default": "sha256"}
DIGEST_ENCODING = {"type": "string", "enum": ["hex", "base64"], "default": "hex"}
INPUT_ENCODING = {
    "type": "string",
    "enum": list(BYTE_ENCODINGS),
    "default": "utf8",
    "description": "How the input holds its bytes: UTF-8 text (default), or hex or Base64 of binary data.",
}
OUTPUT_ENCODING = {
    "type": "string",
    "enum": list(BYTE_ENCODINGS),
    "default": "utf8",
    "description": "How to return the decoded bytes: UTF-8 text (default; refused when they are not), "
    "hex or Base64.",
}
URL_MODE = {
    "type": "string",
    "enum": ["component", "form"],
    "default": "component",
    "description": "`component` (percent-encodes everything but A-Z a-z 0-9 - _ . ~; a space is %20) "
    "or `form` (application/x-www-form-urlencoded: a space is +).",
}


def _output(name: str) -> dict[str, Any]:
    return form({name: {"type": "string"}}, required=[name])


SPEC = ConnectorSpec(
    name="hash_encode",
    display_name="Hash and encode",
    category="DEVELOPER_TOOLS",
    auth_types=("NONE",),
    requires_connection=False,
    description="Hashes (MD5, SHA-1, SHA-256, SHA-512), HMAC signatures, and Base64, URL and hex "
    "encoding. Built in: no connection needed.",
    actions=(
        ActionSpec(
            name="hash",
            display_name="Hash",
            description="The digest of a text (or of binary data given as hex or Base64).",
            input_schema=form(
                {
                    "text": TEXT,
                    "algorithm": ALGORITHM,
                    "encoding": DIGEST_ENCODING,
                    "input_encoding": INPUT_ENCODING,
                },
                required=["text"],
            ),
            output_schema=_output("digest"),
            read_only=True,
        ),
        ActionSpec(
            name="hmac",
            display_name="HMAC signature",
            description="The HMAC of a text with a key, e.g. to sign or check a webhook payload.",
            input_schema=form(
                {
                    "text": TEXT,
                    "key": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES},
                    "algorithm": ALGORITHM,
                    "encoding": DIGEST_ENCODING,
                    "input_encoding": INPUT_ENCODING,
                    "key_encoding": {**INPUT_ENCODING, "description": "How the key holds its bytes."},
                },
                required=["text", "key"],
            ),
            output_schema=_output("signature"),
            read_only=True,
        ),
        ActionSpec(
            name="base64_encode",
            display_name="Base64 encode",
            description="Base64 of a text (or of binary data given as hex), standard or URL-safe.",
            input_schema=form(
                {
                    "text": TEXT,
                    "url_safe": {
                        "type": "boolean",
                        "default": False,
                        "description": "Use - and _ (RFC 4648 §5).",
                    },
                    "padding": {"type": "boolean", "default": True, "description": "End with = padding."},
                    "input_encoding": {**INPUT_ENCODING, "enum": ["utf8", "hex"]},
                },
                required=["text"],
            ),
            output_schema=_output("encoded"),
            read_only=True,
        ),
        ActionSpec(
            name="base64_decode",
            display_name="Base64 decode",
            description="The bytes of Base64 text (whitespace ignored; with `url_safe`, padding optional).",
            input_schema=form(
                {
                    "encoded": ENCODED,
                    "url_safe": {
                        "type": "boolean",
                        "default": False,
                        "description": "Expect - and _ (RFC 4648 §5).",
                    },
                    "output_encoding": {**OUTPUT_ENCODING, "enum": ["utf8", "hex"]},
                },
                required=["encoded"],
            ),
            output_schema=_output("decoded"),
            read_only=True,
        ),
        ActionSpec(
            name="url_encode",
            display_name="URL encode",
            description="Percent-encoding of a text, for a URL component or a form body.",
            input_schema=form({"text": TEXT, "mode": URL_MODE}, required=["text"]),
            output_schema=_output("encoded"),
            read_only=True,
        ),
        ActionSpec(
            name="url_decode",
            display_name="URL decode",
            description="The text of percent-encoded UTF-8 (in `form` mode, + is a space).",
            input_schema=form({"encoded": ENCODED, "mode": URL_MODE}, required=["encoded"]),
            output_schema=_output("decoded"),
            read_only=True,
        ),
        ActionSpec(
            name="hex_encode",
            display_name="Hex encode",
            description="Lower-case hex of a text's UTF-8 bytes (or of binary data given as Base64).",
            input_schema=form(
                {"text": TEXT, "input_encoding": {**INPUT_ENCODING, "enum": ["utf8", "base64"]}},
                required=["text"],
            ),
            output_schema=_output("encoded"),
            read_only=True,
        ),
        ActionSpec(
            name="hex_decode",
            display_name="Hex decode",
            description="The bytes of hex text (either case; whitespace ignored).",
            input_schema=form(
                {"encoded": ENCODED, "output_encoding": {**OUTPUT_ENCODING, "enum": ["utf8", "base64"]}},
                required=["encoded"],
            ),
            output_schema=_output("decoded"),
            read_only=True,
        ),
    ),
)

# -- bytes in and out ------------------------------------------------------------------------


def _hex_bytes(field: str, text: str) -> bytes:
    compact = WHITESPACE.sub("", text)
    try:
        return bytes.fromhex(compact)
    except ValueError:
        raise ActionInputError(field, "is not hex: pairs of 0-9 and a-f") from None


def _base64_bytes(field: str, text: str, *, url_safe: bool = False) -> bytes:
    compact = WHITESPACE.sub("", text)
    if url_safe:
        # Padding is optional in URL-safe Base64 (JWTs omit it); a length of 1 mod 4 is
        # never valid, padded or not.
        compact += "=" * (-len(compact) % 4)
    try:
        if url_safe:
            if "+" in compact or "/" in compact:
                raise binascii.Error("standard alphabet in URL-safe Base64")
            return base64.b64decode(compact.replace("-", "+").replace("_", "/"), validate=True)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        alphabet = "A-Z a-z 0-9 - _" if url_safe else "A-Z a-z 0-9 + /"
        raise ActionInputError(
            field, f"is not valid Base64: characters {alphabet} in groups of four, padded with ="
        ) from None


def _input_bytes(field: str, text: str, encoding: str) -> bytes:
    data = utf8_bytes(field, text, limit=MAX_INPUT_BYTES)
    if encoding == "hex":
        return _hex_bytes(field, text)
    if encoding == "base64":
        return _base64_bytes(field, text)
    return data


def _output_text(field: str, data: bytes, encoding: str) -> str:
    if encoding == "hex":
        return data.hex()
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ActionInputError(
            field, "decodes to bytes that are not UTF-8 text; set output_encoding to hex or base64"
        ) from None


def _digest_text(digest: bytes, encoding: str) -> str:
    return base64.b64encode(digest).decode("ascii") if encoding == "base64" else digest.hex()


# -- actions ---------------------------------------------------------------------------------


def _hash(input: dict[str, Any]) -> dict[str, Any]:
    data = _input_bytes("text", input["text"], input.get("input_encoding", "utf8"))
    # MD5 and SHA-1 are offered for checksums and legacy APIs, not for security.
    digest = hashlib.new(input.get("algorithm", "sha256"), data, usedforsecurity=False).digest()
    return {"digest": _digest_text(digest, input.get("encoding", "hex"))}


def _hmac(input: dict[str, Any]) -> dict[str, Any]:
    key_text = input["key"]
    utf8_bytes("key", key_text, limit=MAX_KEY_BYTES)
    key = _input_bytes("key", key_text, input.get("key_encoding", "utf8"))
    if not key:
        raise ActionInputError("key", "must not be empty")
    data = _input_bytes("text", input["text"], input.get("input_encoding", "utf8"))
    signature = hmac.new(key, data, input.get("algorithm", "sha256")).digest()
    return {"signature": _digest_text(signature, input.get("encoding", "hex"))}


def _base64_encode(input: dict[str, Any]) -> dict[str, Any]:
    data = _input_bytes("text", input["text"], input.get("input_encoding", "utf8"))
    encoded = base64.urlsafe_b64encode(data) if input.get("url_safe") else base64.b64encode(data)
    if input.get("padding") is False:
        encoded = encoded.rstrip(b"=")
    return {"encoded": encoded.decode("ascii")}


def _base64_decode(input: dict[str, Any]) -> dict[str, Any]:
    text = input["encoded"]
    utf8_bytes("encoded", text, limit=MAX_INPUT_BYTES)
    data = _base64_bytes("encoded", text, url_safe=bool(input.get("url_safe")))
    return {"decoded": _output_text("encoded", data, input.get("output_encoding", "utf8"))}


def _url_encode(input: dict[str, Any]) -> dict[str, Any]:
    text = input["text"]
    utf8_bytes("text", text, limit=MAX_INPUT_BYTES)
    if input.get("mode") == "form":
        return {"encoded": quote_plus(text, safe="")}
    return {"encoded": quote(text, safe="")}


def _url_decode(input: dict[str, Any]) -> dict[str, Any]:
    text = input["encoded"]
    utf8_bytes("encoded", text, limit=MAX_INPUT_BYTES)
    if LONE_PERCENT.search(text):
        raise ActionInputError("encoded", "has a % that is not followed by two hex digits")
    decode = unquote_plus if input.get("mode") == "form" else unquote
    try:
        return {"decoded": decode(text, errors="strict")}
    except UnicodeDecodeError:
        raise ActionInputError("encoded", "percent-encodes bytes that are not UTF-8 text") from None


def _hex_encode(input: dict[str, Any]) -> dict[str, Any]:
    data = _input_bytes("text", input["text"], input.get("input_encoding", "utf8"))
    return {"encoded": data.hex()}


def _hex_decode(input: dict[str, Any]) -> dict[str, Any]:
    text = input["encoded"]
    utf8_bytes("encoded", text, limit=MAX_INPUT_BYTES)
    data = _hex_bytes("encoded", text)
    return {"decoded": _output_text("encoded", data, input.get("output_encoding", "utf8"))}


ACTIONS = {
    "hash": _hash,
    "hmac": _hmac,
    "base64_encode": _base64_encode,
    "base64_decode": _base64_decode,
    "url_encode": _url_encode,
    "url_decode": _url_decode,
    "hex_encode": _hex_encode,
    "hex_decode": _hex_decode,
}


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """The output of ``action`` (its input already checked against the action's schema)."""
    run = ACTIONS.get(action)
    if run is None:  # executeAction only calls actions of the SPEC
        raise LookupError(f"hash_encode has no action {action[:64]!r}")
    return run(input)
