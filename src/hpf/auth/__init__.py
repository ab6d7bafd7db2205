"""Identities, permissions and the audit trail (身份认证、权限与审计留痕); see docs/decisions/0002."""
