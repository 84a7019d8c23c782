variable "environment" {
  description = "Environment name: dev, staging or prod."
  type        = string
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "project_id" {
  description = "The GCP project the platform runs in."
  type        = string
}

variable "project_number" {
  description = "The project's number; Cloud Run's deterministic service URLs contain it."
  type        = string
}

variable "region" {
  description = "The region of every regional resource."
  type        = string
}

variable "topology_file" {
  description = "Path of contracts/topology.yaml, the single source of truth for topics and subscriptions."
  type        = string
}

variable "image_repository" {
  description = "Artifact Registry path the images are pushed to, e.g. europe-west1-docker.pkg.dev/<project>/agentworks."
  type        = string
}

variable "image_tag" {
  description = "Tag of every service image to deploy (Cloud Build uses the commit SHA)."
  type        = string
}

variable "public_origin" {
  description = "Origin users reach the web app on (the gateway's custom domain, or its run.app URL)."
  type        = string
  default     = ""
}

variable "logs_bucket" {
  description = "Bucket of archived run logs."
  type        = string
}

variable "images_bucket" {
  description = "Bucket of generated images the provider router answers as URLs."
  type        = string
}

variable "attachments_bucket" {
  description = "Bucket of the files people attach to cards (core's blobs)."
  type        = string
}

variable "firestore_database" {
  description = "Firestore database holding project documents."
  type        = string
}

variable "scaling" {
  description = "Per service overrides of instance counts: { core = { min = 1, max = 20 } }."
  type        = map(object({ min = number, max = number }))
  default     = {}
}

variable "database_max_connections" {
  description = "PostgreSQL max_connections of the Cloud SQL instance every service shares."
  type        = number
}

variable "database_reserved_connections" {
  description = "Connections kept free of the services' pools: Cloud SQL's superuser slots, migration jobs, operators."
  type        = number
  default     = 20
}

variable "sandbox_bucket" {
  description = "Bucket working copies travel through to the sandbox job and back."
  type        = string
}
