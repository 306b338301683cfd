import hashlib
import hmac
import time


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """True when Weir signed this request (raw body bytes) with `secret`, recently."""
    timestamp = headers["weir-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old: a captured request being replayed
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    values = [part.strip() for part in headers["weir-signature"].split(",")]
    given = [value[3:] for value in values if value.startswith("v1=")]
    return any(hmac.compare_digest(expected, value) for value in given)
