output "uri" {
  description = "The service's URL as Cloud Run reports it."
  value       = google_cloud_run_v2_service.service.uri
}

output "migration_job" {
  description = "Name of the service's migration job."
  value       = google_cloud_run_v2_job.migrate.name
}
