"""The offline plan: the stack program under Pulumi's mock engine, the plan JSON, the
policy checks over it, and the request bodies checked against Azure's own models."""
