"""Accounts, their API keys, the ledger and the usage history."""
