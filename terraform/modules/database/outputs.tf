output "instance_name" {
  description = "Cloud SQL instance name."
  value       = google_sql_database_instance.main.name
}

output "private_ip" {
  description = "The instance's private address."
  value       = google_sql_database_instance.main.private_ip_address
}

output "database_url_secrets" {
  description = "Service → secret id of its connection string."
  value       = { for name, secret in google_secret_manager_secret.database_url : name => secret.secret_id }
}
