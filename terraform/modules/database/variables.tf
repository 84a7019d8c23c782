variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "Region of the instance."
  type        = string
}

variable "services" {
  description = "Services that get a database, a user and a connection-string secret."
  type        = list(string)
}

variable "service_emails" {
  description = "Service → its service account email (the only reader of its connection string)."
  type        = map(string)
}

variable "network_id" {
  description = "VPC the private IP lives in."
  type        = string
}

variable "private_services_connection" {
  description = "The private services peering; the instance is created after it."
  type        = string
}

variable "tier" {
  description = "Machine tier."
  type        = string
  default     = "db-custom-2-7680"
}

variable "high_availability" {
  description = "Regional (failover replica in another zone) rather than zonal."
  type        = bool
  default     = true
}

variable "max_connections" {
  description = "PostgreSQL max_connections; the connection-exhaustion alert fires at 80% of it."
  type        = number
  default     = 400
}

variable "backup_location" {
  description = "Multi-region that holds backups, away from the instance's region (e.g. eu, us)."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}
