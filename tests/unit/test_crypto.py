import os
import stat

import pytest

from server.config import ConfigError, Secret, Settings
from server.crypto import DecryptionError, generate_key_spec, load_key_ring, parse_key_ring


def test_a_ciphertext_names_its_key_and_round_trips():
    ring = parse_key_ring(generate_key_spec("k2") + "," + generate_key_spec("k1"))
    token = ring.encrypt(b"sk_live_123", associated_data="conn_1")
    assert token.startswith("v1.k2.")
    assert b"sk_live_123" not in token.encode()
    assert ring.decrypt(token, associated_data="conn_1") == b"sk_live_123"


def test_a_ciphertext_moved_to_another_row_does_not_decrypt():
    ring = parse_key_ring(generate_key_spec())
    token = ring.encrypt(b"secret", associated_data="conn_1")
    with pytest.raises(DecryptionError):
        ring.decrypt(token, associated_data="conn_2")


def test_older_keys_still_decrypt_and_a_missing_key_is_an_error():
    old = parse_key_ring(generate_key_spec("old"))
    token = old.encrypt(b"secret", associated_data="row")
    new_spec = generate_key_spec("new")
    rotated = parse_key_ring(new_spec + "," + generate_key_spec("old").split(":")[0] + ":" + "A" * 43 + "=")
    with pytest.raises(DecryptionError, match="wrong key"):
        rotated.decrypt(token, associated_data="row")
    with pytest.raises(DecryptionError, match="not in WEIR_ENCRYPTION_KEYS"):
        parse_key_ring(new_spec).decrypt(token, associated_data="row")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nocolon", "entry 1 must look like"),
        ("k1:" + "A" * 10, "must be 32 bytes"),
        ("bad id!:" + "A" * 43 + "=", "key id 'bad id!'"),
        ("k1:!!!!", "not valid base64"),
        ("", "no key given"),
    ],
)
def test_a_malformed_key_ring_names_the_variable(spec, message):
    with pytest.raises(ConfigError, match=message) as raised:
        parse_key_ring(spec)
    assert str(raised.value).startswith("WEIR_ENCRYPTION_KEYS:")


def test_the_embedded_default_generates_a_private_key_file_once(tmp_path, caplog):
    settings = Settings(data_dir=tmp_path)
    ring = load_key_ring(settings)
    key_file = tmp_path / "encryption.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "production must set WEIR_ENCRYPTION_KEYS" in caplog.text
    again = load_key_ring(settings)
    token = ring.encrypt(b"x", associated_data="a")
    assert again.decrypt(token, associated_data="a") == b"x"


def test_an_external_database_requires_explicit_keys(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgres://u@h/db")
    with pytest.raises(ConfigError, match="^WEIR_ENCRYPTION_KEYS: required"):
        load_key_ring(settings)
    explicit = settings.replace(encryption_keys=Secret(generate_key_spec()))
    assert load_key_ring(explicit).primary_key_id == "k1"
