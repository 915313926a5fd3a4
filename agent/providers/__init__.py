"""The provider layer: the only place that talks to model APIs (and imports the openai SDK)."""
