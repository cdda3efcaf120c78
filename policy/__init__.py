"""amlkit's CrossGuard policy pack: 25 pre-deploy rules (rules/), levels per
environment (config/<name>.json, named by `amlkit:policy.config` in a stack).

`pulumi preview --policy-pack policy --policy-pack-config policy/config/prod.json`
runs it in Pulumi's policy runtime; `amlkit plan --stack S` runs the same rules
over the offline plan.
"""
