"""Kiln Studio's account service: auth, plans, credits (holds and ledger) and model sync.

Run it with ``python -m account_api serve``. It imports only :mod:`studio.account.schema`
from the app (the wire models both sides share).
"""
