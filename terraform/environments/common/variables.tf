variable "project_id" {
  description = "The GCP project of this environment."
  type        = string
}

variable "region" {
  description = "Region of every regional resource."
  type        = string
}

variable "image_tag" {
  description = "Image tag to run (Cloud Build passes -var image_tag=$SHORT_SHA)."
  type        = string
}

variable "public_origin" {
  description = "Origin of the web app; empty means the gateway's run.app URL."
  type        = string
  default     = ""
}

variable "scaling" {
  description = "Per service { min, max } instance overrides."
  type        = map(object({ min = number, max = number }))
  default     = {}
}

variable "database_tier" {
  description = "Cloud SQL machine tier."
  type        = string
}

variable "database_high_availability" {
  description = "Regional Cloud SQL."
  type        = bool
}

variable "database_max_connections" {
  description = "PostgreSQL max_connections."
  type        = number
}

variable "backup_location" {
  description = "Multi-region of Cloud SQL backups."
  type        = string
}

variable "firestore_location" {
  description = "Firestore location."
  type        = string
}

variable "storage_location" {
  description = "Bucket location."
  type        = string
}

variable "bucket_prefix" {
  description = "Bucket name prefix (bucket names are global)."
  type        = string
  default     = "agentworks"
}

variable "log_retention_days" {
  description = "Archived run logs are kept this long."
  type        = number
}

variable "alert_emails" {
  description = "Who the critical alerts notify."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect stateful resources from deletion."
  type        = bool
}

variable "environment" {
  description = "dev, staging or prod (the folder this is applied from)."
  type        = string
}
