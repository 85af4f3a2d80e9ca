"""macOS configuration for Okta Desktop Password Sync, pure stdlib + cryptography.

payloads      PssoSettings → the four payload dicts (SSO extension, associated domains, two Okta Verify domains)
mobileconfig  profile assembly, XML plist, WS1 Custom Settings fragments (and back), CMS signing
lint          Okta-specific field checks with readable findings (also run on profiles read back from WS1)
pkg           the Okta Verify .pkg reader (separate owner)
"""
