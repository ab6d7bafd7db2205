"""Password hashing and rules; TOTP against the RFC 6238 test vectors."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from hpf.auth import passwords, totp
from hpf.auth.errors import WeakPassword

# RFC 6238 Appendix B, SHA-1, secret "12345678901234567890", 8 digits
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of b"12345678901234567890"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def test_hash_and_verify() -> None:
    h = passwords.hash_password("Abcdefg1")
    assert h.startswith("$argon2id$")
    assert passwords.verify_password(h, "Abcdefg1")
    assert not passwords.verify_password(h, "Abcdefg2")
    assert not passwords.verify_password("not-a-hash", "Abcdefg1")
    assert not passwords.needs_rehash(h)


def test_weaker_hash_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash("Abcdefg1")
    assert passwords.verify_password(weak, "Abcdefg1")
    assert passwords.needs_rehash(weak)


@pytest.mark.parametrize("bad", ["Ab1", "abcdefgh", "12345678", "密码密码密码密码1"])
def test_password_rules(bad: str) -> None:
    with pytest.raises(WeakPassword) as exc:
        passwords.check_rules(bad)
    assert exc.value.message_zh and exc.value.message_en


def test_password_rules_accept() -> None:
    passwords.check_rules("Demo2023!")
    passwords.check_rules("abcdefg1")


@pytest.mark.parametrize(("t", "expected"), RFC_VECTORS)
def test_rfc6238_vectors(t: int, expected: str) -> None:
    assert totp.totp_at(RFC_SECRET, t, digits=8) == expected
    assert totp.totp_at(RFC_SECRET, t) == expected[-6:]


def test_verify_accepts_one_step_either_side() -> None:
    t = 1111111111
    code = totp.totp_at(RFC_SECRET, t)
    assert totp.verify_totp(RFC_SECRET, code, now=t)
    assert totp.verify_totp(RFC_SECRET, code, now=t + 30)
    assert totp.verify_totp(RFC_SECRET, code, now=t - 30)
    assert not totp.verify_totp(RFC_SECRET, code, now=t + 90)
    assert not totp.verify_totp(RFC_SECRET, "12345", now=t)
    assert not totp.verify_totp(RFC_SECRET, "abcdef", now=t)


def test_secret_and_uri() -> None:
    secret = totp.generate_secret()
    assert len(secret) == 32
    uri = totp.provisioning_uri(secret, "clerk")
    assert uri.startswith("otpauth://totp/HPF:clerk?")
    assert f"secret={secret}" in uri
    assert "digits=6" in uri and "period=30" in uri
