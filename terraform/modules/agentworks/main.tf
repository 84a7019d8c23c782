# The whole platform in one GCP project: every environment calls this module with its own sizes.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = { environment = var.environment, cost_center = "platform", app = "agentworks" }
  apis = [
    "artifactregistry.googleapis.com", "cloudscheduler.googleapis.com", "cloudtrace.googleapis.com",
    "compute.googleapis.com", "dns.googleapis.com", "firestore.googleapis.com", "iam.googleapis.com", "logging.googleapis.com",
    "monitoring.googleapis.com", "pubsub.googleapis.com", "run.googleapis.com", "secretmanager.googleapis.com", "securesourcemanager.googleapis.com",
    "servicenetworking.googleapis.com", "sqladmin.googleapis.com", "storage.googleapis.com",
  ]
  services = module.catalog.services
  # From the accounts themselves, so grants wait for them to exist.
  service_emails = { for name in keys(local.services) : name => google_service_account.identity[name].email }
  # Every identity writes logs, metrics and traces; nothing more at project level.
  telemetry_roles = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/cloudtrace.agent"]
}

resource "google_project_service" "api" {
  for_each           = toset(local.apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "catalog" {
  source             = "../catalog"
  environment        = var.environment
  project_id         = var.project_id
  project_number     = data.google_project.this.number
  region             = var.region
  topology_file      = var.topology_file
  image_repository   = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  image_tag          = var.image_tag
  public_origin      = var.public_origin
  logs_bucket        = "${var.bucket_prefix}-logs-${var.environment}"
  images_bucket      = "${var.bucket_prefix}-images-${var.environment}"
  sandbox_bucket     = "${var.bucket_prefix}-sandbox-${var.environment}"
  attachments_bucket = "${var.bucket_prefix}-attachments-${var.environment}"
  firestore_database = google_firestore_database.documents.name
  scaling            = var.scaling

  database_max_connections = var.database_max_connections
}

resource "google_service_account" "identity" {
  for_each     = module.catalog.service_accounts
  project      = var.project_id
  account_id   = each.value
  display_name = "AgentWorks ${each.key} (${var.environment})"
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "telemetry" {
  for_each = { for pair in setproduct(keys(local.services), local.telemetry_roles) : "${pair[0]}/${pair[1]}" => pair }
  project  = var.project_id
  role     = each.value[1]
  member   = "serviceAccount:${google_service_account.identity[each.value[0]].email}"
}

resource "google_artifact_registry_repository" "images" {
  # checkov:skip=CKV_GCP_84: Google-managed encryption; images hold code only (secrets live in Secret Manager)
  project       = var.project_id
  location      = var.region
  repository_id = "agentworks"
  format        = "DOCKER"
  description   = "AgentWorks service images, tagged with the commit they were built from."
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 30
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "7776000s" # 90 days
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_firestore_database" "documents" {
  project                           = var.project_id
  name                              = var.firestore_database
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "OPTIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  depends_on                        = [google_project_service.api]
}

resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.documents.name
  retention = "2592000s" # 30 days
  daily_recurrence {}
}

# Core alone reads and writes project documents.
resource "google_project_iam_member" "documents" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.identity["core"].email}"
  condition {
    title      = "agentworks-documents-only"
    expression = "resource.name.startsWith(\"projects/${var.project_id}/databases/${google_firestore_database.documents.name}\")"
  }
}

module "network" {
  source      = "../network"
  project_id  = var.project_id
  environment = var.environment
  region      = var.region
  subnet_cidr = var.subnet_cidr
  depends_on  = [google_project_service.api]
}

module "database" {
  source                      = "../database"
  project_id                  = var.project_id
  environment                 = var.environment
  region                      = var.region
  services                    = keys(local.services)
  service_emails              = local.service_emails
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  tier                        = var.database_tier
  high_availability           = var.database_high_availability
  max_connections             = var.database_max_connections
  backup_location             = var.backup_location
  deletion_protection         = var.deletion_protection
}

module "secrets" {
  source         = "../secrets"
  project_id     = var.project_id
  secret_ids     = module.catalog.operator_secrets
  accessors      = module.catalog.secret_accessors
  service_emails = local.service_emails
  labels         = local.labels
  depends_on     = [google_project_service.api]
}

