variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "environment" {
  description = "Environment name (suffix of every bucket)."
  type        = string
}

variable "location" {
  description = "Bucket location (a region or multi-region)."
  type        = string
}

variable "bucket_prefix" {
  description = "Bucket names are <prefix>-logs|exports|attachments|images|sandbox-<environment>; bucket names are global."
  type        = string
  default     = "agentworks"
}

variable "log_retention_days" {
  description = "Archived run logs are deleted after this many days."
  type        = number
  default     = 365
}

variable "object_admins" {
  description = "Grants of objectAdmin on one bucket: { bucket = logs|exports|attachments|images|sandbox, email }."
  type        = list(object({ bucket = string, email = string }))
  default     = []
}

variable "labels" {
  description = "Labels for cost attribution."
  type        = map(string)
  default     = {}
}
