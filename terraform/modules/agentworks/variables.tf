variable "project_id" {
  description = "The GCP project the platform is provisioned into."
  type        = string
}

variable "environment" {
  description = "dev, staging or prod."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud SQL, Artifact Registry and the network."
  type        = string
}

variable "image_tag" {
  description = "Image tag every service runs (Cloud Build passes the commit SHA)."
  type        = string
}

variable "topology_file" {
  description = "Path of contracts/topology.yaml."
  type        = string
}

variable "public_origin" {
  description = "Origin of the web app (custom domain); empty means the gateway's run.app URL."
  type        = string
  default     = ""
}

variable "scaling" {
  description = "Per service instance bounds overriding the catalog's: { core = { min = 1, max = 20 } }."
  type        = map(object({ min = number, max = number }))
  default     = {}
}

variable "subnet_cidr" {
  description = "Range of the services subnet."
  type        = string
  default     = "10.20.0.0/20"
}

variable "sandbox_subnet_cidr" {
  description = "Range of the sandbox job's subnet, in a network of its own."
  type        = string
  default     = "10.30.0.0/24"
}

variable "database_tier" {
  description = "Cloud SQL machine tier."
  type        = string
  default     = "db-custom-2-7680"
}

variable "database_high_availability" {
  description = "Regional Cloud SQL (standby in a second zone)."
  type        = bool
  default     = true
}

variable "database_max_connections" {
  description = "PostgreSQL max_connections."
  type        = number
  default     = 400
}

variable "backup_location" {
  description = "Multi-region for Cloud SQL backups (cross-region copies), e.g. eu or us."
  type        = string
}

variable "firestore_database" {
  description = "Firestore database name."
  type        = string
  default     = "(default)"
}

variable "firestore_location" {
  description = "Firestore location, e.g. eur3 or nam5."
  type        = string
}

variable "storage_location" {
  description = "Location of the buckets (region or multi-region)."
  type        = string
}

variable "bucket_prefix" {
  description = "Bucket names are <prefix>-logs|exports|attachments|images|sandbox-<environment>."
  type        = string
  default     = "agentworks"
}

variable "log_retention_days" {
  description = "Archived run logs are deleted after this many days."
  type        = number
  default     = 365
}

variable "alert_emails" {
  description = "Addresses the critical alerts notify."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect the database, Firestore and services from deletion."
  type        = bool
  default     = true
}
