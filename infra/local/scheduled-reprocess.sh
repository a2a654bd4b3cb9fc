#!/usr/bin/env bash
# Run batch.jobs.reprocess on the standalone cluster, never two at once. For cron or the systemd
# timer beside this file; see docs/cluster.md, "Scheduled reprocessing". Settings come from the
# environment (the systemd unit reads them from /etc/default/fma-reprocess):
#   FMA_REPROCESS_ARGS  batch.jobs.reprocess's arguments (required; split on spaces), e.g.
#                       "--fma-metadata s3://b/fma_metadata --audio s3://b/fma_full --tiktok s3://b/tiktok/ --work /srv/fma/work"
#   FMA_CLUSTER_STATE   the cluster's state folder (default: var/cluster)
#   FMA_REPROCESS_LOCK  the lock file (default: $FMA_CLUSTER_STATE/reprocess.lock)
#   FMA_MASTER          master URL (default: the cluster started from FMA_CLUSTER_STATE)
#   FMA_PYTHON          the project's Python (default: .venv/bin/python)
#   DATABASE_URL        the store (default: the embedded PostgreSQL)
# Exit status: the job's, or 75 when another run holds the lock (this one does nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${FMA_REPROCESS_ARGS:?set FMA_REPROCESS_ARGS to batch.jobs.reprocess arguments}"
state=${FMA_CLUSTER_STATE:-var/cluster}
lock=${FMA_REPROCESS_LOCK:-$state/reprocess.lock}
echo "$(date -Is) scheduled reprocess: $FMA_REPROCESS_ARGS"
# shellcheck disable=SC2086  # the arguments are meant to split
exec "${FMA_PYTHON:-.venv/bin/python}" -m infra.local.cluster --state "$state" submit --lock "$lock" \
    ${FMA_MASTER:+--master "$FMA_MASTER"} batch.jobs.reprocess $FMA_REPROCESS_ARGS
