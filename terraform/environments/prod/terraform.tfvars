# Production: regional database, warm instances, the catalog's default ceilings.
environment                = "prod"
project_id                 = "agentworks-prod"
region                     = "europe-west1"
database_tier              = "db-custom-4-15360"
database_high_availability = true
database_max_connections   = 800
backup_location            = "eu"
firestore_location         = "eur3"
storage_location           = "EU"
log_retention_days         = 365
deletion_protection        = true
alert_emails               = ["oncall@example.com"]
scaling = {
  gateway           = { min = 2, max = 40 }
  core              = { min = 2, max = 40 }
  orchestrator      = { min = 2, max = 100 }
  "provider-router" = { min = 2, max = 40 }
  "log-stream"      = { min = 2, max = 20 }
  billing           = { min = 1, max = 10 }
}
