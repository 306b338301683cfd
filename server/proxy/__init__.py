"""The authenticated proxy: ``/proxy/...`` requests forwarded to an integration's API with the
stored credential injected, under the workspace's proxy policy and the outbound guard."""
