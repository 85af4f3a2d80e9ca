"""The Okta side: an async client for the Okta Management API calls odatui's steps make (`odatui.okta.client`)."""
