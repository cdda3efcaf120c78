#!/usr/bin/env bash
# OpenID Connect login to Azure and Pulumi's self-managed backend, without stored secrets:
# GitHub's OIDC token (the job needs `id-token: write`) is exchanged by `az login
# --federated-token` for the federated credential of AZURE_CLIENT_ID; azure-native reads
# the same token itself (ARM_USE_OIDC), and Pulumi's azblob backend uses the az session.
# Then the Pulumi CLI at PULUMI_VERSION, and `pulumi login` to PULUMI_BACKEND_URL.
set -euo pipefail
token=$(curl -fsSL -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
  "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=api://AzureADTokenExchange" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
az login --service-principal --username "${AZURE_CLIENT_ID}" --tenant "${AZURE_TENANT_ID}" \
  --federated-token "${token}" --output none
az account set --subscription "${AZURE_SUBSCRIPTION_ID}"
curl -fsSL https://get.pulumi.com | sh -s -- --version "${PULUMI_VERSION}"
echo "${HOME}/.pulumi/bin" >> "${GITHUB_PATH}"
"${HOME}/.pulumi/bin/pulumi" login "${PULUMI_BACKEND_URL}"
