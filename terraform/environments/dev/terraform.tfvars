# Development: one zone, small database, everything scales to zero but the gateway.
environment                = "dev"
project_id                 = "agentworks-dev"
region                     = "europe-west1"
database_tier              = "db-custom-1-3840"
database_high_availability = false
database_max_connections   = 200
backup_location            = "eu"
firestore_location         = "eur3"
storage_location           = "EU"
log_retention_days         = 30
deletion_protection        = false
scaling = {
  gateway           = { min = 0, max = 3 }
  core              = { min = 0, max = 3 }
  orchestrator      = { min = 0, max = 5 }
  "provider-router" = { min = 0, max = 3 }
  "log-stream"      = { min = 0, max = 2 }
  billing           = { min = 0, max = 2 }
}
