variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "alert_emails" {
  description = "Addresses notified by every critical alert."
  type        = list(string)
  default     = []
}

variable "max_connections" {
  description = "Cloud SQL max_connections (the connection alert fires at 80%)."
  type        = number
}
