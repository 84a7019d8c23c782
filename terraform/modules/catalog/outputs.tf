output "services" {
  description = "Every service: Cloud Run name, identity, image, scaling, invokers, environment and secrets."
  value       = local.services
  precondition {
    condition     = local.connections_at_max <= local.connection_budget
    error_message = "The services' minimum instances need more database connections than max_connections less the reserve allows: raise max_connections (a larger tier) or lower the minimums or pool sizes."
  }
}

output "connection_budget" {
  description = "Database connections: the server's limit, the reserve, and what every service at its ceiling may hold."
  value = {
    max_connections   = var.database_max_connections
    reserved          = var.database_reserved_connections
    services_at_max   = local.connections_at_max
    requested_at_max  = local.connection_demand
    per_instance      = local.connections_per_instance
    requested_scaling = local.requested_scaling
  }
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

output "sandbox" {
  description = "The sandbox job agents' commands run in: its name, image, bucket and object prefix."
  value       = local.sandbox
}

output "repositories" {
  description = "The Secure Source Manager instance project repositories live in."
  value       = local.repositories
}
