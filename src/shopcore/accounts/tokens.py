"""Access and refresh tokens: pyramid_jwt makes and reads them; each carries a `jti` and a `type`."""
from __future__ import annotations

import uuid


def issue_token_pair(request, user_id: int) -> dict[str, str]:
    settings = request.registry.settings
    codec = request.registry["shopcore.token_codec"]
    subject = str(user_id)  # PyJWT requires a string `sub`
    access = codec.create_token(subject, expiration=settings["shopcore.jwt.access_ttl"],
                                type="access", jti=uuid.uuid4().hex)
    refresh = codec.create_token(subject, expiration=settings["shopcore.jwt.refresh_ttl"],
                                 type="refresh", jti=uuid.uuid4().hex)
    return {"access": access, "refresh": refresh}
