output "gateway_url" {
  description = "The web app and public API."
  value       = module.agentworks.gateway_url
}

output "service_urls" {
  description = "Every service's URL."
  value       = module.agentworks.service_urls
}

output "migration_jobs" {
  description = "Service → migration job."
  value       = module.agentworks.migration_jobs
}

output "image_repository" {
  description = "Where images are pushed."
  value       = module.agentworks.image_repository
}
