"""One-time codes (动态口令): TOTP per RFC 6238 over HOTP (RFC 4226), own implementation.

SHA-1, 6 digits, 30-second steps, accepting the previous and next step for clock drift.
Secrets are base32 text as authenticator apps expect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1


def generate_secret() -> str:
    """A new random secret: 20 bytes (160 bits, RFC 4226's recommendation), base32 unpadded."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret_b32: str) -> bytes:
    text = secret_b32.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """The HOTP value of ``counter`` (RFC 4226 §5.3: dynamic truncation)."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def totp_at(secret_b32: str, unix_time: float, digits: int = DIGITS) -> str:
    """The code valid at ``unix_time``."""
    return hotp(_key(secret_b32), int(unix_time) // STEP_SECONDS, digits)


def matching_step(secret_b32: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (counter) whose code is ``code`` — the current step or one either side —
    or None. Sign-in keeps the last step used, so a code cannot be used twice."""
    code = (code or "").strip()
    if len(code) != DIGITS or not code.isdigit():
        return None
    t = time.time() if now is None else now
    key = _key(secret_b32)
    counter = int(t) // STEP_SECONDS
    for d in range(-WINDOW, WINDOW + 1):
        if hmac.compare_digest(hotp(key, counter + d), code):
            return counter + d
    return None


def verify_totp(secret_b32: str, code: str, *, now: float | None = None) -> bool:
    """True when ``code`` matches the current step or one step either side."""
    return matching_step(secret_b32, code, now=now) is not None


def provisioning_uri(secret_b32: str, account: str, issuer: str = "HPF") -> str:
    """The ``otpauth://`` URI an authenticator app scans (Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe=":@")
    params = urlencode(
        {
            "secret": secret_b32,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{params}"
