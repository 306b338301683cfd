"""``/logos/<name>.svg``: every catalog integration has a safe SVG logo, served locked down."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest

from server.connectors.registry import CONNECTORS
from server.web.logos import LOGO_DIR

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# Elements that run script, embed another document or load a resource of their own.
FORBIDDEN_ELEMENTS = {
    "script",
    "foreignObject",
    "iframe",
    "object",
    "embed",
    "audio",
    "video",
    "image",
    "feImage",
}
# Any url(...) or @import in an attribute or a stylesheet, except a reference inside the file.
EXTERNAL_URL = re.compile(r"url\(\s*['\"]?(?!#)|@import", re.IGNORECASE)


def problems_of(text: str) -> list[str]:
    """What makes an SVG document unfit as a logo: script, handlers, references outside it."""
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        return ["has a DOCTYPE or an entity"]  # entities can pull in other files
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        return [f"is not well-formed XML: {error}"]
    found = [] if root.tag == f"{SVG}svg" else [f"root element is {root.tag}, not svg"]
    for node in root.iter():
        tag = node.tag.split("}")[-1] if isinstance(node.tag, str) else str(node.tag)
        if tag in FORBIDDEN_ELEMENTS:
            found.append(f"has a <{tag}> element")
        for name, value in node.attrib.items():
            local = name.split("}")[-1]
            if local.lower().startswith("on"):
                found.append(f"<{tag}> has the event handler attribute {local}")
            if (name == XLINK_HREF or local == "href") and not value.startswith("#"):
                found.append(f"<{tag}> refers to {value!r}")
            if EXTERNAL_URL.search(value):
                found.append(f"<{tag} {local}> loads {value!r}")
        if tag == "style" and EXTERNAL_URL.search(node.text or ""):
            found.append("<style> loads another resource")
    return found


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_every_catalog_integration_has_a_safe_svg_logo(name):
    path = LOGO_DIR / f"{name}.svg"
    assert path.is_file(), f"{name} has no logo: add server/connectors/logos/{name}.svg"
    assert problems_of(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "svg",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect onClick="x()"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        '<use x:href="https://evil.example/a.svg#b"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><use href="other.svg#b"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: url(https://evil.example/p)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://evil.example/a.css";</style></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"/>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>',
        "<html><body/></html>",
    ],
)
def test_the_logo_check_catches_what_it_is_for(svg):
    assert problems_of(svg)


def test_the_logo_check_accepts_references_inside_the_file():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"/></defs>'
        '<rect fill="url(#g)"/><use href="#g"/></svg>'
    )
    assert problems_of(svg) == []


@pytest.mark.parametrize("path", sorted(LOGO_DIR.glob("*.svg")), ids=lambda path: path.name)
async def test_every_logo_file_is_served_with_strict_headers(client, path):
    response = await client.get(f"/logos/{path.name}")
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"


@pytest.mark.parametrize(
    "url",
    [
        "/logos/nope.svg",
        "/logos/GitHub.svg",
        "/logos/git-hub.svg",
        "/logos/github.svg.svg",
        "/logos/..%2Fconnector.schema.json%00.svg",
        "/logos/%2e%2e.svg",
        "/logos/.svg",
        "/logos/github",
        "/logos/github.png",
    ],
)
async def test_anything_but_a_logo_name_is_not_found(client, url):
    response = await client.get(url)
    assert response.status_code == 404
    assert not response.headers["content-type"].startswith("image/")
