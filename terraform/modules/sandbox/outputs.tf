output "job_name" {
  description = "The sandbox job's name."
  value       = google_cloud_run_v2_job.sandbox.name
}

output "service_account_email" {
  description = "The sandbox job's identity."
  value       = google_service_account.sandbox.email
}
