output "bucket" {
  description = "The bucket for inputs: fma_metadata/, the audio under audio_prefix, tiktok/."
  value       = aws_s3_bucket.data.bucket
}

output "web_url" {
  description = "The web app."
  value       = "http://${aws_instance.web.public_dns}/"
}

output "db_endpoint" {
  description = "The store's address and port (reachable from inside the VPC)."
  value       = aws_db_instance.store.endpoint
}

output "db_secret_arn" {
  description = "The Secrets Manager secret with the store's user name and password."
  value       = local.db_secret_arn
}

output "work_file_system" {
  description = "The EFS file system holding the pipeline's work folder."
  value       = aws_efs_file_system.work.id
}

output "schedule" {
  description = "The EventBridge schedule that starts the reprocessing runs."
  value       = aws_scheduler_schedule.reprocess.arn
}

output "run_job_flow_request" {
  description = "The EMR RunJobFlow request the schedule sends, for a run by hand."
  value       = jsonencode(local.run_job_flow_request)
}
