"""The Okta side: an async client for the Okta Management API calls odatui's steps make."""

from odatui.okta.client import OktaApiError, OktaClient

__all__ = ["OktaApiError", "OktaClient"]
