variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "project_number" {
  description = "The project's number (names Pub/Sub's service agent)."
  type        = string
}

variable "topics" {
  description = "The catalog's topics: name → { dead_letter, publishers }."
  type        = map(object({ dead_letter = bool, publishers = list(string) }))
}

variable "subscriptions" {
  description = "The catalog's subscriptions, push endpoints and audiences resolved."
  type = map(object({
    topic                 = string
    subscriber            = string
    push_endpoint         = string
    audience              = string
    ack_deadline_seconds  = number
    minimum_backoff       = string
    maximum_backoff       = string
    max_delivery_attempts = number
    dead_letter_topic     = string
    ordering              = bool
    filter                = string
    retention             = string
  }))
}

variable "service_emails" {
  description = "Service → service account email (publishers)."
  type        = map(string)
}

variable "invoker_email" {
  description = "Email of the identity push requests carry."
  type        = string
}

variable "invoker_account_id" {
  description = "Full id (projects/…/serviceAccounts/…) of the push identity."
  type        = string
}

variable "labels" {
  description = "Labels for cost attribution."
  type        = map(string)
  default     = {}
}
