variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "environment" {
  description = "Environment name (suffix of the network and identity names)."
  type        = string
}

variable "region" {
  description = "Region of the job and its subnet."
  type        = string
}

variable "job_name" {
  description = "The Cloud Run job's name (the orchestrator's AW_ORCHESTRATOR_SANDBOX_JOB)."
  type        = string
}

variable "account_id" {
  description = "Account id of the job's service account."
  type        = string
  default     = "aw-sandbox"
}

variable "image" {
  description = "The sandbox image (docker/sandbox.Dockerfile), tagged with the commit it was built from."
  type        = string
}

variable "bucket" {
  description = "The bucket working copies travel through (uniform bucket-level access)."
  type        = string
}

variable "prefix" {
  description = "The object prefix of working copies and results; both identities are confined to it."
  type        = string
  default     = "sandbox"
}

variable "orchestrator_email" {
  description = "The orchestrator's service account: it runs the job and moves the working copies."
  type        = string
}

variable "subnet_cidr" {
  description = "The sandbox subnet's range (Direct VPC egress takes its addresses from it)."
  type        = string
  default     = "10.30.0.0/24"
}

variable "max_timeout_seconds" {
  description = "Ceiling on one execution; each run overrides it with the command's own limit plus start-up."
  type        = number
  default     = 3600
}

variable "cpu" {
  description = "CPU limit of the sandbox container."
  type        = string
  default     = "2"
}

variable "memory" {
  description = "Memory limit of the sandbox container."
  type        = string
  default     = "4Gi"
}

variable "deletion_protection" {
  description = "Refuse to destroy the job."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels for cost attribution."
  type        = map(string)
  default     = {}
}