module "storage" {
  source             = "../storage"
  project_id         = var.project_id
  environment        = var.environment
  location           = var.storage_location
  bucket_prefix      = var.bucket_prefix
  log_retention_days = var.log_retention_days
  labels             = local.labels
  object_admins = [
    { bucket = "logs", email = google_service_account.identity["log-stream"].email },
    { bucket = "images", email = google_service_account.identity["provider-router"].email },
    { bucket = "attachments", email = google_service_account.identity["core"].email },
  ]
}

# Project repositories (decision 0010): one Secure Source Manager instance. The orchestrator reaches it and makes a
# repository per project; a repository's creator administers it, so the orchestrator reads and writes the
# repositories it made and no others.
resource "google_secure_source_manager_instance" "repositories" {
  project     = var.project_id
  location    = var.region
  instance_id = module.catalog.repositories.instance
  labels      = local.labels
  depends_on  = [google_project_service.api]
}

resource "google_secure_source_manager_instance_iam_member" "orchestrator" {
  for_each    = toset(["roles/securesourcemanager.instanceAccessor", "roles/securesourcemanager.repoCreator"])
  project     = var.project_id
  location    = var.region
  instance_id = google_secure_source_manager_instance.repositories.instance_id
  role        = each.value
  member      = "serviceAccount:${google_service_account.identity["orchestrator"].email}"
}

module "sandbox" {
  source              = "../sandbox"
  project_id          = var.project_id
  environment         = var.environment
  region              = var.region
  job_name            = module.catalog.sandbox.job
  image               = module.catalog.sandbox.image
  bucket              = module.catalog.sandbox.bucket
  prefix              = module.catalog.sandbox.prefix
  orchestrator_email  = google_service_account.identity["orchestrator"].email
  subnet_cidr         = var.sandbox_subnet_cidr
  deletion_protection = var.deletion_protection
  labels              = local.labels
  depends_on          = [google_project_service.api, module.storage]
}

module "pubsub" {
  source             = "../pubsub"
  project_id         = var.project_id
  project_number     = data.google_project.this.number
  topics             = module.catalog.topics
  subscriptions      = module.catalog.subscriptions
  service_emails     = local.service_emails
  invoker_email      = google_service_account.identity["pubsub-invoker"].email
  invoker_account_id = google_service_account.identity["pubsub-invoker"].name
  labels             = local.labels
  depends_on         = [google_project_service.api]
}

module "service" {
  source              = "../cloud_run_service"
  for_each            = local.services
  project_id          = var.project_id
  region              = var.region
  name                = each.key
  service             = each.value
  database_url_secret = module.database.database_url_secrets[each.key]
  network_id          = module.network.network_id
  subnetwork_id       = module.network.subnetwork_id
  labels              = local.labels
  deletion_protection = var.deletion_protection
  # The identities, secrets and grants must exist before a revision starts.
  depends_on = [google_service_account.identity, module.database, module.secrets, module.storage]
}

# Cloud Scheduler calls billing's and log-stream's internal jobs as the scheduler identity.
resource "google_cloud_scheduler_job" "job" {
  for_each         = local.schedules
  project          = var.project_id
  region           = var.region
  name             = "agentworks-${each.key}"
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "320s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
  }

  http_target {
    http_method = "POST"
    uri         = "${local.services[each.value.service].url}${each.value.path}"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode("{}")
    oidc_token {
      service_account_email = google_service_account.identity["scheduler"].email
      audience              = local.services[each.value.service].url
    }
  }

  depends_on = [module.service]
}

locals {
  schedules = {
    "close-period" = {
      service     = "billing"
      path        = "/internal/periods/previous/close"
      schedule    = "0 2 1 * *"
      description = "Invoice last month and send invoices to Stripe (repeats are no-ops)."
    }
    "reconcile" = {
      service     = "billing"
      path        = "/internal/reconciliation"
      schedule    = "15 * * * *"
      description = "Check settled runs against recorded provider calls over the last day."
    }
    "prune-logs" = {
      service     = "log-stream"
      path        = "/internal/retention/prune"
      schedule    = "45 * * * *"
      description = "Delete database log lines of runs archived past the retention period."
    }
  }
}

module "monitoring" {
  source          = "../monitoring"
  project_id      = var.project_id
  environment     = var.environment
  alert_emails    = var.alert_emails
  max_connections = var.database_max_connections
  depends_on      = [google_project_service.api]
}
