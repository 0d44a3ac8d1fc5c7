"""One module per provider: its tables (status -> state and finality, error codes, cadence)
and its quirks. Each imports its generated client and raises MissingProviderError if the
provider's extra is not installed."""
