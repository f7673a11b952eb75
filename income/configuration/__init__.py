"""What a council configures: the registry of each kind and its CSV rows."""
