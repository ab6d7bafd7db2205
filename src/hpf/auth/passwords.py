"""Passwords (登录密码): argon2id hashing and the password rules.

Rules: at least 8 characters, containing both letters and digits. Hashes are argon2id in PHC
string format (argon2-cffi's defaults); ``needs_rehash`` tells when the parameters have moved on.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hpf.auth.errors import WeakPassword

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHasher()


def check_rules(password: str) -> None:
    """Raise WeakPassword naming the rule a new password breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"密码至少 {MIN_LENGTH} 位", f"a password needs at least {MIN_LENGTH} characters"
        )
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            f"密码不能超过 {MAX_LENGTH} 位", f"a password has at most {MAX_LENGTH} characters"
        )
    if not any(c.isascii() and c.isalpha() for c in password) or not any(
        c.isdigit() for c in password
    ):
        raise WeakPassword(
            "密码必须同时包含英文字母和数字",
            "a password must contain both letters (a-z) and digits",
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (rules are not checked here; see ``check_rules``)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False on a mismatch or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash of a random string, verified against when the login does not exist so that a
    missing account takes as long to refuse as a wrong password (made on first use: every
    ``hpf`` command imports this module, few sign anyone in)."""
    return _hasher.hash("no-such-account-0")
