"""OpenArts: a self-hosted machine-learning platform that speaks the ModelArts REST API."""

__version__ = "0.1.0"
