output "network_id" {
  description = "The VPC."
  value       = google_compute_network.vpc.id
}

output "subnetwork_id" {
  description = "The services subnet."
  value       = google_compute_subnetwork.services.id
}

output "private_services_connection" {
  description = "The peering Cloud SQL's private IP needs (depend on it before creating the instance)."
  value       = google_service_networking_connection.private_services.id
}
