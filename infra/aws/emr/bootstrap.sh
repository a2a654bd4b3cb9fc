#!/usr/bin/env bash
# EMR bootstrap action, on every node of a reprocessing cluster: Python 3.11 with the
# project's requirements in /opt/fma-venv, the code in /mnt/fma-app, and the shared work
# folder (EFS) at /mnt/fma-work. Spark itself is EMR's.
# Usage: bootstrap.sh s3://BUCKET/code EFS_DNS_NAME
set -euo pipefail
code=$1 efs=$2

sudo dnf install -y -q python3.11 python3.11-pip nfs-utils unzip
aws s3 cp --quiet "$code/fma_tiktok.zip" /tmp/fma_tiktok.zip
sudo mkdir -p /mnt/fma-app
sudo unzip -q -o /tmp/fma_tiktok.zip -d /mnt/fma-app
sudo cp /tmp/fma_tiktok.zip /mnt/fma-app.zip
aws s3 cp --quiet "$code/emr/reprocess-step.sh" /tmp/reprocess-step.sh
sudo install -m 0755 /tmp/reprocess-step.sh /mnt/fma-app/reprocess-step.sh

sudo python3.11 -m venv /opt/fma-venv
sudo /opt/fma-venv/bin/pip install -q --upgrade pip
sudo /opt/fma-venv/bin/pip install -q -r /mnt/fma-app/requirements-hosts.txt

sudo mkdir -p /mnt/fma-work
if ! mountpoint -q /mnt/fma-work; then
    sudo mount -t nfs4 -o nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport \
        "$efs:/" /mnt/fma-work
fi
sudo chown hadoop:hadoop /mnt/fma-work
