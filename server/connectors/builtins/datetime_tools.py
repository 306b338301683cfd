"""Date and time, no account needed: the current time, formatting, calendar arithmetic,
differences, time-zone conversion and parsing. A built-in (see ``builtins/__init__.py``).

Time zones are IANA names (``Europe/Paris``) read with ``zoneinfo`` from the ``tzdata`` package,
``UTC``, or fixed offsets (``+05:30``). A date-time input is ISO 8601 (``parse`` reads other
forms); without an offset it is read in the action's ``timezone`` (UTC when there is none).

Calendar parts (years, months, weeks, days) move the wall clock of the time zone, so a day
across a daylight-saving change lasts 23 or 25 hours and January 31 plus a month is the last day
of February; hours, minutes and seconds are elapsed time. A wall-clock time that a change skips
(02:30 on a spring-forward night) moves forward by the gap; one that occurs twice is the first.

Formats are named (``ISO_8601``, ``RFC_2822``, ...) or a pattern of day.js-style tokens
(``YYYY-MM-DD HH:mm``, literal text in ``[brackets]``), never ``strftime``: its output depends on
the server's locale and platform, and its directives are not validated.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from calendar import monthrange
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from server.connectors.base import ActionInputError, ActionSpec, ConnectorContext, ConnectorSpec
from server.connectors.schemas import form

MAX_YEARS = 9000  # years, months, ... a result must stay within years 1 to 9999 anyway
UNITS_IN_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}
CALENDAR_UNITS = ("days", "weeks", "months", "years")
NAMED_FORMATS = (
    "ISO_8601",
    "ISO_DATE",
    "ISO_TIME",
    "RFC_2822",
    "HTTP_DATE",
    "UNIX_SECONDS",
    "UNIX_MILLISECONDS",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# -- schemas ---------------------------------------------------------------------------------

TIMEZONE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": r"^[A-Za-z0-9_+\-/:]+$",
    "description": "An IANA time zone (`Europe/Paris`), `UTC`, or an offset such as `+05:30`.",
}
DATETIME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "ISO 8601, e.g. `2024-03-10T09:30:00+01:00`; without an offset it is read in "
    "`timezone` (UTC by default).",
}
FORMAT = {
    "type": "string",
    "enum": list(NAMED_FORMATS),
    "description": "A named format (default `ISO_8601`); give this or `pattern`.",
}
PATTERN = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "description": "Tokens YYYY YY MMMM MMM MM M DD D dddd ddd d HH H hh h mm m ss s SSS A a Z ZZ z "
    "X x; other text is kept, and text in [brackets] is never read as tokens.",
}
MOMENT = form(
    {
        "datetime": {"type": "string", "description": "ISO 8601 with its offset."},
        "timezone": {"type": "string", "description": "The time zone it is expressed in."},
        "utc_offset": {"type": "string", "description": "Its offset from UTC, e.g. `-05:00`."},
        "abbreviation": {"type": "string", "description": "The zone's abbreviation then, e.g. `EST`."},
        "is_dst": {"type": "boolean", "description": "Whether daylight-saving time applies then."},
        "unix_seconds": {"type": "number", "description": "Seconds since 1970-01-01T00:00:00Z."},
    },
    required=["datetime", "timezone", "utc_offset", "abbreviation", "is_dst", "unix_seconds"],
)
FORMATTED = form({"formatted": {"type": "string"}}, required=["formatted"])


PARTS = {
    "years": {"type": "integer", "minimum": -MAX_YEARS, "maximum": MAX_YEARS},
    "months": {"type": "integer", "minimum": -MAX_YEARS * 12, "maximum": MAX_YEARS * 12},
    "weeks": {"type": "integer", "minimum": -MAX_YEARS * 53, "maximum": MAX_YEARS * 53},
    "days": {"type": "integer", "minimum": -MAX_YEARS * 366, "maximum": MAX_YEARS * 366},
    "hours": {"type": "integer", "minimum": -MAX_YEARS * 366 * 24, "maximum": MAX_YEARS * 366 * 24},
    "minutes": {"type": "integer", "minimum": -MAX_YEARS * 366 * 1440, "maximum": MAX_YEARS * 366 * 1440},
    "seconds": {"type": "integer", "minimum": -MAX_YEARS * 366 * 86400, "maximum": MAX_YEARS * 366 * 86400},
}

SPEC = ConnectorSpec(
    name="datetime",
    display_name="Date and time",
    category="DEVELOPER_TOOLS",
    auth_types=("NONE",),
    requires_connection=False,
    description="The current time, formatting, date arithmetic, differences, time zones and "
    "parsing. Built in: no connection needed.",
    actions=(
        ActionSpec(
            name="now",
            display_name="Current date and time",
            description="The current date and time in a time zone (UTC by default), also formatted.",
            input_schema=form({"timezone": TIMEZONE, "format": FORMAT, "pattern": PATTERN}),
            output_schema=form(
                {**MOMENT["properties"], "formatted": {"type": "string"}},
                required=[*MOMENT["required"], "formatted"],
            ),
            read_only=True,
        ),
        ActionSpec(
            name="format",
            display_name="Format a date",
            description="A date-time written in a named format or a pattern, in a time zone "
            "(its own offset by default).",
            input_schema=form(
                {"datetime": DATETIME, "timezone": TIMEZONE, "format": FORMAT, "pattern": PATTERN},
                required=["datetime"],
            ),
            output_schema=FORMATTED,
            read_only=True,
        ),
        ActionSpec(
            name="add",
            display_name="Add to a date",
            description="A date-time moved by calendar parts (years, months, weeks, days, on the "
            "wall clock of `timezone`) and elapsed time (hours, minutes, seconds); negative "
            "values go back.",
            input_schema=form({"datetime": DATETIME, "timezone": TIMEZONE, **PARTS}, required=["datetime"]),
            output_schema=MOMENT,
            read_only=True,
        ),
        ActionSpec(
            name="difference",
            display_name="Difference between dates",
            description="Whole units from `start` to `end` (negative when `end` is earlier), "
            "truncated toward zero: elapsed seconds, minutes or hours, or calendar days, weeks, "
            "months or years on the wall clock of `timezone`.",
            input_schema=form(
                {
                    "start": DATETIME,
                    "end": DATETIME,
                    "unit": {"type": "string", "enum": [*UNITS_IN_SECONDS, *CALENDAR_UNITS]},
                    "timezone": TIMEZONE,
                },
                required=["start", "end", "unit"],
            ),
            output_schema=form(
                {
                    "value": {"type": "integer", "description": "Whole units, truncated toward zero."},
                    "unit": {"type": "string"},
                    "total_seconds": {"type": "number", "description": "Elapsed seconds."},
                },
                required=["value", "unit", "total_seconds"],
            ),
            read_only=True,
        ),
        ActionSpec(
            name="convert_timezone",
            display_name="Convert a time zone",
            description="The same instant in another time zone.",
            input_schema=form(
                {
                    "datetime": DATETIME,
                    "timezone": {**TIMEZONE, "description": "The time zone to convert to."},
                    "from_timezone": {
                        **TIMEZONE,
                        "description": "The time zone of a `datetime` without an offset (default UTC).",
                    },
                },
                required=["datetime", "timezone"],
            ),
            output_schema=MOMENT,
            read_only=True,
        ),
        ActionSpec(
            name="parse",
            display_name="Parse a date",
            description="A date-time read from text: ISO 8601, RFC 2822 (`Sun, 10 Mar 2024 "
            "09:30:00 +0100`), Unix seconds or milliseconds, `03/10/2024`, `2024/03/10`, "
            "`March 10, 2024 9:30 PM`, `10 Mar 2024 21:30`, each with an optional time and offset.",
            input_schema=form(
                {
                    "text": {"type": "string", "minLength": 1, "maxLength": 100},
                    "timezone": {
                        **TIMEZONE,
                        "description": "The time zone of text without an offset, and of the result "
                        "(default: the text's own offset, else UTC).",
                    },
                    "day_first": {
                        "type": "boolean",
                        "default": False,
                        "description": "Read `03/10/2024` as 3 October (default: March 10).",
                    },
                },
                required=["text"],
            ),
            output_schema=MOMENT,
            read_only=True,
        ),
    ),
)

# -- time zones and moments ------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})")


@functools.cache
def _zone_names() -> frozenset[str]:
    # Checked against the list rather than trusting ZoneInfo(name): a name is a file path there.
    return frozenset(zoneinfo.available_timezones())


def _zone(field: str, name: str) -> tzinfo:
    if name in ("UTC", "Z", "GMT"):
        return UTC
    match = OFFSET.fullmatch(name)
    if match:
        sign, hours, minutes = match.groups()
        if int(hours) <= 23 and int(minutes) <= 59:
            offset = timedelta(hours=int(hours), minutes=int(minutes))
            return timezone(-offset if sign == "-" else offset)
    elif name in _zone_names():
        return zoneinfo.ZoneInfo(name)
    shown = name if len(name) <= 64 else name[:64] + "..."
    raise ActionInputError(
        field,
        f"{shown!r} is not a time zone; use an IANA name such as Europe/Paris, or an offset such as +05:30",
    )


def _optional_zone(field: str, input: dict[str, Any]) -> tzinfo | None:
    name = input.get(field)
    return None if name is None else _zone(field, name)


def _zone_label(zone: tzinfo | None, moment: datetime) -> str:
    if isinstance(zone, zoneinfo.ZoneInfo):
        return zone.key
    offset = moment.utcoffset()
    return "UTC" if not offset else _offset(moment, colon=True)


def _offset(moment: datetime, *, colon: bool) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}{':' if colon else ''}{minutes % 60:02d}"


def _localize(naive: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in ``zone``: a skipped one moves forward by the gap, a repeated one is
    the first (fold 0 gives the earlier offset; the round trip through UTC normalizes a gap)."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _in_zone(field: str, moment: datetime, zone: tzinfo) -> datetime:
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        raise ActionInputError(field, "is too close to year 1 or 9999 for this time zone") from None


def _read(field: str, text: str, zone: tzinfo | None) -> datetime:
    """An ISO 8601 input; without an offset, read in ``zone`` (else UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ActionInputError(
            field, "is not an ISO 8601 date-time such as 2024-03-10T09:30:00+01:00 (parse reads other forms)"
        ) from None
    if moment.tzinfo is None:
        try:
            return _localize(moment, zone or UTC)
        except (OverflowError, ValueError):
            raise ActionInputError(field, "is too close to year 1 or 9999 for this time zone") from None
    return moment


def _unix(moment: datetime) -> int | float:
    seconds = moment.timestamp()
    return int(seconds) if moment.microsecond == 0 else seconds


def _describe(moment: datetime, zone: tzinfo | None) -> dict[str, Any]:
    return {
        "datetime": moment.isoformat(),
        "timezone": _zone_label(zone if zone is not None else moment.tzinfo, moment),
        "utc_offset": _offset(moment, colon=True),
        "abbreviation": moment.tzname() or _offset(moment, colon=True),
        "is_dst": bool(moment.dst()),
        "unix_seconds": _unix(moment),
    }


# -- formatting ------------------------------------------------------------------------------

TOKEN = re.compile(
    r"\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|d|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z|z|X|x"
)


def _token(moment: datetime, token: str) -> str:
    hour12 = moment.hour % 12 or 12
    values = {
        "YYYY": f"{moment.year:04d}",
        "YY": f"{moment.year % 100:02d}",
        "MMMM": MONTHS[moment.month - 1],
        "MMM": MONTHS[moment.month - 1][:3],
        "MM": f"{moment.month:02d}",
        "M": str(moment.month),
        "DD": f"{moment.day:02d}",
        "D": str(moment.day),
        "dddd": WEEKDAYS[moment.weekday()],
        "ddd": WEEKDAYS[moment.weekday()][:3],
        "d": str(moment.isoweekday() % 7),  # Sunday is 0, as in day.js
        "HH": f"{moment.hour:02d}",
        "H": str(moment.hour),
        "hh": f"{hour12:02d}",
        "h": str(hour12),
        "mm": f"{moment.minute:02d}",
        "m": str(moment.minute),
        "ss": f"{moment.second:02d}",
        "s": str(moment.second),
        "SSS": f"{moment.microsecond // 1000:03d}",
        "A": "AM" if moment.hour < 12 else "PM",
        "a": "am" if moment.hour < 12 else "pm",
        "Z": _offset(moment, colon=True),
        "ZZ": _offset(moment, colon=False),
        "z": moment.tzname() or _offset(moment, colon=True),
        "X": str(int(moment.timestamp() // 1)),
        "x": str(int(moment.timestamp() * 1000 // 1)),
    }
    return values[token]


def format_pattern(moment: datetime, pattern: str) -> str:
    def replace(match: re.Match[str]) -> str:
        literal = match.group(1)
        return literal if literal is not None else _token(moment, match.group(0))

    return TOKEN.sub(replace, pattern)


def format_named(moment: datetime, name: str) -> str:
    if name == "ISO_8601":
        return moment.isoformat()
    if name == "ISO_DATE":
        return moment.date().isoformat()
    if name == "ISO_TIME":
        return moment.time().isoformat()
    if name == "RFC_2822":
        return format_datetime(moment)
    if name == "HTTP_DATE":
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    if name == "UNIX_SECONDS":
        return str(int(moment.timestamp() // 1))
    if name == "UNIX_MILLISECONDS":
        return str(int(moment.timestamp() * 1000 // 1))
    raise ActionInputError("format", f"must be one of {', '.join(NAMED_FORMATS)}")


def _formatted(moment: datetime, input: dict[str, Any]) -> str:
    if input.get("format") is not None and input.get("pattern") is not None:
        raise ActionInputError("pattern", "give format or pattern, not both")
    if input.get("pattern") is not None:
        return format_pattern(moment, input["pattern"])
    return format_named(moment, input.get("format") or "ISO_8601")


# -- arithmetic ------------------------------------------------------------------------------


def add_months(wall: datetime, months: int) -> datetime:
    """``wall`` moved by calendar months; a day the target month lacks becomes its last day."""
    index = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    return wall.replace(year=year, month=month + 1, day=min(wall.day, monthrange(year, month + 1)[1]))


def _add(input: dict[str, Any]) -> dict[str, Any]:
    zone = _optional_zone("timezone", input)
    moment = _read("datetime", input["datetime"], zone)
    if zone is not None:
        moment = _in_zone("datetime", moment, zone)
    zone = moment.tzinfo
    assert zone is not None
    try:
        wall = moment.replace(tzinfo=None)
        wall = add_months(wall, input.get("years", 0) * 12 + input.get("months", 0))
        wall = wall + timedelta(weeks=input.get("weeks", 0), days=input.get("days", 0))
        moment = _localize(wall, zone)
        elapsed = timedelta(
            hours=input.get("hours", 0), minutes=input.get("minutes", 0), seconds=input.get("seconds", 0)
        )
        moment = (moment.astimezone(UTC) + elapsed).astimezone(zone)
    except (OverflowError, ValueError):
        raise ActionInputError("datetime", "the result would fall outside the years 1 to 9999") from None
    return _describe(moment, zone)


def _truncated(amount: int, unit: int) -> int:
    """Whole ``unit``s in ``amount``, toward zero (``//`` rounds toward minus infinity)."""
    whole = abs(amount) // unit
    return whole if amount >= 0 else -whole


def _difference(input: dict[str, Any]) -> dict[str, Any]:
    zone = _optional_zone("timezone", input)
    start = _read("start", input["start"], zone)
    end = _read("end", input["end"], zone)
    unit = input["unit"]
    # In UTC: Python subtracts two times of the same zone object by their wall clocks, which
    # would make the 23-hour day of a spring-forward night 24 hours long.
    elapsed = end.astimezone(UTC) - start.astimezone(UTC)
    total = elapsed.total_seconds()
    if unit in UNITS_IN_SECONDS:
        value = _truncated(elapsed // timedelta(microseconds=1), UNITS_IN_SECONDS[unit] * 1_000_000)
    else:
        # Calendar units count on one wall clock: the given zone, else the start's own offset.
        clock = zone or start.tzinfo
        assert clock is not None
        first = _in_zone("start", start, clock).replace(tzinfo=None)
        last = _in_zone("end", end, clock).replace(tzinfo=None)
        if unit in ("days", "weeks"):
            days = 1 if unit == "days" else 7
            value = _truncated((last - first) // timedelta(microseconds=1), days * 86_400_000_000)
        else:
            months = (last.year - first.year) * 12 + last.month - first.month
            # Whole months only: step back one when the last month is not complete.
            if months > 0 and add_months(first, months) > last:
                months -= 1
            elif months < 0 and add_months(first, months) < last:
                months += 1
            value = months if unit == "months" else int(months / 12)
    return {"value": value, "unit": unit, "total_seconds": int(total) if total == int(total) else total}


def _convert(input: dict[str, Any]) -> dict[str, Any]:
    target = _zone("timezone", input["timezone"])
    moment = _read("datetime", input["datetime"], _optional_zone("from_timezone", input))
    return _describe(_in_zone("datetime", moment, target), target)


# -- parsing ---------------------------------------------------------------------------------

_MONTH_NAMES = (
    {name.lower(): index for index, name in enumerate(MONTHS, 1)}
    | {name[:3].lower(): index for index, name in enumerate(MONTHS, 1)}
    | {"sept": 9}
)
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+)?"
_TIME = (
    r"(?:(?:\s*,\s*|\s+at\s+|\s+|T)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"\s*(?P<meridiem>[ap]\.?m\.?)?)?"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
_NUMERIC = re.compile(r"(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<year>\d{4})" + _TIME, re.IGNORECASE)
_YEAR_FIRST = re.compile(r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})" + _TIME, re.IGNORECASE)
_MONTH_FIRST = re.compile(
    _WEEKDAY
    + r"(?P<month_name>[a-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
    + _TIME,
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(
    _WEEKDAY
    + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month_name>[a-z]{3,9})\.?,?\s+(?P<year>\d{4})"
    + _TIME,
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\d{1,14}(?:\.\d{1,6})?")


def _from_match(match: re.Match[str], year: int, month: int, day: int, zone: tzinfo | None) -> datetime:
    hour = int(match.group("hour") or 0)
    meridiem = (match.group("meridiem") or "").replace(".", "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError("hour out of range for AM/PM")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    fraction = (match.group("fraction") or "").ljust(6, "0")
    wall = datetime(
        year,
        month,
        day,
        hour,
        int(match.group("minute") or 0),
        int(match.group("second") or 0),
        int(fraction or 0),
    )
    written = match.group("zone")
    if written:
        return wall.replace(tzinfo=_zone("text", written.upper()))
    return _localize(wall, zone or UTC)


def parse_text(text: str, zone: tzinfo | None, *, day_first: bool = False) -> datetime:
    """A date-time from text in one of the forms ``parse`` documents; ``ValueError`` otherwise."""
    text = " ".join(text.split())
    # Digits are Unix time, except eight of them: a basic ISO 8601 date (20240310).
    if _NUMBER.fullmatch(text) and not (len(text) == 8 and text.isdigit()):
        number = Decimal(text)  # exact: a float would turn .999 into .998993
        # Unix seconds reach 1e11 only in the year 5138: anything larger is milliseconds.
        seconds = number / 1000 if abs(number) >= 100_000_000_000 else number
        return EPOCH + timedelta(microseconds=int(seconds * 1_000_000))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return moment if moment.tzinfo is not None else _localize(moment, zone or UTC)
    match = _NUMERIC.fullmatch(text)
    if match:
        first, second = int(match.group("a")), int(match.group("b"))
        month, day = (second, first) if day_first else (first, second)
        if month > 12 and day <= 12:  # only one reading is a date
            month, day = day, month
        return _from_match(match, int(match.group("year")), month, day, zone)
    match = _YEAR_FIRST.fullmatch(text)
    if match:
        return _from_match(
            match, int(match.group("year")), int(match.group("month")), int(match.group("day")), zone
        )
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        match = pattern.fullmatch(text)
        if match and match.group("month_name").lower() in _MONTH_NAMES:
            month = _MONTH_NAMES[match.group("month_name").lower()]
            return _from_match(match, int(match.group("year")), month, int(match.group("day")), zone)
    try:
        moment = parsedate_to_datetime(text)  # RFC 2822, with its obsolete forms
    except (TypeError, ValueError, IndexError):
        raise ValueError("not a date-time in a known form") from None
    return moment if moment.tzinfo is not None else _localize(moment, zone or UTC)


def _parse(input: dict[str, Any]) -> dict[str, Any]:
    zone = _optional_zone("timezone", input)
    try:
        moment = parse_text(input["text"], zone, day_first=bool(input.get("day_first")))
    except ActionInputError:
        raise
    except (ValueError, OverflowError, OSError):
        raise ActionInputError(
            "text",
            "is not a date-time this action reads (ISO 8601, RFC 2822, Unix time, 03/10/2024, "
            "March 10, 2024, ...)",
        ) from None
    if zone is not None:
        moment = _in_zone("text", moment, zone)
    return _describe(moment, zone)


# -- actions ---------------------------------------------------------------------------------


def _now(input: dict[str, Any]) -> dict[str, Any]:
    zone = _optional_zone("timezone", input) or UTC
    moment = datetime.now(UTC).astimezone(zone)
    return {**_describe(moment, zone), "formatted": _formatted(moment, input)}


def _format(input: dict[str, Any]) -> dict[str, Any]:
    zone = _optional_zone("timezone", input)
    moment = _read("datetime", input["datetime"], zone)
    if zone is not None:
        moment = _in_zone("datetime", moment, zone)
    try:
        return {"formatted": _formatted(moment, input)}
    except ActionInputError:
        raise
    except (OverflowError, ValueError):
        raise ActionInputError("datetime", "cannot be written in this format") from None


ACTIONS = {
    "now": _now,
    "format": _format,
    "add": _add,
    "difference": _difference,
    "convert_timezone": _convert,
    "parse": _parse,
}


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """The output of ``action`` (its input already checked against the action's schema)."""
    run = ACTIONS.get(action)
    if run is None:  # executeAction only calls actions of the SPEC
        raise LookupError(f"datetime has no action {action[:64]!r}")
    return run(input)
