"""Command-line interface: `lerobot-nb <subcommand>` and the reference `oss_server_lerobot`."""
