"""The users service: profiles and game stats. See services/users/README.md."""
