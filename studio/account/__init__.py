"""The Kiln account: :mod:`studio.account.schema`, the wire models of the account service.

:mod:`studio.account.schema` holds the pydantic wire models that the account service
(``account_api``) and the desktop client share, so both sides agree on every field.
"""
