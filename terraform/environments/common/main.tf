# An environment: one GCP project, the whole platform (see ../../modules/agentworks).

provider "google" {
  project = var.project_id
  region  = var.region
  default_labels = {
    environment = var.environment
    app         = "agentworks"
  }
}

module "agentworks" {
  source                     = "../../modules/agentworks"
  project_id                 = var.project_id
  environment                = var.environment
  region                     = var.region
  image_tag                  = var.image_tag
  topology_file              = "${path.root}/../../../contracts/topology.yaml"
  public_origin              = var.public_origin
  scaling                    = var.scaling
  database_tier              = var.database_tier
  database_high_availability = var.database_high_availability
  database_max_connections   = var.database_max_connections
  backup_location            = var.backup_location
  firestore_location         = var.firestore_location
  storage_location           = var.storage_location
  bucket_prefix              = var.bucket_prefix
  log_retention_days         = var.log_retention_days
  alert_emails               = var.alert_emails
  deletion_protection        = var.deletion_protection
}
