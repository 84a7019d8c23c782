# Staging: production's shape at a smaller size, for integration testing.
environment                = "staging"
project_id                 = "agentworks-staging"
region                     = "europe-west1"
database_tier              = "db-custom-2-7680"
database_high_availability = true
database_max_connections   = 400
backup_location            = "eu"
firestore_location         = "eur3"
storage_location           = "EU"
log_retention_days         = 90
deletion_protection        = true
scaling = {
  gateway           = { min = 1, max = 5 }
  core              = { min = 1, max = 5 }
  orchestrator      = { min = 1, max = 10 }
  "provider-router" = { min = 1, max = 5 }
  "log-stream"      = { min = 1, max = 3 }
  billing           = { min = 0, max = 3 }
}
