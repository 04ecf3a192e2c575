"""A module the test CorDapp imports only while a flow runs, which the sandbox warns about."""

GREETING = "imported late"
