"""Metrics, attack success rates, statistics over seeds, and reports."""
