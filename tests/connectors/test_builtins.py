"""The built-in integrations that need no connection: datetime and hash_encode actions with
good and bad input, and the built-ins in the rest of the product (listed in ``integrations``,
refused wherever a connection would be made). kv_store: tests/actions/test_kv_store.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, cast

import httpx
import jsonschema
import pytest

from server.connect.models import ConnectSession
from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.builtins import datetime_tools, hash_encode, kv_store
from tests.connect.conftest import page_data

BUILT_INS = {"datetime": datetime_tools, "hash_encode": hash_encode, "kv_store": kv_store}
CONTEXT = ConnectorContext(http=cast(httpx.AsyncClient, None), base_url=None, caller="action")


async def run(module: Any, action: str, input: dict[str, Any]) -> Any:
    """An action as executeAction runs it: input checked against its schema first, the output
    checked against its schema after."""
    spec = module.SPEC.action(action)
    assert spec is not None, action
    jsonschema.Draft202012Validator(spec.input_schema).validate(input)
    output = await module.run_action(CONTEXT, action, input)
    jsonschema.Draft202012Validator(spec.output_schema).validate(output)
    return output


async def refused(module: Any, action: str, input: dict[str, Any]) -> ActionInputError:
    """The ActionInputError a schema-valid input still gets."""
    spec = module.SPEC.action(action)
    jsonschema.Draft202012Validator(spec.input_schema).validate(input)
    with pytest.raises(ActionInputError) as error:
        await module.run_action(CONTEXT, action, input)
    return error.value


def schema_refuses(module: Any, action: str, input: dict[str, Any]) -> bool:
    return not jsonschema.Draft202012Validator(module.SPEC.action(action).input_schema).is_valid(input)


# -- the specs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_a_built_in_is_actions_only_with_tight_schemas(name):
    spec = BUILT_INS[name].SPEC
    assert spec.name == name and spec.auth_types == ("NONE",) and spec.requires_connection is False
    assert not spec.streams and spec.oauth is None and spec.base_url is None
    assert len(spec.actions) >= 5
    for action in spec.actions:
        for schema in (action.input_schema, action.output_schema):
            jsonschema.Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object" and schema["additionalProperties"] is False
        for name_, prop in action.input_schema["properties"].items():
            if prop.get("type") == "string" and "enum" not in prop:
                assert "maxLength" in prop, f"{action.name}.{name_} has no maxLength"
            if prop.get("type") == "integer":
                assert "minimum" in prop and "maximum" in prop, f"{action.name}.{name_} is unbounded"


# -- datetime --------------------------------------------------------------------------------


async def test_now_in_a_zone_with_a_pattern():
    output = await run(datetime_tools, "now", {"timezone": "Asia/Kolkata", "pattern": "YYYY [at] HH:mm Z"})
    assert output["timezone"] == "Asia/Kolkata" and output["utc_offset"] == "+05:30"
    assert output["formatted"].endswith("+05:30") and " at " in output["formatted"]
    assert output["abbreviation"] == "IST" and output["is_dst"] is False


async def test_now_defaults_to_utc_iso_8601():
    output = await run(datetime_tools, "now", {})
    assert output["timezone"] == "UTC" and output["formatted"] == output["datetime"]
    assert output["datetime"].endswith("+00:00")


@pytest.mark.parametrize(
    ("input", "formatted"),
    [
        ({"format": "ISO_8601"}, "2024-03-10T01:59:59-05:00"),
        ({"format": "ISO_DATE"}, "2024-03-10"),
        ({"format": "ISO_TIME"}, "01:59:59"),
        ({"format": "RFC_2822"}, "Sun, 10 Mar 2024 01:59:59 -0500"),
        ({"format": "HTTP_DATE"}, "Sun, 10 Mar 2024 06:59:59 GMT"),
        ({"format": "UNIX_SECONDS"}, "1710053999"),
        ({"format": "UNIX_MILLISECONDS"}, "1710053999000"),
        ({"pattern": "dddd, MMMM D, YYYY h:mm:ss A z"}, "Sunday, March 10, 2024 1:59:59 AM EST"),
        ({"pattern": "ddd MMM DD YY HH:m:s.SSS ZZ d"}, "Sun Mar 10 24 01:59:59.000 -0500 0"),
        ({"pattern": "[YYYY is literal:] YYYY"}, "YYYY is literal: 2024"),
        ({"pattern": "X|x"}, "1710053999|1710053999000"),
    ],
)
async def test_format_named_formats_and_patterns(input, formatted):
    base = {"datetime": "2024-03-10T06:59:59Z", "timezone": "America/New_York"}
    assert await run(datetime_tools, "format", {**base, **input}) == {"formatted": formatted}


async def test_format_a_local_time_skipped_by_daylight_saving_moves_forward():
    # 02:30 does not exist in New York on 2024-03-10: the clock jumps from 02:00 to 03:00.
    output = await run(
        datetime_tools, "format", {"datetime": "2024-03-10T02:30:00", "timezone": "America/New_York"}
    )
    assert output == {"formatted": "2024-03-10T03:30:00-04:00"}


async def test_a_repeated_local_time_is_the_first_one():
    output = await run(
        datetime_tools,
        "convert_timezone",
        {
            "datetime": "2024-11-03T01:30:00",
            "timezone": "America/New_York",
            "from_timezone": "America/New_York",
        },
    )
    assert output["utc_offset"] == "-04:00" and output["abbreviation"] == "EDT" and output["is_dst"] is True


async def test_format_refuses_format_and_pattern_together():
    error = await refused(
        datetime_tools,
        "format",
        {"datetime": "2024-01-01T00:00:00Z", "format": "ISO_DATE", "pattern": "YYYY"},
    )
    assert error.path == "pattern"


@pytest.mark.parametrize(
    ("input", "expected"),
    [
        # A calendar day across the spring-forward night is 23 hours; 24 hours is not a day.
        (
            {"datetime": "2024-03-09T12:00:00", "timezone": "America/New_York", "days": 1},
            "2024-03-10T12:00:00-04:00",
        ),
        (
            {"datetime": "2024-03-09T12:00:00", "timezone": "America/New_York", "hours": 24},
            "2024-03-10T13:00:00-04:00",
        ),
        (
            {"datetime": "2024-11-02T12:00:00", "timezone": "America/New_York", "days": 1},
            "2024-11-03T12:00:00-05:00",
        ),
        # Leap years: the last day of February, whatever the year has.
        ({"datetime": "2024-02-29T10:00:00Z", "years": 1}, "2025-02-28T10:00:00+00:00"),
        ({"datetime": "2024-02-29T10:00:00Z", "years": 4}, "2028-02-29T10:00:00+00:00"),
        ({"datetime": "2024-01-31T00:00:00Z", "months": 1}, "2024-02-29T00:00:00+00:00"),
        ({"datetime": "2023-01-31T00:00:00Z", "months": 1}, "2023-02-28T00:00:00+00:00"),
        ({"datetime": "2024-03-31T00:00:00Z", "months": -1}, "2024-02-29T00:00:00+00:00"),
        ({"datetime": "2024-12-31T23:59:59+01:00", "seconds": 1}, "2025-01-01T00:00:00+01:00"),
        ({"datetime": "2024-01-01", "weeks": 2, "days": -1, "minutes": 90}, "2024-01-14T01:30:00+00:00"),
    ],
)
async def test_add_moves_the_wall_clock_for_calendar_parts(input, expected):
    assert (await run(datetime_tools, "add", input))["datetime"] == expected


async def test_add_refuses_a_result_beyond_year_9999():
    error = await refused(datetime_tools, "add", {"datetime": "9999-12-31T00:00:00Z", "days": 1})
    assert error.path == "datetime"
    assert schema_refuses(datetime_tools, "add", {"datetime": "2024-01-01", "years": 10**6})


@pytest.mark.parametrize(
    ("input", "value", "total"),
    [
        ({"unit": "days", "timezone": "America/New_York"}, 1, 82800),  # a 23-hour day
        ({"unit": "hours", "timezone": "America/New_York"}, 23, 82800),
        ({"unit": "minutes"}, 1380, 82800),
    ],
)
async def test_difference_across_a_daylight_saving_change(input, value, total):
    span = {"start": "2024-03-10T00:00:00", "end": "2024-03-11T00:00:00", "timezone": "America/New_York"}
    output = await run(datetime_tools, "difference", {**span, **input})
    assert output == {"value": value, "unit": input["unit"], "total_seconds": total}


@pytest.mark.parametrize(
    ("start", "end", "unit", "value"),
    [
        ("2024-02-29", "2025-02-28", "years", 1),
        ("2024-02-29", "2025-02-27", "years", 0),
        ("2024-01-31", "2024-02-29", "months", 1),
        ("2024-01-31", "2024-02-28", "months", 0),
        ("2024-03-01", "2024-01-01", "months", -2),
        ("2024-01-01T00:00:00Z", "2023-12-31T23:00:00Z", "days", 0),  # toward zero, not -1
        ("2024-01-01", "2024-12-31", "weeks", 52),
        ("2023-01-01", "2024-01-01", "days", 365),
        ("2024-01-01", "2025-01-01", "days", 366),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:59Z", "minutes", 0),
    ],
)
async def test_difference_counts_whole_units(start, end, unit, value):
    output = await run(datetime_tools, "difference", {"start": start, "end": end, "unit": unit})
    assert output["value"] == value


async def test_convert_timezone_keeps_the_instant():
    output = await run(
        datetime_tools, "convert_timezone", {"datetime": "2024-07-01T12:00:00Z", "timezone": "Europe/Paris"}
    )
    assert output == {
        "datetime": "2024-07-01T14:00:00+02:00",
        "timezone": "Europe/Paris",
        "utc_offset": "+02:00",
        "abbreviation": "CEST",
        "is_dst": True,
        "unix_seconds": 1719835200,
    }
    offset = await run(
        datetime_tools, "convert_timezone", {"datetime": "2024-07-01T12:00:00Z", "timezone": "-03:30"}
    )
    assert offset["datetime"] == "2024-07-01T08:30:00-03:30" and offset["timezone"] == "-03:30"


@pytest.mark.parametrize(
    ("action", "input", "field"),
    [
        (
            "convert_timezone",
            {"datetime": "2024-07-01T12:00:00Z", "timezone": "Mars/Olympus_Mons"},
            "timezone",
        ),
        (
            "convert_timezone",
            {"datetime": "2024-07-01T12:00:00Z", "timezone": "Etc/Nowhere"},
            "timezone",
        ),
        (
            "convert_timezone",
            {"datetime": "2024-07-01T12:00", "timezone": "UTC", "from_timezone": "Nowhere"},
            "from_timezone",
        ),
        ("convert_timezone", {"datetime": "2024-07-01T12:00:00Z", "timezone": "+25:00"}, "timezone"),
        ("now", {"timezone": "europe/paris"}, "timezone"),  # IANA names are case-sensitive
        ("format", {"datetime": "yesterday"}, "datetime"),
        ("format", {"datetime": "2023-02-29T00:00:00Z"}, "datetime"),  # not a leap year
        ("add", {"datetime": "2024-03-10T25:00:00"}, "datetime"),
        ("difference", {"start": "2024-01-01", "end": "soon", "unit": "days"}, "end"),
        (
            "difference",
            {"start": "2024-01-01", "end": "2024-01-02", "unit": "days", "timezone": "Atlantis"},
            "timezone",
        ),
        ("parse", {"text": "not a date"}, "text"),
        ("parse", {"text": "02/30/2024"}, "text"),
        ("parse", {"text": "February 29, 2023"}, "text"),
        ("parse", {"text": "13/13/2024"}, "text"),
        ("parse", {"text": "March 10, 2024 13:00 PM"}, "text"),
        ("parse", {"text": "2024-03-10", "timezone": "Moon/Base"}, "timezone"),
    ],
)
async def test_bad_datetime_input_names_its_field(action, input, field):
    error = await refused(datetime_tools, action, input)
    assert error.path == field


@pytest.mark.parametrize("name", ["Europe/../../etc/passwd", "/etc/localtime", "Europe/Paris\x00", "."])
async def test_a_zone_name_is_never_read_as_a_path(name):
    """Refused by the action itself, schema or not: zoneinfo reads a name as a file path."""
    with pytest.raises(ActionInputError) as error:
        await datetime_tools.run_action(CONTEXT, "now", {"timezone": name})
    assert error.value.path == "timezone"


@pytest.mark.parametrize(
    ("input", "datetime"),
    [
        ({"text": "2024-03-10T09:30:00+01:00"}, "2024-03-10T09:30:00+01:00"),
        ({"text": "2024-03-10 09:30"}, "2024-03-10T09:30:00+00:00"),
        ({"text": "20240310"}, "2024-03-10T00:00:00+00:00"),
        ({"text": "Sun, 10 Mar 2024 09:30:00 +0100"}, "2024-03-10T09:30:00+01:00"),
        ({"text": "1710063000"}, "2024-03-10T09:30:00+00:00"),
        ({"text": "1710063000123"}, "2024-03-10T09:30:00.123000+00:00"),
        ({"text": "03/10/2024"}, "2024-03-10T00:00:00+00:00"),
        ({"text": "03/10/2024", "day_first": True}, "2024-10-03T00:00:00+00:00"),
        ({"text": "31.12.2024 23:59"}, "2024-12-31T23:59:00+00:00"),  # only one reading is a date
        ({"text": "2024/3/10 at 9:30 pm", "timezone": "Europe/Paris"}, "2024-03-10T21:30:00+01:00"),
        ({"text": "March 10, 2024 9:30 PM"}, "2024-03-10T21:30:00+00:00"),
        ({"text": "Sunday, 10th March 2024 21:30 +0100"}, "2024-03-10T21:30:00+01:00"),
        ({"text": "Feb 29 2024 12:00 Z"}, "2024-02-29T12:00:00+00:00"),
        ({"text": "10 Sept 2024"}, "2024-09-10T00:00:00+00:00"),
        # With a timezone, the result is expressed there; a text's own offset still says when.
        ({"text": "2024-03-10T09:30:00Z", "timezone": "America/New_York"}, "2024-03-10T05:30:00-04:00"),
        ({"text": "2024-03-10 02:30", "timezone": "America/New_York"}, "2024-03-10T03:30:00-04:00"),
    ],
)
async def test_parse_reads_iso_rfc_2822_unix_and_common_forms(input, datetime):
    assert (await run(datetime_tools, "parse", input))["datetime"] == datetime


@pytest.mark.parametrize(
    ("action", "input"),
    [
        ("now", {"timezone": ""}),
        ("now", {"timezone": "x" * 65}),
        ("now", {"timezone": "Europe/Paris; rm -rf"}),
        ("now", {"format": "strftime:%Y"}),
        ("now", {"pattern": "Y" * 101}),
        ("format", {}),
        ("format", {"datetime": "2024-01-01", "locale": "fr"}),
        ("add", {"datetime": "2024-01-01", "days": 1.5}),
        ("difference", {"start": "2024-01-01", "end": "2024-01-02", "unit": "fortnights"}),
        ("parse", {"text": "x" * 101}),
    ],
)
def test_datetime_schemas_refuse_malformed_input(action, input):
    assert schema_refuses(datetime_tools, action, input)


# -- hash_encode -----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
async def test_hash_every_algorithm_in_hex_and_base64(algorithm):
    digest = hashlib.new(algorithm, "héllo".encode()).digest()
    hexed = await run(hash_encode, "hash", {"text": "héllo", "algorithm": algorithm})
    assert hexed == {"digest": digest.hex()}
    b64 = await run(hash_encode, "hash", {"text": "héllo", "algorithm": algorithm, "encoding": "base64"})
    assert b64 == {"digest": base64.b64encode(digest).decode()}


async def test_hash_of_binary_input_and_the_known_sha256_of_abc():
    assert await run(hash_encode, "hash", {"text": "abc"}) == {
        "digest": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    }
    from_hex = await run(hash_encode, "hash", {"text": "616263", "input_encoding": "hex"})
    from_b64 = await run(hash_encode, "hash", {"text": "YWJj", "input_encoding": "base64"})
    assert from_hex == from_b64 == await run(hash_encode, "hash", {"text": "abc"})


async def test_hmac_matches_the_rfc_4231_vector_and_a_webhook_signature():
    # RFC 4231 test case 2: key "Jefe".
    output = await run(
        hash_encode, "hmac", {"text": "what do ya want for nothing?", "key": "Jefe", "algorithm": "sha256"}
    )
    assert output == {"signature": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"}
    body, secret = '{"id":"evt_1"}', "whsec_test"
    expected = base64.b64encode(hmac.new(secret.encode(), body.encode(), "sha1").digest()).decode()
    signed = await run(
        hash_encode, "hmac", {"text": body, "key": secret, "algorithm": "sha1", "encoding": "base64"}
    )
    assert signed == {"signature": expected}
    hex_key = await run(
        hash_encode, "hmac", {"text": body, "key": secret.encode().hex(), "key_encoding": "hex"}
    )
    assert hex_key == await run(hash_encode, "hmac", {"text": body, "key": secret})


@pytest.mark.parametrize(
    ("input", "encoded"),
    [
        ({"text": "hi?>"}, "aGk/Pg=="),
        ({"text": "hi?>", "url_safe": True}, "aGk_Pg=="),
        ({"text": "hi?>", "url_safe": True, "padding": False}, "aGk_Pg"),
        ({"text": "ff00", "input_encoding": "hex"}, "/wA="),
        ({"text": ""}, ""),
    ],
)
async def test_base64_encode(input, encoded):
    assert await run(hash_encode, "base64_encode", input) == {"encoded": encoded}


@pytest.mark.parametrize(
    ("input", "decoded"),
    [
        ({"encoded": "aGk/Pg=="}, "hi?>"),
        ({"encoded": "aGk_Pg", "url_safe": True}, "hi?>"),  # URL-safe padding is optional
        ({"encoded": "aGk_Pg==", "url_safe": True}, "hi?>"),
        ({"encoded": "aGk/\nPg==\n"}, "hi?>"),  # line breaks of MIME Base64
        ({"encoded": "/wA=", "output_encoding": "hex"}, "ff00"),
        ({"encoded": "w6k="}, "é"),
    ],
)
async def test_base64_decode(input, decoded):
    assert await run(hash_encode, "base64_decode", input) == {"decoded": decoded}


@pytest.mark.parametrize(
    "input",
    [
        {"encoded": "aGk/Pg="},  # bad padding
        {"encoded": "a"},
        {"encoded": "aGk_Pg=="},  # URL-safe characters in standard Base64
        {"encoded": "aGk/Pg==", "url_safe": True},  # and the reverse
        {"encoded": "a", "url_safe": True},
        {"encoded": "aGk*Pg=="},
        {"encoded": "/w=="},  # 0xFF is not UTF-8 text
    ],
)
async def test_invalid_base64_is_refused_on_encoded(input):
    error = await refused(hash_encode, "base64_decode", input)
    assert error.path == "encoded"


@pytest.mark.parametrize(
    ("action", "input", "output"),
    [
        ("url_encode", {"text": "a b&c=d/é~"}, "a%20b%26c%3Dd%2F%C3%A9~"),
        ("url_encode", {"text": "a b&c=d/é~", "mode": "form"}, "a+b%26c%3Dd%2F%C3%A9~"),
        ("url_decode", {"encoded": "a%20b%26c%3Dd%2F%C3%A9~"}, "a b&c=d/é~"),
        ("url_decode", {"encoded": "a+b%2B", "mode": "form"}, "a b+"),
        ("url_decode", {"encoded": "a+b"}, "a+b"),  # + is a plus outside forms
        ("hex_encode", {"text": "hé"}, "68c3a9"),
        ("hex_encode", {"text": "/wA=", "input_encoding": "base64"}, "ff00"),
        ("hex_decode", {"encoded": "68 C3 A9"}, "hé"),
        ("hex_decode", {"encoded": "ff00", "output_encoding": "base64"}, "/wA="),
    ],
)
async def test_url_and_hex_round_trips(action, input, output):
    key = "encoded" if action.endswith("encode") else "decoded"
    assert await run(hash_encode, action, input) == {key: output}


@pytest.mark.parametrize(
    ("action", "input", "field"),
    [
        ("url_decode", {"encoded": "100%"}, "encoded"),
        ("url_decode", {"encoded": "%zz"}, "encoded"),
        ("url_decode", {"encoded": "%ff%fe"}, "encoded"),  # not UTF-8
        ("hex_decode", {"encoded": "abc"}, "encoded"),
        ("hex_decode", {"encoded": "zz"}, "encoded"),
        ("hex_decode", {"encoded": "ff"}, "encoded"),  # not UTF-8 text
        ("hash", {"text": "xyz", "input_encoding": "hex"}, "text"),
        ("hash", {"text": "!!", "input_encoding": "base64"}, "text"),
        ("hash", {"text": "\ud800"}, "text"),  # a lone surrogate is not text
        ("hmac", {"text": "t", "key": "zz", "key_encoding": "hex"}, "key"),
        ("hmac", {"text": "t", "key": " ", "key_encoding": "base64"}, "key"),  # no bytes at all
        ("url_encode", {"text": "\udfff"}, "text"),
    ],
)
async def test_bad_encoded_input_names_its_field(action, input, field):
    error = await refused(hash_encode, action, input)
    assert error.path == field


async def test_input_is_limited_to_one_megabyte_in_utf8():
    largest = "a" * hash_encode.MAX_INPUT_BYTES
    assert len((await run(hash_encode, "hex_encode", {"text": largest}))["encoded"]) == 2 * len(largest)
    # Within the schema's character count, but 2 bytes a character in UTF-8.
    wide = "é" * (hash_encode.MAX_INPUT_BYTES // 2 + 1)
    error = await refused(hash_encode, "hash", {"text": wide})
    assert error.path == "text" and "1,048,576 bytes" in error.message
    assert schema_refuses(hash_encode, "hash", {"text": "a" * (hash_encode.MAX_INPUT_BYTES + 1)})
    assert schema_refuses(hash_encode, "base64_decode", {"encoded": "A" * (hash_encode.MAX_INPUT_BYTES + 4)})


@pytest.mark.parametrize(
    ("action", "input"),
    [
        ("hash", {"text": "x", "algorithm": "crc32"}),
        ("hash", {"text": "x", "encoding": "base32"}),
        ("hash", {}),
        ("hmac", {"text": "x"}),
        ("hmac", {"text": "x", "key": "k" * 4097}),
        ("base64_encode", {"text": "x", "input_encoding": "base64"}),
        ("url_encode", {"text": "x", "mode": "path"}),
        ("hex_decode", {"encoded": "00", "extra": True}),
    ],
)
def test_hash_encode_schemas_refuse_malformed_input(action, input):
    assert schema_refuses(hash_encode, action, input)


# -- in the product: listed, never connected -------------------------------------------------

INTEGRATIONS = """query { integrations { name requiresConnection authTypes streams { name } } }"""
CREATE_CONNECTION = """mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }"""
CREATE_SESSION = """mutation($i: CreateConnectSessionInput!) {
  createConnectSession(input: $i) { session { allowedIntegrations } }
}"""
CONFIGURE = """mutation($i: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $i) { integrationName enabled }
}"""


def field_errors(body: dict[str, Any]) -> list[dict[str, str]]:
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    return error["extensions"]["fields"]


async def test_integrations_lists_the_built_ins_as_needing_no_connection(tenant):
    listed = {row["name"]: row for row in (await tenant.data(INTEGRATIONS))["integrations"]}
    for name in BUILT_INS:
        assert listed[name] == {
            "name": name,
            "requiresConnection": False,
            "authTypes": ["NONE"],
            "streams": [],
        }
    assert listed["hubspot"]["requiresConnection"] is True
    assert listed["demo"]["requiresConnection"] is True  # no account, but a connection to sync


@pytest.mark.parametrize("name", sorted(BUILT_INS))
async def test_create_connection_refuses_a_built_in(tenant, name):
    body = await tenant.graphql(
        CREATE_CONNECTION,
        {"i": {"integrationName": name, "authType": "NONE", "workspaceId": tenant.workspace_id}},
    )
    assert field_errors(body) == [
        {
            "field": "input.integrationName",
            "message": f"{name} needs no connection; call its actions directly (executeAction)",
        }
    ]


async def test_resolve_connection_says_a_built_in_needs_none(tenant):
    body = await tenant.graphql(
        """mutation($i: ResolveConnectionInput!) { resolveConnection(input: $i) { resolvedBy } }""",
        {"i": {"workspaceId": tenant.workspace_id, "integrationName": "kv_store"}},
    )
    assert field_errors(body) == [
        {
            "field": "input.integrationName",
            "message": "kv_store needs no connection; call its actions directly (executeAction)",
        }
    ]


async def test_connect_sessions_refuse_built_ins_and_never_offer_them(tenant):
    body = await tenant.graphql(
        CREATE_SESSION, {"i": {"workspaceId": tenant.workspace_id, "integrationName": "datetime"}}
    )
    assert [error["field"] for error in field_errors(body)] == ["input.integrationName"]
    body = await tenant.graphql(
        CREATE_SESSION,
        {
            "i": {
                "workspaceId": tenant.workspace_id,
                "allowedIntegrations": ["demo", "kv_store", "hash_encode"],
            }
        },
    )
    assert field_errors(body) == [
        {
            "field": "input.allowedIntegrations.1",
            "message": "kv_store needs no connection; call its actions directly (executeAction)",
        },
        {
            "field": "input.allowedIntegrations.2",
            "message": "hash_encode needs no connection; call its actions directly (executeAction)",
        },
    ]
    # Without a list, the session offers what the workspace can connect: no built-in.
    offered = (await tenant.data(CREATE_SESSION, {"i": {"workspaceId": tenant.workspace_id}}))[
        "createConnectSession"
    ]["session"]["allowedIntegrations"]
    assert "demo" in offered and not set(BUILT_INS) & set(offered)


async def test_configure_workspace_integration_takes_only_enabled_for_a_built_in(tenant):
    configured = await tenant.data(
        CONFIGURE,
        {"i": {"workspaceId": tenant.workspace_id, "integrationName": "kv_store", "enabled": False}},
    )
    assert configured["configureWorkspaceIntegration"] == {"integrationName": "kv_store", "enabled": False}
    body = await tenant.graphql(
        CONFIGURE,
        {"i": {"workspaceId": tenant.workspace_id, "integrationName": "datetime", "strategy": "PER_USER"}},
    )
    (problem,) = field_errors(body)
    assert problem["field"] == "input.integrationName"
    assert problem["message"].startswith("datetime needs no connection") and "strategy" in problem["message"]
    body = await tenant.graphql(
        CONFIGURE,
        {
            "i": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "hash_encode",
                "apiBaseUrl": "https://example.com",
                "fixedConnectionId": "cn_x",
            }
        },
    )
    assert "fixedConnectionId, apiBaseUrl" in field_errors(body)[0]["message"]


SELECT = """mutation($name: String!) { selectIntegration(input: {integrationName: $name}) { status } }"""


async def test_a_connect_page_never_offers_a_built_in_even_from_an_older_session(tenant):
    created = (
        await tenant.data(
            """mutation($i: CreateConnectSessionInput!) { createConnectSession(input: $i) { token session { id } } }""",
            {"i": {"workspaceId": tenant.workspace_id, "allowedIntegrations": ["demo"]}},
        )
    )["createConnectSession"]
    # As a session stored before sessions refused built-ins could hold them.
    await ConnectSession.filter(id=created["session"]["id"]).update(allowed_integrations=["demo", "datetime"])
    page = await tenant.http.get("/connect", params={"token": created["token"]})
    assert [row["name"] for row in page_data(page.text)["integrations"]] == ["demo"]
    body = await tenant.graphql(SELECT, {"name": "datetime"}, key=created["token"])
    assert field_errors(body)[0]["field"] == "input.integrationName"
