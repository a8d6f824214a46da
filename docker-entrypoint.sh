#!/bin/sh
# The image's entrypoint (see Dockerfile): the first argument names the process to run.
set -eu
cd /app
what="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$what" in
  api) exec node dist/apps/api/main.js "$@" ;;
  worker) exec node dist/apps/worker/main.js "$@" ;;
  sandbox-crm) exec node dist/apps/sandbox-crm/main.js "$@" ;;
  keys-rotate) exec node dist/scripts/rotate-keys.js "$@" ;;
  *)
    echo "reauth-engine: unknown command '$what'; one of: api, worker, sandbox-crm, keys-rotate" >&2
    exit 64
    ;;
esac
