"""Spend: dated prices, the usage record of each call, the session ledger, budget estimates and cost reports."""
