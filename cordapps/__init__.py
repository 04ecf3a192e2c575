"""Sample CorDapps, written only against the public flow API in ``workflows``."""
