output "ids" {
  description = "Secret id → resource id."
  value       = { for id, secret in google_secret_manager_secret.secret : id => secret.id }
}
