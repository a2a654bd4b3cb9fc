#!/usr/bin/env bash
# The EMR step of a reprocessing run, on the primary node: batch.jobs.reprocess on YARN through
# the same submit command as the standalone cluster, under a lock on the shared work
# folder so that two runs never overlap (a second one exits with status 75).
# Usage: reprocess-step.sh BUCKET AUDIO_PREFIX DB_SECRET_ARN DB_HOST REGION
set -euo pipefail
bucket=$1 audio_prefix=$2
export DATABASE_SECRET_ARN=$3 DATABASE_HOST=$4 DATABASE_NAME=fma AWS_DEFAULT_REGION=$5
export SPARK_HOME=/usr/lib/spark
cd /mnt/fma-app
exec /opt/fma-venv/bin/python -m infra.local.cluster submit --master yarn \
    --lock /mnt/fma-work/reprocess.lock --python /opt/fma-venv/bin/python --driver-memory 6g \
    batch.jobs.reprocess --fma-metadata "s3://$bucket/fma_metadata" --audio "s3://$bucket/$audio_prefix" \
    --tiktok "s3://$bucket/tiktok/" --work /mnt/fma-work/work
