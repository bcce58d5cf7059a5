"""The Kiln account: the API client (to come) and :mod:`studio.account.schema`.

:mod:`studio.account.schema` holds the pydantic wire models that the account service
(``account_api``) and the desktop client share, so both sides agree on every field.
"""
