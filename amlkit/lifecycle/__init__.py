"""Test environments and their teardown: a pull request's copy of a stack
(`pr_environment`), what the repository holds (`listing`), and the teardown through
Pulumi's Automation API (`teardown`, `sweep`). Only `teardown` and `sweep` need the
Pulumi CLI; creating and listing environments work offline."""
