variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Prefix for resource names; also the Project tag."
  type        = string
  default     = "fma-tiktok"
}

variable "package_path" {
  description = "The code zip built by `python -m infra.local.cluster package`."
  type        = string
  default     = "../../var/dist/fma_tiktok.zip"
}

variable "emr_release" {
  description = "EMR release of the scheduled clusters (Spark 3.5 or later)."
  type        = string
  default     = "emr-7.9.0"
}

variable "emr_primary_instance_type" {
  description = "Instance type of the EMR primary node, which runs the driver and the load."
  type        = string
  default     = "m5.xlarge"
}

variable "emr_core_instance_type" {
  description = "Instance type of the EMR core nodes, which decode and featurize the audio."
  type        = string
  default     = "c5.2xlarge"
}

variable "emr_core_instance_count" {
  description = "Number of EMR core nodes."
  type        = number
  default     = 2

  validation {
    condition     = var.emr_core_instance_count >= 1
    error_message = "At least one core node is needed."
  }
}

variable "reprocess_schedule" {
  description = "When EventBridge Scheduler starts a reprocessing cluster (daily at 03:00 by default)."
  type        = string
  default     = "cron(0 3 * * ? *)"
}

variable "schedule_timezone" {
  description = "Time zone of reprocess_schedule."
  type        = string
  default     = "UTC"
}

variable "schedule_enabled" {
  description = "Whether the schedule starts runs; false keeps it defined but paused."
  type        = bool
  default     = true
}

variable "audio_prefix" {
  description = "Key prefix of the FMA audio in the bucket."
  type        = string
  default     = "fma_large/"
}

variable "db_instance_class" {
  description = "RDS instance class of the store."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "RDS storage in GiB."
  type        = number
  default     = 50
}

variable "postgres_version" {
  description = "RDS PostgreSQL major version (16 or later, for pgvector with HNSW)."
  type        = string
  default     = "17"

  validation {
    condition     = tonumber(split(".", var.postgres_version)[0]) >= 16
    error_message = "PostgreSQL 16 or later is needed."
  }
}

variable "web_instance_type" {
  description = "Instance type of the web app host."
  type        = string
  default     = "t3.small"
}

variable "web_ingress_cidr" {
  description = "Addresses allowed to reach the web app on port 80."
  type        = string
  default     = "0.0.0.0/0"
}
