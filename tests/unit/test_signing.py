"""Short-lived signed values (``KeyRing.sign``/``verify``): per purpose, and across a rotation."""

from server.crypto import generate_key_spec, parse_key_ring


def test_a_tag_verifies_for_its_message_and_purpose_only():
    ring = parse_key_ring(generate_key_spec())
    tag = ring.sign("state-1", purpose="oauth-browser-binding")
    assert ring.verify("state-1", tag, purpose="oauth-browser-binding")
    assert not ring.verify("state-2", tag, purpose="oauth-browser-binding")
    assert not ring.verify("state-1", tag, purpose="something-else")
    assert not ring.verify(
        "state-1", tag[:-1] + ("A" if tag[-1] != "A" else "B"), purpose="oauth-browser-binding"
    )
    assert not ring.verify("state-1", "", purpose="oauth-browser-binding")
    assert not ring.verify("state-1", "ünïcode", purpose="oauth-browser-binding")


def test_a_tag_is_not_the_encryption_key_and_survives_a_rotation():
    old_spec = generate_key_spec("old")
    old = parse_key_ring(old_spec)
    tag = old.sign("state", purpose="p")
    assert old_spec.split(":", 1)[1] not in tag
    rotated = parse_key_ring(generate_key_spec("new") + "," + old_spec)
    assert rotated.verify("state", tag, purpose="p")  # signed just before the rotation
    assert rotated.sign("state", purpose="p") != tag  # the newest key signs
    other = parse_key_ring(generate_key_spec("old"))
    assert not other.verify("state", tag, purpose="p")  # same key id, another key
