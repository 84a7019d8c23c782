variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "secret_ids" {
  description = "Secrets to create (values are added by operators)."
  type        = list(string)
}

variable "accessors" {
  description = "Secret id → services granted secretAccessor on it."
  type        = map(list(string))
}

variable "service_emails" {
  description = "Service → service account email."
  type        = map(string)
}

variable "labels" {
  description = "Labels."
  type        = map(string)
  default     = {}
}
