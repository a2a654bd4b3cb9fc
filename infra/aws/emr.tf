# The reprocessing runs: each is a transient EMR cluster (Spark) that installs the project
# on every node, mounts the shared work folder, runs batch.jobs.reprocess as its one step
# (spark-submit on YARN), and terminates. schedule.tf starts one per schedule tick;
# `terraform output -raw run_job_flow_request` starts one by hand (see docs/cluster.md).

locals {
  db_secret_arn = aws_db_instance.store.master_user_secret[0].secret_arn

  run_job_flow_request = {
    Name              = "${var.name}-reprocess"
    ReleaseLabel      = var.emr_release
    Applications      = [{ Name = "Spark" }]
    LogUri            = "s3://${aws_s3_bucket.data.bucket}/logs/"
    ServiceRole       = aws_iam_role.emr_service.arn
    JobFlowRole       = aws_iam_instance_profile.emr_nodes.name
    VisibleToAllUsers = true
    Tags              = [{ Key = "Project", Value = var.name }]

    Instances = {
      Ec2SubnetId                    = local.subnet_id
      AdditionalMasterSecurityGroups = [aws_security_group.emr.id]
      AdditionalSlaveSecurityGroups  = [aws_security_group.emr.id]
      KeepJobFlowAliveWhenNoSteps    = false
      TerminationProtected           = false
      InstanceGroups = [
        {
          Name          = "primary"
          InstanceRole  = "MASTER"
          InstanceType  = var.emr_primary_instance_type
          InstanceCount = 1
        },
        {
          Name          = "core"
          InstanceRole  = "CORE"
          InstanceType  = var.emr_core_instance_type
          InstanceCount = var.emr_core_instance_count
        },
      ]
    }

    BootstrapActions = [{
      Name = "install the project and mount the work folder"
      ScriptBootstrapAction = {
        Path = "${local.code}/emr/bootstrap.sh"
        Args = [local.code, aws_efs_file_system.work.dns_name]
      }
    }]

    Steps = [{
      Name            = "batch.jobs.reprocess"
      ActionOnFailure = "TERMINATE_CLUSTER"
      HadoopJarStep = {
        Jar = "command-runner.jar"
        Args = [
          "bash", "/mnt/fma-app/reprocess-step.sh", aws_s3_bucket.data.bucket, var.audio_prefix,
          local.db_secret_arn, aws_db_instance.store.address, var.region,
        ]
      }
    }]
  }
}

data "aws_iam_policy_document" "emr_service_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name_prefix        = "${var.name}-emr-service-"
  assume_role_policy = data.aws_iam_policy_document.emr_service_trust.json
}

resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonElasticMapReduceRole"
}

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "emr_nodes" {
  name_prefix        = "${var.name}-emr-nodes-"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
}

data "aws_iam_policy_document" "emr_nodes" {
  statement {
    sid       = "ReadAndWriteTheBucket"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]
  }

  statement {
    sid       = "ReadTheDatabaseCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }

  statement {
    sid = "EmrNodeBasics"
    actions = [
      "elasticmapreduce:Describe*", "elasticmapreduce:ListBootstrapActions", "elasticmapreduce:ListClusters",
      "elasticmapreduce:ListInstanceGroups", "elasticmapreduce:ListInstances", "elasticmapreduce:ListSteps",
      "ec2:Describe*",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "emr_nodes" {
  role   = aws_iam_role.emr_nodes.id
  policy = data.aws_iam_policy_document.emr_nodes.json
}

resource "aws_iam_instance_profile" "emr_nodes" {
  name_prefix = "${var.name}-emr-nodes-"
  role        = aws_iam_role.emr_nodes.name
}
