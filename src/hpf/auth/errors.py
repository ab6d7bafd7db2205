"""Errors of identities and permissions (身份认证与权限错误), each with a Chinese and English message."""

from __future__ import annotations

from hpf.errors import DomainError, InvalidInput


class AuthError(DomainError):
    """Base of every identity and permission error."""

    code = "auth_error"


class AuthenticationFailed(AuthError):
    """Sign-in refused. The message never says whether the login exists (登录失败)."""

    code = "authentication_failed"

    def __init__(self) -> None:
        super().__init__("账号或密码错误", "wrong login or password")


class AccountLocked(AuthError):
    """The account is locked after repeated failures; an administrator must unlock it (账户已锁定)."""

    code = "account_locked"

    def __init__(self) -> None:
        super().__init__(
            "账户因连续登录失败已锁定，请联系系统管理员解锁",
            "the account is locked after repeated failed sign-ins; ask an administrator to unlock it",
        )


class SignInThrottled(AuthError):
    """Too many failed sign-ins from one address in a short time (登录尝试过于频繁).

    Refused before any password is checked, so guessing across many logins from one address is
    slowed without locking the accounts guessed at.
    """

    code = "signin_throttled"

    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"该地址登录失败次数过多，请 {minutes} 分钟后再试",
            f"too many failed sign-ins from this address; try again in {minutes} minutes",
        )
        self.minutes = minutes


class PermissionDenied(AuthError):
    """The principal lacks the permission an action needs (无权限)."""

    code = "permission_denied"

    def __init__(self, permission: str) -> None:
        super().__init__(f"无权限：需要 {permission}", f"permission denied: {permission} required")
        self.permission = permission


class WeakPassword(InvalidInput):
    """A new password breaks the password rules (密码不符合要求)."""

    code = "weak_password"


class DuplicateLogin(AuthError):
    """A login name already taken for the same kind of user (登录名已存在)."""

    code = "duplicate_login"


class UnknownUser(AuthError):
    """No such user (用户不存在)."""

    code = "unknown_user"


class UnknownRole(InvalidInput):
    """A role name not in the permission matrix, or not allowed for the user's kind (角色无效)."""

    code = "unknown_role"
