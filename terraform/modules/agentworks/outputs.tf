output "gateway_url" {
  description = "The web app and public API."
  value       = module.service["gateway"].uri
}

output "service_urls" {
  description = "Every service's URL."
  value       = { for name, service in module.service : name => service.uri }
}

output "migration_jobs" {
  description = "Service → its migration job (Cloud Build runs them before each rollout)."
  value       = { for name, service in module.service : name => service.migration_job }
}

output "image_repository" {
  description = "Where Cloud Build pushes images."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "buckets" {
  description = "Purpose → bucket."
  value       = module.storage.names
}
