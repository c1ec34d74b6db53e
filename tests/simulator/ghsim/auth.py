"""Who is calling: App JWTs, installation tokens and static tokens.

GitHub accepts a JWT (RS256, signed with the App's private key) only on the
``/app`` endpoints and ``GET /repos/{o}/{r}/installation``; everything else
needs an installation token (``ghs_…``, one hour, limited to the
installation's repositories and permissions) or a user token.  The bot must
get that exchange right, so the simulator checks it the way GitHub does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import jwt

from ghsim.state import App, Credential, Repository, User

if TYPE_CHECKING:
    from ghsim.simulator import Simulator

MAX_JWT_LIFETIME = 600
JWT_LEEWAY = 60

MSG_BAD_CREDENTIALS = "Bad credentials"
MSG_REQUIRES_AUTH = "Requires authentication"
MSG_JWT_UNDECODABLE = "A JSON web token could not be decoded"
MSG_JWT_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
MSG_JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
    "the assertion expires"
)
MSG_JWT_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
MSG_JWT_ISS = "'Issuer' claim ('iss') must be an Integer"
MSG_INTEGRATION_NOT_FOUND = "Integration not found"
MSG_NOT_ACCESSIBLE_BY_INTEGRATION = "Resource not accessible by integration"
MSG_NOT_ACCESSIBLE_BY_PAT = "Resource not accessible by personal access token"
MSG_CHECKS_NEED_APP = "You must authenticate via a GitHub App."

_LEVELS = {"read": 1, "write": 2, "admin": 3}


class AuthError(Exception):
    """An authentication/authorisation failure with GitHub's status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Identity:
    """The authenticated caller of one request."""

    kind: Literal["jwt", "installation", "pat"]
    user: User | None
    app: App | None
    credential: Credential | None

    @property
    def rate_key(self) -> str:
        """Primary limits are per installation, per user, or per App for JWT calls."""
        if self.kind == "jwt":
            assert self.app is not None
            return f"app:{self.app.id}"
        assert self.credential is not None
        if self.kind == "installation":
            return f"installation:{self.credential.installation_id}"
        return f"user:{self.credential.user.login}"

    @property
    def label(self) -> str:
        if self.kind == "jwt":
            assert self.app is not None
            return f"jwt:{self.app.id}"
        assert self.credential is not None
        if self.kind == "installation":
            return f"installation:{self.credential.installation_id}"
        return f"pat:{self.credential.user.login}"


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


def authenticate(sim: Simulator, header: str | None, now: float) -> Identity | None:
    """Resolve an ``Authorization`` header; None when there is none."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in ("token", "bearer") or not token:
        raise AuthError(401, MSG_BAD_CREDENTIALS)
    credential = sim.credentials.get(token)
    if credential is not None:
        if credential.expires_at is not None and now >= credential.expires_at:
            raise AuthError(401, MSG_BAD_CREDENTIALS)
        if credential.kind == "installation":
            installation = sim.installations.get(credential.installation_id or -1)
            if installation is None:
                raise AuthError(401, MSG_BAD_CREDENTIALS)
            return Identity("installation", credential.user, sim.apps[installation.app_id], credential)
        return Identity("pat", credential.user, None, credential)
    if _looks_like_jwt(token):
        return Identity("jwt", None, verify_jwt(sim, token, now), None)
    raise AuthError(401, MSG_BAD_CREDENTIALS)


def verify_jwt(sim: Simulator, token: str, now: float) -> App:
    """Check an App JWT: RS256 signature, ``iss`` (app id or client id), iat/exp window."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(401, MSG_JWT_UNDECODABLE) from exc
    if header.get("alg") != "RS256":
        raise AuthError(401, MSG_JWT_UNDECODABLE)
    app = _app_for_issuer(sim, unverified.get("iss"))
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(401, MSG_JWT_UNDECODABLE) from exc
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or iat > now + JWT_LEEWAY:
        raise AuthError(401, MSG_JWT_IAT)
    if not isinstance(exp, int) or exp <= now:
        raise AuthError(401, MSG_JWT_EXPIRED)
    if exp - now > MAX_JWT_LIFETIME + JWT_LEEWAY or exp - iat > MAX_JWT_LIFETIME + JWT_LEEWAY:
        raise AuthError(401, MSG_JWT_EXP_TOO_FAR)
    return app


def _app_for_issuer(sim: Simulator, iss: object) -> App:
    if isinstance(iss, int) or (isinstance(iss, str) and iss.isdigit()):
        app = sim.apps.get(int(iss))
        if app is None:
            raise AuthError(401, MSG_INTEGRATION_NOT_FOUND)
        return app
    if isinstance(iss, str):
        for app in sim.apps.values():
            if app.client_id == iss:
                return app
        raise AuthError(401, MSG_INTEGRATION_NOT_FOUND)
    raise AuthError(401, MSG_JWT_ISS)


def can_see(sim: Simulator, identity: Identity, repo: Repository) -> bool:
    """Whether the caller may see ``repo`` at all (otherwise GitHub answers 404)."""
    credential = identity.credential
    if credential is None:
        return False
    if credential.repositories is not None:
        return repo.full_name in credential.repositories
    if credential.kind == "installation":
        installation = sim.installations[credential.installation_id or -1]
        if installation.repositories is not None:
            return repo.full_name in installation.repositories
        return repo.owner.login == installation.account.login
    return True


def check_permission(identity: Identity, permission: str, level: str) -> None:
    """Raise 403 unless the caller holds ``permission`` at ``level`` or above."""
    credential = identity.credential
    if credential is None:
        raise AuthError(403, MSG_NOT_ACCESSIBLE_BY_INTEGRATION)
    if permission == "checks" and level == "write" and credential.kind == "pat" and not credential.can_create_checks:
        raise AuthError(403, MSG_CHECKS_NEED_APP)
    if credential.permissions is None or permission == "metadata":
        return
    granted = _LEVELS.get(credential.permissions.get(permission, ""), 0)
    if granted < _LEVELS[level]:
        message = MSG_NOT_ACCESSIBLE_BY_INTEGRATION if credential.kind == "installation" else MSG_NOT_ACCESSIBLE_BY_PAT
        raise AuthError(403, message)


def narrow_permissions(granted: dict[str, str], requested: dict[str, str] | None) -> dict[str, str] | None:
    """Permissions for a new installation token; None when more was asked than granted."""
    if not requested:
        return dict(granted)
    result: dict[str, str] = {}
    for name, level in requested.items():
        if _LEVELS.get(granted.get(name, ""), 0) < _LEVELS.get(level, 99):
            return None
        result[name] = level
    result.setdefault("metadata", "read")
    return result
