output "services" {
  description = "Every service: Cloud Run name, identity, image, scaling, invokers, environment and secrets."
  value       = local.services
}

output "service_accounts" {
  description = "Account id of every identity (services, Pub/Sub's push identity, Cloud Scheduler's)."
  value       = local.account_id
}

output "emails" {
  description = "Service-account email of every identity."
  value       = local.email
}

output "secret_accessors" {
  description = "Secret id → the services granted secretAccessor on it."
  value       = local.secret_accessors
}

output "operator_secrets" {
  description = "Secrets whose values operators add (provider and Stripe keys)."
  value       = local.operator_secrets
}

output "topics" {
  description = "Topics from the topology, with their publishers."
  value       = local.topics
}

output "subscriptions" {
  description = "Subscriptions from the topology, with push endpoints and audiences resolved."
  value       = local.subscriptions
}

output "public_origin" {
  description = "Origin of the web app."
  value       = local.public_origin
}
