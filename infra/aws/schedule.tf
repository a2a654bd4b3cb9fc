# EventBridge Scheduler starts a reprocessing cluster on var.reprocess_schedule (daily by
# default) through its universal target for the EMR RunJobFlow API. Two runs never
# overlap: the step takes a lock on the shared work folder, and a run that finds it held
# exits at once (status 75) and its cluster terminates.

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name_prefix        = "${var.name}-scheduler-"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions   = ["elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags"]
    resources = ["*"]
  }

  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_service.arn, aws_iam_role.emr_nodes.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "reprocess" {
  name                         = "${var.name}-reprocess"
  description                  = "Start an EMR cluster that runs batch.jobs.reprocess and terminates"
  schedule_expression          = var.reprocess_schedule
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = "arn:${data.aws_partition.current.partition}:scheduler:::aws-sdk:emr:runJobFlow"
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode(local.run_job_flow_request)

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }
  }
}
