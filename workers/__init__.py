"""Dramatiq actors and their setup. Imports flow one way: workers → service."""
