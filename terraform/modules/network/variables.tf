variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "region" {
  description = "Region of the subnet and NAT."
  type        = string
}

variable "subnet_cidr" {
  description = "Range of the subnet Cloud Run instances take addresses from (Direct VPC egress)."
  type        = string
  default     = "10.20.0.0/20"
}
