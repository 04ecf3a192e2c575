"""CorDapps used only by the tests: one behaviour per protocol, so each test names what it exercises."""
