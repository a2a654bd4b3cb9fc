# The AWS deployment: inputs and outputs in S3, a transient EMR cluster started on a
# schedule to run batch.jobs.reprocess, the store in RDS PostgreSQL with pgvector, and one
# host for the web app. It uses the account's default VPC. See docs/cluster.md, "On AWS".

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "default" {
  default = true
}

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }

  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

locals {
  subnet_id = sort(data.aws_subnets.default.ids)[0]
  code      = "s3://${aws_s3_bucket.data.bucket}/code"
}

# --- S3: inputs (audio, metadata, TikTok dumps), the code, and the EMR logs ---------------

resource "aws_s3_bucket" "data" {
  bucket_prefix = "${var.name}-"
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    id     = "expire-emr-logs"
    status = "Enabled"

    filter {
      prefix = "logs/"
    }

    expiration {
      days = 30
    }
  }
}

resource "aws_s3_object" "package" {
  bucket = aws_s3_bucket.data.id
  key    = "code/fma_tiktok.zip"
  source = var.package_path
  etag   = filemd5(var.package_path)
}

resource "aws_s3_object" "script" {
  for_each = toset(["emr/bootstrap.sh", "emr/reprocess-step.sh"])

  bucket = aws_s3_bucket.data.id
  key    = "code/${each.value}"
  source = "${path.module}/${each.value}"
  etag   = filemd5("${path.module}/${each.value}")
}
