"""Subcommands of the `spendsense` CLI.

Each module here defines `register(subparsers)`, which adds one subcommand and sets
`handler=<function(args) -> int>` as its default. The CLI discovers modules automatically.
"""
