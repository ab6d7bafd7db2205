"""Operations (运维): incidents, security events, backups and data exchange."""
