"""Generated gRPC/protobuf stubs for the taskflow.v1 contracts (see proto/)."""
