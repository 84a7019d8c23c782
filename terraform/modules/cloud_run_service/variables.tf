variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Region of the service."
  type        = string
}

variable "name" {
  description = "The service's short name (core, provider-router, …)."
  type        = string
}

variable "service" {
  description = "The service's entry of the catalog module's `services` output."
  type = object({
    name             = string
    email            = string
    image            = string
    public           = bool
    cpu              = string
    memory           = string
    concurrency      = number
    timeout_seconds  = number
    cpu_idle         = bool
    session_affinity = bool
    min_instances    = number
    max_instances    = number
    invokers         = list(string)
    env              = map(string)
    env_prefix       = string
    database_url_env = string
  })
}

variable "database_url_secret" {
  description = "Secret id of the service's connection string (created by the database module)."
  type        = string
}

variable "network_id" {
  description = "VPC for Direct VPC egress."
  type        = string
}

variable "subnetwork_id" {
  description = "Subnet for Direct VPC egress."
  type        = string
}

variable "labels" {
  description = "Labels for cost attribution."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Refuse to delete the service and its job."
  type        = bool
  default     = true
}
