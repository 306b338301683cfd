"""Origins, URLs and colors a client sends."""

import pytest

from server.validation import check_color, check_http_url, check_origin, normalize_color


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/x",
        "http://localhost:3000",
        "http://127.0.0.1:8000/cb",
        "http://[::1]:8080/hook",
        "https://[2001:db8::1]/",
    ],
)
def test_http_urls_with_names_and_addresses_are_accepted(url):
    assert check_http_url("input.url", url) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "https://",
        "https://exa mple.com",
        "http://example.com:99999",
        "javascript:alert(1)",
    ],
)
def test_other_urls_are_refused_naming_the_field(url):
    problem = check_http_url("input.url", url)
    assert problem is not None and problem.field == "input.url"


def test_an_ipv6_origin_is_an_origin():
    assert check_origin("o", "http://[::1]:3000") is None
    assert check_origin("o", "http://[::1]:3000/path") is not None


def test_colors_are_normalized():
    assert check_color("c", "#ABC") is None and normalize_color("#ABC") == "#aabbcc"
    assert check_color("c", "blue") is not None
