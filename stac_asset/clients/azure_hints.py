"""Why Azure Blob Storage refused a request, told from the access's credentials."""

from __future__ import annotations

from datetime import datetime, timezone

from ..access import Access


def denial_hint(access: Access, *, writing: bool = False) -> str:
    """Why a request of ``access`` was probably refused, for the error message.

    ``writing``: the request wrote (or copied) a blob rather than read one.
    """
    options = access.gdal_options
    account = access.extra.get("account")
    if "VSICURL_PC_SAS_TOKEN_URL" in options:
        if writing:
            return (
                "Planetary Computer tokens only allow reading: write to a container of "
                "your own, with a SAS that allows create and write or the account key"
            )
        return (
            f"the Planetary Computer SAS token for {account}/{access.bucket} was refused "
            "(expired or revoked); the next resolve fetches a new one"
        )
    if options.get("AZURE_NO_SIGN_REQUEST") == "YES":
        needs = (
            f"writing to container {access.bucket!r} of account {account!r} needs a SAS "
            "that allows create and write (sp=cw)"
            if writing
            else f"container {access.bucket!r} of account {account!r} is not public; give a SAS"
        )
        return (
            f"{needs} or a key (AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_ACCESS_KEY, "
            "AZURE_STORAGE_CONNECTION_STRING)"
        )
    if options.get("AZURE_STORAGE_SAS_TOKEN"):
        if access.expires_at and access.expires_at <= datetime.now(timezone.utc):
            return f"the SAS token expired at {access.expires_at.isoformat()}"
        if writing:
            return (
                "the SAS token was refused: writing needs one valid for this container "
                "that allows create and write (sp=cw)"
            )
        return "the SAS token was refused (wrong, or not valid for this container)"
    if options.get("AZURE_STORAGE_ACCESS_KEY"):
        return f"the key of account {account!r} was refused"
    if options.get("AZURE_STORAGE_ACCESS_TOKEN"):
        role = "Contributor" if writing else "Reader"
        return (
            "the Microsoft Entra ID token was refused: the identity needs a data role "
            f"(Storage Blob Data {role}) on container {access.bucket!r} of account {account!r}"
        )
    return "access denied"
