"""gRPC plumbing shared by every service: server set-up, auth, error mapping."""
