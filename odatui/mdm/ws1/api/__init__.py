"""Workspace ONE UEM: the async REST client the ws1.* steps and `odatui status` use (`client.Ws1Client`, one object
per resource over one transport)."""
